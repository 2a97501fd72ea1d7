import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  DeleteClusterCommand,
  DeleteNodegroupCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  DescribeUpdateCommand,
  paginateDescribeClusterVersions,
  paginateListNodegroups,
  paginateListUpdates,
  TagResourceCommand,
  UpdateClusterVersionCommand,
  UpdateNodegroupConfigCommand,
  UpdateNodegroupVersionCommand,
  type Cluster,
  type ClusterVersionInformation,
  type EKSClient,
  type Nodegroup,
  type Update,
} from '@aws-sdk/client-eks';
import type { AwsAccount } from '../accounts.js';
import { mapLimited } from '../concurrency.js';
import { CloudError } from '../errors.js';
import {
  OWNERSHIP_TAG,
  type CloudClusterSpec,
  type CloudLifecycle,
  type CloudNodeGroupSpec,
  type CloudOperation,
  type CloudOperationStatus,
  type CloudPlace,
  type CloudTarget,
  type ObservedCloudCluster,
  type ObservedCloudNodeGroup,
} from '../lifecycle.js';
import { RequestBudgets } from '../request-budget.js';
import type { CloudSettings } from '../settings.js';
import {
  eksClusterState,
  eksCreateClusterRequest,
  eksCreateNodegroupRequest,
  eksNodegroupOwner,
  eksNodegroupState,
  eksOperation,
  eksRegionOf,
  eksUpdateStatus,
  minorOf,
  observedEksCluster,
  observedEksNodegroup,
  offeredEksVersions,
  parseEksOperation,
} from './eks-lifecycle-mapping.js';
import { EksClients } from './eks-client.js';
import { eksError, eksExceptionName } from './eks-mapping.js';

/** Describe calls in flight at once when reading several node groups or updates. */
const DESCRIBE_CONCURRENCY = 4;

const options = (signal: AbortSignal | undefined) => (signal === undefined ? undefined : { abortSignal: signal });

/** Where a call is, for messages: `"name" in region`. */
const at = (target: CloudTarget, region: string, nodegroupName?: string) => `"${target.clusterName}${nodegroupName === undefined ? '' : `/${nodegroupName}`}" in ${region}`;

/**
 * Amazon EKS clusters created and run through @aws-sdk/client-eks. The control plane is an EKS
 * cluster, node groups are managed node groups; both carry the ownership tag.
 *
 * Repeating a call is safe: creates and updates carry the reconciler's request token as
 * `clientRequestToken` (EKS answers a repeat with what the first call did), a create that meets a
 * resource of that name adopts it when it carries our tag and is `cloud-name-taken` when not, an
 * update EKS refuses because it is already done or under way is looked up instead of failing, and a
 * delete of what is gone or going is done. Nothing without our tag is ever deleted.
 */
export class EksLifecycle implements CloudLifecycle<AwsAccount> {
  readonly provider = 'eks' as const;
  private readonly clients: EksClients;

  constructor(settings: CloudSettings) {
    this.clients = new EksClients(settings, { cache: true, surfaceThrottling: true, budgets: new RequestBudgets(settings.requestRates.eks) });
  }

  async offeredVersions(account: AwsAccount, place: CloudPlace, signal?: AbortSignal): Promise<string[]> {
    const region = eksRegionOf(place);
    const client = this.clients.client(account, region);
    const versions: ClusterVersionInformation[] = [];
    try {
      for await (const page of paginateDescribeClusterVersions({ client }, { clusterType: 'eks' }, options(signal))) versions.push(...(page.clusterVersions ?? []));
    } catch (error) {
      throw eksError(error, `DescribeClusterVersions in ${region}`);
    }
    return offeredEksVersions(versions);
  }

  async findCluster(account: AwsAccount, target: CloudTarget, signal?: AbortSignal): Promise<ObservedCloudCluster | null> {
    const region = eksRegionOf(target);
    const cluster = await this.describeCluster(this.clients.client(account, region), target, region, signal);
    return cluster === null ? null : observedEksCluster(cluster);
  }

