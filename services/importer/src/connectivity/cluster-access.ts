import { Inject, Injectable } from '@nestjs/common';
import { AuditTrail } from '@flotilla/auth';
import type { Secret } from '@flotilla/secrets';
import type { CloudAccess as CloudProviders } from '../clouds/cloud-access.js';
import type { ClusterApiAccess } from '../clouds/cloud-provider.js';
import { bindingOf, checkBinding, type CredentialBinding } from '../credentials/binding.js';
import { CREDENTIAL_STORE, type CloudAccountProvider, type CredentialStore } from '../credentials/credential-store.js';
import type { CloudLocation, ProbeFailure, ProbeTarget } from './cluster-probe.js';
import { TunnelEndpoints } from './tunnel-access.js';

/** Anything that gives its value only when asked (`Secret` of @flotilla/secrets, or of the cloud code). */
export interface Revealable {
  revealString(): string;
}

/** Where a cluster's API server is and how to authenticate to it: all the Kubernetes client needs. */
export interface ClusterEndpoint {
  apiServer: string;
  /** PEM of the CA that signed the API server certificate; null: the system roots. */
  caCertificatePem: string | null;
  auth: { kind: 'bearer-token'; token: Revealable } | { kind: 'client-certificate'; certificatePem: string; privateKey: Revealable };
  /** When this authentication stops working, when known. */
  expiresAt: string | null;
  /** The credential it comes from, for messages. */
  credentialRef: string;
  /**
   * The only server (and CA) this authentication may go to: a stored credential's binding, or
   * the endpoint a cloud provider gave. The client refuses to start for anything else.
   */
  boundTo: CredentialBinding;
  /** Set for a cluster reached through the tunnel broker's proxy: its failures are named after the tunnel. */
  via?: 'tunnel';
}

/** A cloud cluster to reach: its provider, where it is, and the stored cloud account (JSON). */
export interface CloudAccessRequest {
  provider: CloudAccountProvider;
  cloud: CloudLocation;
  account: Secret;
}

/**
 * Access to the API server of an EKS, AKS or GKE cluster through the provider's SDK: endpoint,
 * CA and a short-lived token (`ClusterApiAccess`). Throws a CloudError when the provider refuses.
 */
export interface CloudAccess {
  apiAccess(request: CloudAccessRequest, signal: AbortSignal): Promise<ClusterApiAccess>;
}

/** Injection token of the CloudAccess implementation (the cloud providers' code). */
export const CLOUD_ACCESS = Symbol('CloudAccess');

/** The providers' SDK door (`src/clouds`) as the probe's CloudAccess. */
export class SdkCloudAccess implements CloudAccess {
  constructor(private readonly clouds: CloudProviders) {}

  apiAccess(request: CloudAccessRequest, signal: AbortSignal): Promise<ClusterApiAccess> {
    return this.clouds.access(request.provider, request.account, request.cloud, signal);
  }
}

export type EndpointOutcome = { ok: true; endpoint: ClusterEndpoint } | { ok: false; failures: ProbeFailure[] };

const fail = (code: ProbeFailure['code'], message: string): EndpointOutcome => ({ ok: false, failures: [{ code, message }] });

/**
 * Turns a probe target into an endpoint: a CNCF cluster's address with the opened credential,
 * what the cloud provider gives for a cloud account, or the tunnel broker's proxy for a cluster
 * registered through the tunnel. The only place a credential is opened; each use of a cloud
 * account is audited (which account, for which cluster, never the account itself).
 */
@Injectable()
export class ClusterEndpoints {
  constructor(
    @Inject(CREDENTIAL_STORE) private readonly credentials: CredentialStore,
    @Inject(CLOUD_ACCESS) private readonly cloudAccess: CloudAccess,
    @Inject(AuditTrail) private readonly audit: Pick<AuditTrail, 'recordUse'>,
    @Inject(TunnelEndpoints) private readonly tunnel: TunnelEndpoints,
  ) {}

  async resolve(target: ProbeTarget, signal: AbortSignal): Promise<EndpointOutcome> {
    if (target.via === 'tunnel') return this.tunnel.resolve(target);
    const ref = target.credential.ref;
    const material = await this.credentials.open(ref);
    if (!material) return fail('credential-not-found', `credentialRef "${ref}" names no credential held by the importer (deleted since the request?)`);
    switch (material.kind) {
      case 'bearer-token':
      case 'client-certificate': {
        if (!target.apiServer) return fail('api-server-required', `${target.clusterId} has no API server address, and credential "${ref}" is not a cloud account that could locate it`);
        // The binding sealed with the secret decides, whatever the request or the plain-text row say.
        const check = checkBinding(ref, material.binding, { apiServer: target.apiServer });
        if (!check.ok) return fail(check.code, check.message);
        const auth = material.kind === 'bearer-token' ? { kind: material.kind, token: material.token } : { kind: material.kind, certificatePem: material.certificatePem, privateKey: material.privateKey };
        return {
          ok: true,
          endpoint: { apiServer: check.binding.apiServer, caCertificatePem: material.caCertificatePem, auth, expiresAt: target.credential.expiresAt, credentialRef: ref, boundTo: check.binding },
        };
      }
      case 'cloud-account': {
        if (target.provider === 'cncf') return fail('credential-kind-mismatch', `credential "${ref}" is a cloud account, which cannot authenticate to a CNCF cluster's API server`);
        if (material.provider !== target.provider) return fail('credential-kind-mismatch', `credential "${ref}" is a ${material.provider} account; ${target.clusterId} is a ${target.provider} cluster`);
        if (!target.cloud) return fail('cloud-location-required', `a ${target.provider} cluster imported with a cloud account needs "cloud" (its name and where it is)`);
        try {
          const access = await this.cloudAccess.apiAccess({ provider: material.provider, cloud: target.cloud, account: material.account }, signal);
          await this.audit.recordUse({ what: 'cloud-account', clusterId: target.clusterId, ok: true, reason: `cloud account "${ref}": ${target.provider} API access to ${target.cloud.clusterName}` });
          // The short-lived token the provider minted goes to the endpoint the provider gave, nowhere else.
          const boundTo = bindingOf(access.apiServer, access.caCertificatePem);
          if (!boundTo) return fail('cloud-access-failed', `the ${target.provider} API gave an endpoint for ${target.clusterId} that is not an https:// URL`);
          return { ok: true, endpoint: { apiServer: access.apiServer, caCertificatePem: access.caCertificatePem, auth: access.auth, expiresAt: access.expiresAt, credentialRef: ref, boundTo } };
        } catch (error) {
          if (signal.aborted) throw error;
          // CloudError messages name the provider, the call and the resource, never a credential.
          const message = error instanceof Error && error.name === 'CloudError' ? error.message : `the ${target.provider} API call failed unexpectedly (${error instanceof Error ? error.name : 'unknown error'})`;
          await this.audit.recordUse({ what: 'cloud-account', clusterId: target.clusterId, ok: false, reason: `cloud account "${ref}": ${message}` });
          return fail('cloud-access-failed', message);
        }
      }
    }
  }
}
