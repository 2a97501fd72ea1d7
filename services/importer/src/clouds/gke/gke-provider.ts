import type { ClusterManagerClient, protos } from '@google-cloud/container';
import type { GcpAccount } from '../accounts.js';
import type { CloudCluster, CloudClusterRef, CloudLocation, CloudProvider, ClusterApiAccess } from '../cloud-provider.js';
import { CloudError } from '../errors.js';
import { Secret } from '../secret.js';
import type { CloudSettings } from '../settings.js';
import { GkeClients, type GkeCallOptions } from './gke-client.js';
import { gkeCaCertificatePem, gkeCluster, gkeError } from './gke-mapping.js';

type GkeLocation = Extract<CloudLocation, { provider: 'gke' }>;
type GkeRef = Extract<CloudClusterRef, { provider: 'gke' }>;

/**
 * Google Kubernetes Engine through @google-cloud/container over its HTTP/JSON transport, signed
 * in with the service-account key through google-auth-library's JWT client.
 */
export class GkeProvider implements CloudProvider<GcpAccount, GkeLocation, GkeRef> {
  private readonly clients: GkeClients;

  constructor(settings: CloudSettings) {
    this.clients = new GkeClients(settings);
  }

  async listClusters(account: GcpAccount, location: GkeLocation, signal?: AbortSignal): Promise<CloudCluster[]> {
    const parent = `projects/${location.projectId}/locations/${location.location ?? '-'}`;
    return this.clients.withClient(account, signal, async (client, options) => {
      try {
        const [response] = await client.listClusters({ parent }, options);
        return (response.clusters ?? []).map(gkeCluster);
      } catch (error) {
        throw gkeError(error, `listing clusters of ${parent}`);
      }
    });
  }

  async describeCluster(account: GcpAccount, ref: GkeRef, signal?: AbortSignal): Promise<CloudCluster> {
    return gkeCluster(await this.clients.withClient(account, signal, (client, options) => this.get(client, ref, options)));
  }

  /** The cluster's endpoint and CA, and an OAuth 2.0 access token of the service account. */
  async apiAccess(account: GcpAccount, ref: GkeRef, signal?: AbortSignal): Promise<ClusterApiAccess> {
    const cluster = await this.clients.withClient(account, signal, (client, options) => this.get(client, ref, options));
    const described = gkeCluster(cluster);
    if (described.endpoint === null) throw new CloudError('cloud-response-invalid', `GKE cluster "${ref.clusterName}" has no endpoint yet (status ${described.status})`);
    const caCertificatePem = gkeCaCertificatePem(cluster);
    // A token of its own: it is handed out for the cluster's API with its own expiry.
    const jwt = this.clients.newJwt(account);
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

  private async get(client: ClusterManagerClient, ref: GkeRef, options: GkeCallOptions): Promise<protos.google.container.v1.ICluster> {
    const name = `projects/${ref.projectId}/locations/${ref.location}/clusters/${ref.clusterName}`;
    try {
      const [cluster] = await client.getCluster({ name }, options);
      return cluster;
    } catch (error) {
      throw gkeError(error, `cluster ${name}`);
    }
  }
}