  async createCluster(account: AwsAccount, target: CloudTarget, spec: CloudClusterSpec, _groups: readonly CloudNodeGroupSpec[], requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const region = eksRegionOf(target);
    const request = eksCreateClusterRequest(target, spec, requestToken);
    const client = this.clients.client(account, region);
    try {
      await client.send(new CreateClusterCommand(request), options(signal));
      return null;
    } catch (error) {
      if (eksExceptionName(error) !== 'ResourceInUseException') throw eksError(error, `CreateCluster ${at(target, region)}`);
      // A cluster of that name exists: ours from a create before a crash (its token forgotten), or someone else's.
      const existing = await this.describeCluster(client, target, region, signal);
      if (existing === null) throw eksError(error, `CreateCluster ${at(target, region)}`);
      this.mustBeOurs(existing.tags?.[OWNERSHIP_TAG], spec.tags[OWNERSHIP_TAG], `cluster ${at(target, region)}`);
      return null;
    }
  }

  async upgradeCluster(account: AwsAccount, target: CloudTarget, version: string, requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const region = eksRegionOf(target);
    const client = this.clients.client(account, region);
    const what = `UpdateClusterVersion ${at(target, region)} to ${version}`;
    try {
      const { update } = await client.send(new UpdateClusterVersionCommand({ name: target.clusterName, version, clientRequestToken: requestToken }), options(signal));
      return eksOperation(update, what);
    } catch (error) {
      return this.afterRefusal(
        error,
        what,
        async () => {
          const cluster = await this.describeCluster(client, target, region, signal);
          return cluster !== null && minorOf(cluster.version ?? '') === version && eksClusterState(cluster.status, target.clusterName) === 'ready';
        },
        () => this.updateUnderWay(client, target, region, undefined, 'VersionUpdate', version, signal),
      );
    }
  }

  async deleteCluster(account: AwsAccount, target: CloudTarget, signal?: AbortSignal): Promise<CloudOperation> {
    const region = eksRegionOf(target);
    const client = this.clients.client(account, region);
    const cluster = await this.describeCluster(client, target, region, signal);
    if (cluster === null || cluster.status === 'DELETING') return null;
    this.mustBeFlotillas(cluster.tags?.[OWNERSHIP_TAG], `cluster ${at(target, region)}`);
    try {
      await client.send(new DeleteClusterCommand({ name: target.clusterName }), options(signal));
    } catch (error) {
      if (eksExceptionName(error) !== 'ResourceNotFoundException') throw eksError(error, `DeleteCluster ${at(target, region)}`);
    }
    return null;
  }

  async findNodeGroup(account: AwsAccount, target: CloudTarget, name: string, signal?: AbortSignal): Promise<ObservedCloudNodeGroup | null> {
    const region = eksRegionOf(target);
    const nodegroup = await this.describeNodegroup(this.clients.client(account, region), target, region, name, signal);
    return nodegroup === null ? null : observedEksNodegroup(nodegroup);
  }

  async listNodeGroups(account: AwsAccount, target: CloudTarget, signal?: AbortSignal, only?: readonly string[]): Promise<ObservedCloudNodeGroup[]> {
    const region = eksRegionOf(target);
    const client = this.clients.client(account, region);
    // EKS lists names only: the groups asked for are described without the listing (a call less per look).
    const nodegroups =
      only === undefined
        ? await this.nodegroups(client, target, region, signal)
        : (await mapLimited(only, DESCRIBE_CONCURRENCY, (name) => this.describeNodegroup(client, target, region, name, signal))).filter((nodegroup): nodegroup is Nodegroup => nodegroup !== null);
    return nodegroups.map(observedEksNodegroup);
  }

