import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '@flotilla/auth';
import { Clock } from '@flotilla/service-kit';
import { JoinSecretsRepository } from '../bootstrap/join-secrets.repository.js';
import type { ClusterState } from '../domain/cluster/index.js';
import type { Secret } from '@flotilla/secrets';
import { ServerBindingError } from '../hosted/kubernetes-client.js';
import { ManagementCredentialsError } from '../hosted/management-credentials.js';
import { TenantAccessError, TenantClusters } from '../hosted/tenant-clusters.js';
import { apiServerUrl } from '../repositories/integration-events.js';
import { issueClientCertificate } from './client-certificate.js';
import { certificateGroups, renderKubeconfig } from './kubeconfig.js';

export type KubeconfigRefusalCode = 'cluster-not-running' | 'no-api-endpoint' | 'cluster-ca-missing' | 'hosted-admin-only' | 'hosted-kubeconfig-unavailable';

export class KubeconfigRefusal extends Error {
  override readonly name = 'KubeconfigRefusal';

  constructor(
    readonly code: KubeconfigRefusalCode,
    message: string,
  ) {
    super(message);
  }
}

/** Where a kubeconfig of the cluster would point, or why none can be given now. Pure. */
export function kubeconfigServer(cluster: Pick<ClusterState, 'id' | 'model' | 'phase' | 'apiServerEndpoint'>): string {
  if (cluster.phase !== 'Running') throw new KubeconfigRefusal('cluster-not-running', `cluster "${cluster.id}" is ${cluster.phase}: a kubeconfig is given for a Running cluster only`);
  if (cluster.apiServerEndpoint === null) throw new KubeconfigRefusal('no-api-endpoint', `cluster "${cluster.id}" has no API server endpoint yet`);
  return apiServerUrl(cluster.apiServerEndpoint);
}

export interface IssuedKubeconfig {
  kubeconfig: string;
  /** What was handed out, for the audit record (never the credential). */
  describe: string;
}

/**
 * Kubeconfigs of the clusters Flotilla built: a client certificate for the caller, signed by the
 * cluster's CA (kept sealed with its join secrets), for `ttlMs`. The key is made for each
 * kubeconfig and kept nowhere. A hosted control plane's CA key is Kamaji's and never leaves its
 * management cluster: its kubeconfig is Kamaji's admin kubeconfig, read from the management
 * cluster for each request and never stored, for admins only (it is cluster-admin).
 */
@Injectable()
export class KubeconfigIssuer {
  constructor(
    @Inject(JoinSecretsRepository) private readonly joinSecrets: JoinSecretsRepository,
    @Inject(TenantClusters) private readonly tenants: TenantClusters,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async issue(cluster: ClusterState, caller: Principal, ttlMs: number): Promise<IssuedKubeconfig> {
    const server = kubeconfigServer(cluster);
    if (cluster.model === 'hosted-control-plane') return this.hosted(cluster, caller);
    // Read, never made here: a running cluster's CA was made before its first machine booted.
    const secrets = await this.joinSecrets.find(cluster.id);
    if (!secrets) throw new KubeconfigRefusal('cluster-ca-missing', `cluster "${cluster.id}" has no CA recorded by the provisioner`);
    const groups = certificateGroups(caller.role);
    const certificate = await issueClientCertificate(secrets.ca, { user: caller.subject, groups }, this.clock.now(), ttlMs);
    const kubeconfig = renderKubeconfig({
      clusterId: cluster.id,
      server,
      caCertificatePem: secrets.ca.certificatePem,
      user: caller.subject,
      certificatePem: certificate.certificatePem,
      privateKeyPem: certificate.privateKeyPem,
    });
    return { kubeconfig, describe: `client certificate for ${caller.subject} (${groups.join(', ')}), serial ${certificate.serial}, valid until ${certificate.notAfter.toISOString()}` };
  }

  private async hosted(cluster: ClusterState, caller: Principal): Promise<IssuedKubeconfig> {
    if (caller.role !== 'admin') throw new KubeconfigRefusal('hosted-admin-only', `cluster "${cluster.id}" has a hosted control plane: its kubeconfig is its control plane's admin kubeconfig, given to admins only`);
    let kubeconfig: Secret | undefined;
    try {
      kubeconfig = await this.tenants.adminKubeconfig(cluster.id, `a kubeconfig for ${caller.subject}`);
    } catch (error) {
      // Its management cluster cannot be used, or the kubeconfig there is not the control plane's: named, never passed on.
      if (error instanceof TenantAccessError || error instanceof ServerBindingError || error instanceof ManagementCredentialsError) throw new KubeconfigRefusal('hosted-kubeconfig-unavailable', error.message);
      throw error;
    }
    if (!kubeconfig) throw new KubeconfigRefusal('hosted-kubeconfig-unavailable', `cluster "${cluster.id}": its hosted control plane is not Ready in its management cluster`);
    return { kubeconfig: kubeconfig.revealString(), describe: `the admin kubeconfig of hosted control plane ${cluster.id}, read from its management cluster, for ${caller.subject}` };
  }
}
