import {
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  paginateListClusters,
  paginateListNodegroups,
  type Cluster,
  type EKSClient,
  type Nodegroup,
} from '@aws-sdk/client-eks';
import type { AwsAccount } from '../accounts.js';
import type { CloudCluster, CloudClusterRef, CloudLocation, CloudProvider, ClusterApiAccess } from '../cloud-provider.js';
import { mapLimited } from '../concurrency.js';
import { CloudError } from '../errors.js';
import { Secret } from '../secret.js';
import type { CloudSettings } from '../settings.js';
import { EksClients } from './eks-client.js';
import { eksCaCertificatePem, eksCluster, eksError, stsEndpointFor } from './eks-mapping.js';
import { eksToken } from './eks-token.js';

type EksLocation = Extract<CloudLocation, { provider: 'eks' }>;
type EksRef = Extract<CloudClusterRef, { provider: 'eks' }>;

/** Describe calls in flight at once per listing: enough to be quick, few enough not to be throttled. */
const DESCRIBE_CONCURRENCY = 4;

/** Amazon EKS through @aws-sdk/client-eks: ListClusters, DescribeCluster, ListNodegroups, DescribeNodegroup. */
export class EksProvider implements CloudProvider<AwsAccount, EksLocation, EksRef> {
  private readonly clients: EksClients;

  constructor(private readonly settings: CloudSettings) {
    this.clients = new EksClients(settings);
  }

  async listClusters(account: AwsAccount, location: EksLocation, signal?: AbortSignal): Promise<CloudCluster[]> {
    return this.withClient(account, location.region, async (client) => {
      const names: string[] = [];
      try {
        for await (const page of paginateListClusters({ client }, {}, signal === undefined ? undefined : { abortSignal: signal })) names.push(...(page.clusters ?? []));
      } catch (error) {
        throw eksError(error, `ListClusters in ${location.region}`);
      }
      return mapLimited(names, DESCRIBE_CONCURRENCY, async (name) => {
        const cluster = await this.describe(client, name, signal);
        return eksCluster(cluster, location.region, await this.nodegroups(client, name, signal));
      });
    });
  }

  async describeCluster(account: AwsAccount, ref: EksRef, signal?: AbortSignal): Promise<CloudCluster> {
    return this.withClient(account, ref.region, async (client) => {
      const cluster = await this.describe(client, ref.clusterName, signal);
      return eksCluster(cluster, ref.region, await this.nodegroups(client, ref.clusterName, signal));
    });
  }

  async apiAccess(account: AwsAccount, ref: EksRef, signal?: AbortSignal): Promise<ClusterApiAccess> {
    return this.withClient(account, ref.region, async (client) => {
      const cluster = await this.describe(client, ref.clusterName, signal);
      const described = eksCluster(cluster, ref.region, await this.nodegroups(client, ref.clusterName, signal));
      if (described.endpoint === null) {
        throw new CloudError('cloud-response-invalid', `EKS cluster "${ref.clusterName}" has no API endpoint yet (status ${described.status})`);
      }
      const { token, expiresAt } = await eksToken(account, ref.region, ref.clusterName, stsEndpointFor(ref.region, this.settings.eks.stsEndpoint));
      return {
        apiServer: described.endpoint,
        caCertificatePem: eksCaCertificatePem(cluster),
        auth: { kind: 'bearer-token', token: new Secret(token) },
        expiresAt: expiresAt.toISOString(),
        cloudVersion: described.version,
        nodeGroups: described.nodeGroups,
      };
    });
  }

  private async describe(client: EKSClient, name: string, signal: AbortSignal | undefined): Promise<Cluster> {
    try {
      const { cluster } = await client.send(new DescribeClusterCommand({ name }), { abortSignal: signal });
      if (!cluster) throw new CloudError('cloud-response-invalid', `EKS DescribeCluster "${name}" answered no cluster`);
      return cluster;
    } catch (error) {
      throw eksError(error, `DescribeCluster "${name}"`);
    }
  }

  private async nodegroups(client: EKSClient, clusterName: string, signal: AbortSignal | undefined): Promise<Nodegroup[]> {
    const names: string[] = [];
    try {
      for await (const page of paginateListNodegroups({ client }, { clusterName }, signal === undefined ? undefined : { abortSignal: signal })) names.push(...(page.nodegroups ?? []));
    } catch (error) {
      throw eksError(error, `ListNodegroups of "${clusterName}"`);
    }
    return mapLimited(names, DESCRIBE_CONCURRENCY, async (nodegroupName) => {
      try {
        const { nodegroup } = await client.send(new DescribeNodegroupCommand({ clusterName, nodegroupName }), { abortSignal: signal });
        if (!nodegroup) throw new CloudError('cloud-response-invalid', `EKS DescribeNodegroup "${clusterName}/${nodegroupName}" answered no node group`);
        return nodegroup;
      } catch (error) {
        throw eksError(error, `DescribeNodegroup "${clusterName}/${nodegroupName}"`);
      }
    });
  }

  /** A client per account and region: the credentials differ per call. */
  private async withClient<T>(account: AwsAccount, region: string, use: (client: EKSClient) => Promise<T>): Promise<T> {
    return use(this.clients.client(account, region));
  }
}