  /**
   * Tags the cluster and each of its node groups with `owner` (TagResource), so the deletes, which
   * check each resource's own tag, take them. Everything is looked at before anything is tagged.
   */
  async adoptCluster(account: AwsAccount, target: CloudTarget, owner: string, signal?: AbortSignal): Promise<void> {
    const region = eksRegionOf(target);
    const client = this.clients.client(account, region);
    const cluster = await this.describeCluster(client, target, region, signal);
    if (cluster === null) throw new CloudError('cloud-cluster-not-found', `EKS has no cluster ${at(target, region)}`);
    const resources = [
      { what: `cluster ${at(target, region)}`, arn: cluster.arn, tag: cluster.tags?.[OWNERSHIP_TAG] },
      ...(await this.nodegroups(client, target, region, signal)).map((nodegroup) => ({
        what: `node group ${at(target, region, nodegroup.nodegroupName)}`,
        arn: nodegroup.nodegroupArn,
        tag: eksNodegroupOwner(nodegroup) ?? undefined,
      })),
    ];
    for (const resource of resources) {
      if (resource.tag !== undefined && resource.tag !== '' && resource.tag !== owner) throw new CloudError('cloud-name-taken', `EKS ${resource.what} belongs to Flotilla cluster ${resource.tag}`);
      if (resource.arn === undefined) throw new CloudError('cloud-response-invalid', `EKS answered ${resource.what} without its ARN`);
    }
    for (const resource of resources) {
      if (resource.tag === owner) continue;
      try {
        await client.send(new TagResourceCommand({ resourceArn: resource.arn, tags: { [OWNERSHIP_TAG]: owner } }), options(signal));
      } catch (error) {
        throw eksError(error, `TagResource of ${resource.what}`);
      }
    }
  }

  /** Every node group of the cluster, described; none when the cluster is gone. */
  private async nodegroups(client: EKSClient, target: CloudTarget, region: string, signal: AbortSignal | undefined): Promise<Nodegroup[]> {
    const names: string[] = [];
    try {
      for await (const page of paginateListNodegroups({ client }, { clusterName: target.clusterName }, options(signal))) names.push(...(page.nodegroups ?? []));
    } catch (error) {
      // No cluster, no node groups: what a delete that comes back after the cluster went sees.
      if (eksExceptionName(error) === 'ResourceNotFoundException') return [];
      throw eksError(error, `ListNodegroups of ${at(target, region)}`);
    }
    const found = await mapLimited(names, DESCRIBE_CONCURRENCY, (name) => this.describeNodegroup(client, target, region, name, signal));
    // A group deleted between the listing and its description is simply gone.
    return found.filter((nodegroup): nodegroup is Nodegroup => nodegroup !== null);
  }

  async createNodeGroup(account: AwsAccount, target: CloudTarget, cluster: CloudClusterSpec, group: CloudNodeGroupSpec, requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const region = eksRegionOf(target);
    const request = eksCreateNodegroupRequest(target, cluster, group, requestToken);
    const client = this.clients.client(account, region);
    try {
      await client.send(new CreateNodegroupCommand(request), options(signal));
      return null;
    } catch (error) {
      if (eksExceptionName(error) !== 'ResourceInUseException') throw eksError(error, `CreateNodegroup ${at(target, region, group.name)}`);
      const existing = await this.describeNodegroup(client, target, region, group.name, signal);
      if (existing === null) throw eksError(error, `CreateNodegroup ${at(target, region, group.name)}`);
      this.mustBeOurs(eksNodegroupOwner(existing), cluster.tags[OWNERSHIP_TAG], `node group ${at(target, region, group.name)}`);
      return null;
    }
  }

  async scaleNodeGroup(
    account: AwsAccount,
    target: CloudTarget,
    name: string,
    size: { minSize: number; maxSize: number; desiredSize: number },
    requestToken: string,
    signal?: AbortSignal,
  ): Promise<CloudOperation> {
    const region = eksRegionOf(target);
    const client = this.clients.client(account, region);
    const scalingConfig = { minSize: size.minSize, maxSize: size.maxSize, desiredSize: size.desiredSize };
    const what = `UpdateNodegroupConfig ${at(target, region, name)}`;
    try {
      const { update } = await client.send(new UpdateNodegroupConfigCommand({ clusterName: target.clusterName, nodegroupName: name, scalingConfig, clientRequestToken: requestToken }), options(signal));
      return eksOperation(update, what, name);
    } catch (error) {
      return this.afterRefusal(
        error,
        what,
        async () => {
          const nodegroup = await this.describeNodegroup(client, target, region, name, signal);
          const current = nodegroup?.scalingConfig;
          return (
            nodegroup !== null &&
            current?.minSize === size.minSize &&
            current.maxSize === size.maxSize &&
            current.desiredSize === size.desiredSize &&
            eksNodegroupState(nodegroup.status, name) === 'ready'
          );
        },
        () => this.updateUnderWay(client, target, region, name, 'ConfigUpdate', String(size.desiredSize), signal),
      );
    }
  }

