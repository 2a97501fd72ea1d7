import { Agent } from 'node:https';
import { ClusterManagerClient, type protos } from '@google-cloud/container';
import { JWT } from 'google-auth-library';
import type { GcpAccount } from '../accounts.js';
import type { CloudCluster, CloudClusterRef, CloudLocation, CloudProvider, ClusterApiAccess } from '../cloud-provider.js';
import { CloudError } from '../errors.js';
import { Secret } from '../secret.js';
import { trustedCas, type CloudSettings } from '../settings.js';
import { gkeCaCertificatePem, gkeCluster, gkeError } from './gke-mapping.js';

type GkeLocation = Extract<CloudLocation, { provider: 'gke' }>;
type GkeRef = Extract<CloudClusterRef, { provider: 'gke' }>;

/** The scope gke-gcloud-auth-plugin asks for: the API server accepts these tokens. */
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Where google-auth-library sends every service-account assertion. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/**
 * Google Kubernetes Engine through @google-cloud/container over its HTTP/JSON transport, signed
 * in with the service-account key through google-auth-library's JWT client.
 */
export class GkeProvider implements CloudProvider<GcpAccount, GkeLocation, GkeRef> {
  private readonly agent: Agent | undefined;
  private readonly api: URL;

  constructor(private readonly settings: CloudSettings) {
    const ca = trustedCas(settings);
    this.agent = ca === undefined ? undefined : new Agent({ keepAlive: true, ca });
    this.api = new URL(settings.gke.apiEndpoint);
  }

  async listClusters(account: GcpAccount, location: GkeLocation, signal?: AbortSignal): Promise<CloudCluster[]> {
    const parent = `projects/${location.projectId}/locations/${location.location ?? '-'}`;
    return this.withClient(account, signal, async (client, options) => {
      try {
        const [response] = await client.listClusters({ parent }, options);
        return (response.clusters ?? []).map(gkeCluster);
      } catch (error) {
        throw gkeError(error, `listing clusters of ${parent}`);
      }
    });
  }

  async describeCluster(account: GcpAccount, ref: GkeRef, signal?: AbortSignal): Promise<CloudCluster> {
    return gkeCluster(await this.withClient(account, signal, (client, options) => this.get(client, ref, options)));
  }

  /** The cluster's endpoint and CA, and an OAuth 2.0 access token of the service account. */
  async apiAccess(account: GcpAccount, ref: GkeRef, signal?: AbortSignal): Promise<ClusterApiAccess> {
    const cluster = await this.withClient(account, signal, (client, options) => this.get(client, ref, options));
    const described = gkeCluster(cluster);
    if (described.endpoint === null) throw new CloudError('cloud-response-invalid', `GKE cluster "${ref.clusterName}" has no endpoint yet (status ${described.status})`);
    const caCertificatePem = gkeCaCertificatePem(cluster);
    const jwt = this.jwt(account);
    let token: string | null | undefined;
    try {
      ({ token } = await jwt.getAccessToken());
    } catch (error) {
      throw gkeError(error, 'access token for the service account');
    }
    if (!token) throw new CloudError('cloud-response-invalid', 'the GCP token endpoint returned no access token');
    const expiry = jwt.credentials.expiry_date;
    return {
      apiServer: described.endpoint,
      caCertificatePem,
      auth: { kind: 'bearer-token', token: new Secret(token) },
      expiresAt: typeof expiry === 'number' ? new Date(expiry).toISOString() : null,
      cloudVersion: described.version,
      nodeGroups: described.nodeGroups,
    };
  }

  private async get(client: ClusterManagerClient, ref: GkeRef, options: { timeout: number }): Promise<protos.google.container.v1.ICluster> {
    const name = `projects/${ref.projectId}/locations/${ref.location}/clusters/${ref.clusterName}`;
    try {
      const [cluster] = await client.getCluster({ name }, options);
      return cluster;
    } catch (error) {
      throw gkeError(error, `cluster ${name}`);
    }
  }

  /**
   * The service account's JWT client. Its token requests go to the configured token URI (the
   * library always addresses Google's), over the configured trust.
   */
  private jwt(account: GcpAccount): JWT {
    const jwt = new JWT({ email: account.client_email, key: account.private_key, ...(account.private_key_id ? { keyId: account.private_key_id } : {}), scopes: [CLOUD_PLATFORM_SCOPE] });
    const { tokenUri } = this.settings.gke;
    const agent = this.agent;
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (config.url.href === GOOGLE_TOKEN_URL && tokenUri !== GOOGLE_TOKEN_URL) config.url = new URL(tokenUri);
        if (agent !== undefined && config.url.protocol === 'https:') config.agent = agent;
        return config;
      },
    });
    return jwt;
  }

  private async withClient<T>(account: GcpAccount, signal: AbortSignal | undefined, use: (client: ClusterManagerClient, options: { timeout: number }) => Promise<T>): Promise<T> {
    const client = new ClusterManagerClient({
      authClient: this.jwt(account),
      apiEndpoint: this.api.hostname,
      port: this.api.port === '' ? 443 : Number(this.api.port),
      protocol: this.api.protocol.replace(':', ''),
      fallback: true,
    });
    // The REST transport takes no AbortSignal: on abort stop waiting; close() ends the rest.
    let onAbort: (() => void) | undefined;
    try {
      signal?.throwIfAborted();
      const call = use(client, { timeout: this.settings.requestTimeoutMs });
      if (signal === undefined) return await call;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new CloudError('cloud-unreachable', 'GKE call aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      return await Promise.race([call, aborted]);
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
      await client.close();
    }
  }
}
