import { createPrivateKey, X509Certificate } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AuditTrail } from '@flotilla/auth';
import { Secret, SecretStore } from '@flotilla/secrets';
import { z } from 'zod';
import { KubernetesClient, ServerBindingError, type KubernetesTarget } from './kubernetes-client.js';

/** The secret kind management clusters' credentials are sealed under. */
export const MANAGEMENT_CREDENTIALS_KIND = 'kubernetes-credentials';

const certificatePem = z
  .string()
  .max(64 * 1024)
  .refine((text) => {
    try {
      new X509Certificate(text);
      return true;
    } catch {
      return false;
    }
  }, 'must be a PEM certificate');

const privateKeyPem = z
  .string()
  .max(64 * 1024)
  .refine((text) => {
    try {
      createPrivateKey(text);
      return true;
    } catch {
      return false;
    }
  }, 'must be an unencrypted PEM private key');

/**
 * How Flotilla authenticates to a management cluster: its CA, and a bearer token (a service
 * account's) or a client certificate and key. Sealed at rest, never shown again.
 */
export const ManagementClusterCredentials = z
  .strictObject({
    certificateAuthority: certificatePem.describe("PEM of the CA that signed the management cluster's API server certificate"),
    token: z.string().min(1).max(16 * 1024).regex(/^[\x21-\x7e]+$/, 'must be a bearer token (printable, no spaces)').optional().describe('A bearer token (e.g. a service account token with rights on TenantControlPlanes, namespaces and secrets)'),
    clientCertificate: certificatePem.optional().describe('PEM client certificate, with clientKey, instead of a token'),
    clientKey: privateKeyPem.optional().describe('PEM private key of clientCertificate'),
  })
  .superRefine((body, context) => {
    const certificate = body.clientCertificate !== undefined || body.clientKey !== undefined;
    if (body.token !== undefined && certificate) context.addIssue({ code: 'custom', path: ['token'], message: 'give a token or a client certificate, not both' });
    if (body.token === undefined && !certificate) context.addIssue({ code: 'custom', path: ['token'], message: 'give a token, or clientCertificate and clientKey' });
    if (certificate && body.clientCertificate === undefined) context.addIssue({ code: 'custom', path: ['clientCertificate'], message: 'is required with clientKey' });
    if (certificate && body.clientKey === undefined) context.addIssue({ code: 'custom', path: ['clientKey'], message: 'is required with clientCertificate' });
  });
export type ManagementClusterCredentials = z.infer<typeof ManagementClusterCredentials>;

/** What is sealed: the credentials and the one API server they were given for. */
const SealedCredentials = z.object({ apiEndpoint: z.string().url(), credentials: z.object({ certificateAuthority: z.string(), token: z.string().optional(), clientCertificate: z.string().optional(), clientKey: z.string().optional() }) });

export function credentialsRef(managementCluster: string): string {
  return `management-cluster/${managementCluster}/credentials`;
}

/** The management cluster has no usable credentials: nothing can be applied there. */
export class ManagementCredentialsError extends Error {
  override readonly name = 'ManagementCredentialsError';
}

/**
 * Management clusters' credentials, sealed in the secret store with the API server they were
 * given for, and the one place a client for a management cluster is built: only for that server,
 * and every use is audited (which management cluster, for which cluster, never the credential).
 */
@Injectable()
export class ManagementClusterAccess {
  constructor(
    @Inject(SecretStore) private readonly secrets: SecretStore,
    @Inject(AuditTrail) private readonly audit: Pick<AuditTrail, 'recordUse'>,
  ) {}

  /** Seals the credentials for `apiEndpoint` (joins the caller's transaction). */
  async store(managementCluster: string, apiEndpoint: string, credentials: ManagementClusterCredentials): Promise<void> {
    const kind = credentials.token === undefined ? 'client-certificate' : 'token';
    const caFingerprint = new X509Certificate(credentials.certificateAuthority).fingerprint256;
    await this.secrets.put(credentialsRef(managementCluster), MANAGEMENT_CREDENTIALS_KIND, new Secret(JSON.stringify({ apiEndpoint, credentials })), { managementCluster, apiEndpoint, kind, caFingerprint });
  }

  async hasCredentials(managementCluster: string): Promise<boolean> {
    return (await this.secrets.describe(credentialsRef(managementCluster))) !== undefined;
  }

  /**
   * A client for the management cluster at `apiEndpoint`, for work on `clusterId`. Refused
   * (ManagementCredentialsError) without credentials, or when they were given for another server.
   * Every use is audited, or only the failed ones (`audit: 'failures'`, for frequent reads).
   */
  async open(managementCluster: string, apiEndpoint: string, clusterId: string, purpose: string, audit: 'every-use' | 'failures' = 'every-use'): Promise<KubernetesClient> {
    const use = `management cluster "${managementCluster}" credentials`;
    try {
      const client = await KubernetesClient.open(await this.target(managementCluster, apiEndpoint));
      // Reads made every few seconds per node (health checks) record their failures only.
      if (audit === 'every-use') await this.audit.recordUse({ what: 'management-cluster', clusterId, ok: true, reason: `${use} for ${purpose} at ${apiEndpoint}` });
      return client;
    } catch (error) {
      const message = error instanceof ManagementCredentialsError || error instanceof ServerBindingError ? error.message : `no client for ${apiEndpoint}`;
      await this.audit.recordUse({ what: 'management-cluster', clusterId, ok: false, reason: `${use}: ${message}` });
      throw error;
    }
  }

  private async target(managementCluster: string, apiEndpoint: string): Promise<KubernetesTarget> {
    const secret = await this.secrets.reveal(credentialsRef(managementCluster));
    if (!secret) throw new ManagementCredentialsError(`management cluster "${managementCluster}" has no credentials: give them with PATCH /api/v1/management-clusters/${managementCluster}`);
    const parsed = SealedCredentials.safeParse(JSON.parse(secret.revealString()));
    if (!parsed.success) throw new ManagementCredentialsError(`management cluster "${managementCluster}": its stored credentials are unreadable; give them again`);
    // The server sealed with the credentials decides: they never go to another address.
    if (parsed.data.apiEndpoint !== apiEndpoint) throw new ServerBindingError(`management cluster "${managementCluster}" credentials were given for ${parsed.data.apiEndpoint} and are never sent to ${apiEndpoint}`);
    const { credentials } = parsed.data;
    const describe = `management cluster "${managementCluster}" credentials`;
    return {
      server: apiEndpoint,
      caCertificatePem: credentials.certificateAuthority,
      auth:
        credentials.token !== undefined
          ? { kind: 'token', token: new Secret(credentials.token) }
          : { kind: 'client-certificate', certificatePem: credentials.clientCertificate ?? '', privateKey: new Secret(credentials.clientKey ?? '') },
      describe,
    };
  }
}