  async upgradeNodeGroup(account: AwsAccount, target: CloudTarget, name: string, version: string, requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const region = eksRegionOf(target);
    const client = this.clients.client(account, region);
    const what = `UpdateNodegroupVersion ${at(target, region, name)} to ${version}`;
    const isThere = async () => {
      const nodegroup = await this.describeNodegroup(client, target, region, name, signal);
      return nodegroup !== null && minorOf(nodegroup.version ?? '') === version && eksNodegroupState(nodegroup.status, name) === 'ready';
    };
    // EKS takes an update to the version a group has (it rolls the nodes to the newest AMI): a
    // repeat after the upgrade is done must not roll them again.
    if (await isThere()) return null;
    try {
      const { update } = await client.send(new UpdateNodegroupVersionCommand({ clusterName: target.clusterName, nodegroupName: name, version, clientRequestToken: requestToken }), options(signal));
      return eksOperation(update, what, name);
    } catch (error) {
      return this.afterRefusal(error, what, isThere, () => this.updateUnderWay(client, target, region, name, 'VersionUpdate', version, signal));
    }
  }

  async deleteNodeGroup(account: AwsAccount, target: CloudTarget, name: string, signal?: AbortSignal): Promise<CloudOperation> {
    const region = eksRegionOf(target);
    const client = this.clients.client(account, region);
    const nodegroup = await this.describeNodegroup(client, target, region, name, signal);
    if (nodegroup === null || nodegroup.status === 'DELETING') return null;
    this.mustBeFlotillas(eksNodegroupOwner(nodegroup), `node group ${at(target, region, name)}`);
    try {
      await client.send(new DeleteNodegroupCommand({ clusterName: target.clusterName, nodegroupName: name }), options(signal));
    } catch (error) {
      if (eksExceptionName(error) !== 'ResourceNotFoundException') throw eksError(error, `DeleteNodegroup ${at(target, region, name)}`);
    }
    return null;
  }

  async operationStatus(account: AwsAccount, target: CloudTarget, operation: string, signal?: AbortSignal): Promise<CloudOperationStatus> {
    const region = eksRegionOf(target);
    const { updateId, nodegroupName } = parseEksOperation(operation);
    const update = await this.describeUpdate(this.clients.client(account, region), target, region, updateId, nodegroupName, signal);
    return update === null ? { done: true, failure: null } : eksUpdateStatus(update);
  }

  private async describeCluster(client: EKSClient, target: CloudTarget, region: string, signal: AbortSignal | undefined): Promise<Cluster | null> {
    try {
      const { cluster } = await client.send(new DescribeClusterCommand({ name: target.clusterName }), options(signal));
      if (!cluster) throw new CloudError('cloud-response-invalid', `EKS DescribeCluster ${at(target, region)} answered no cluster`);
      return cluster;
    } catch (error) {
      if (eksExceptionName(error) === 'ResourceNotFoundException') return null;
      throw eksError(error, `DescribeCluster ${at(target, region)}`);
    }
  }

  private async describeNodegroup(client: EKSClient, target: CloudTarget, region: string, name: string, signal: AbortSignal | undefined): Promise<Nodegroup | null> {
    try {
      const { nodegroup } = await client.send(new DescribeNodegroupCommand({ clusterName: target.clusterName, nodegroupName: name }), options(signal));
      if (!nodegroup) throw new CloudError('cloud-response-invalid', `EKS DescribeNodegroup ${at(target, region, name)} answered no node group`);
      return nodegroup;
    } catch (error) {
      // The cluster's absence is the group's too.
      if (eksExceptionName(error) === 'ResourceNotFoundException') return null;
      throw eksError(error, `DescribeNodegroup ${at(target, region, name)}`);
    }
  }

  private async describeUpdate(
    client: EKSClient,
    target: CloudTarget,
    region: string,
    updateId: string,
    nodegroupName: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Update | null> {
    try {
      const { update } = await client.send(
        new DescribeUpdateCommand({ name: target.clusterName, updateId, ...(nodegroupName === undefined ? {} : { nodegroupName }) }),
        options(signal),
      );
      if (!update) throw new CloudError('cloud-response-invalid', `EKS DescribeUpdate "${updateId}" of ${at(target, region, nodegroupName)} answered no update`);
      return update;
    } catch (error) {
      if (eksExceptionName(error) === 'ResourceNotFoundException') return null;
      throw eksError(error, `DescribeUpdate "${updateId}" of ${at(target, region, nodegroupName)}`);
    }
  }

  /**
   * EKS refused an update, perhaps because it is done already or under way from a call whose answer
   * was lost: done is null, under way is that update, anything else is the refusal. Looked at twice,
   * as the update may end between the looks.
   */
  private async afterRefusal(error: unknown, what: string, isDone: () => Promise<boolean>, underWay: () => Promise<CloudOperation>): Promise<CloudOperation> {
    if (!isRefusal(error)) throw eksError(error, what);
    if (await isDone()) return null;
    const running = await underWay();
    if (running !== null) return running;
    if (await isDone()) return null;
    throw eksError(error, what);
  }

  /**
   * The operation of an update of this type still in progress that asks for `value` (the version,
   * or the desired size), when EKS refused a new one: the update a call whose answer was lost
   * started. Only reached on a refusal, so reading every update of the resource is affordable.
   */
  private async updateUnderWay(
    client: EKSClient,
    target: CloudTarget,
    region: string,
    nodegroupName: string | undefined,
    type: 'VersionUpdate' | 'ConfigUpdate',
    value: string,
    signal: AbortSignal | undefined,
  ): Promise<CloudOperation> {
    const ids: string[] = [];
    try {
      const input = { name: target.clusterName, ...(nodegroupName === undefined ? {} : { nodegroupName }) };
      for await (const page of paginateListUpdates({ client }, input, options(signal))) ids.push(...(page.updateIds ?? []));
    } catch (error) {
      if (eksExceptionName(error) === 'ResourceNotFoundException') return null;
      throw eksError(error, `ListUpdates of ${at(target, region, nodegroupName)}`);
    }
    const updates = await mapLimited(ids, DESCRIBE_CONCURRENCY, (id) => this.describeUpdate(client, target, region, id, nodegroupName, signal));
    const asked = type === 'VersionUpdate' ? 'Version' : 'DesiredSize';
    const running = updates.find(
      (update) =>
        update?.status === 'InProgress' &&
        update.type === type &&
        update.params?.some((param) => param.type === asked && (type === 'VersionUpdate' ? minorOf(param.value ?? '') === value : param.value === value)),
    );
    return running ? eksOperation(running, `ListUpdates of ${at(target, region, nodegroupName)}`, nodegroupName) : null;
  }

  /** A resource found where we create: ours (the same cluster id) is resumed, anyone else's is never touched. */
  private mustBeOurs(owner: string | undefined | null, expected: string | undefined, what: string): void {
    if (owner !== undefined && owner !== null && owner === expected) return;
    const whose = owner === undefined || owner === null ? 'it has no ownership tag' : `its ${OWNERSHIP_TAG} tag names another cluster (${owner})`;
    throw new CloudError('cloud-name-taken', `EKS ${what} already exists and ${whose}`);
  }

  /**
   * Deletes only touch what carries the ownership tag (any cluster id: the delete calls are not told
   * which), so a name that was taken by someone else's cluster never loses that cluster.
   */
  private mustBeFlotillas(owner: string | undefined | null, what: string): void {
    if (owner !== undefined && owner !== null && owner !== '') return;
    throw new CloudError('cloud-name-taken', `EKS ${what} has no ${OWNERSHIP_TAG} tag: it is not Flotilla's and is left alone`);
  }
}

/** EKS refusing a change for the resource's state or the parameters: worth a look before failing. */
function isRefusal(error: unknown): boolean {
  const name = eksExceptionName(error);
  return name === 'ResourceInUseException' || name === 'InvalidParameterException' || name === 'InvalidRequestException';
}
