import { protos, type ClusterManagerClient } from '@google-cloud/container';
import type { GcpAccount } from '../accounts.js';
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
import { ChangeTimes, SharedReads } from '../shared-reads.js';
import type { CloudSettings } from '../settings.js';
import { GkeClients, type GkeCallOptions } from './gke-client.js';
import { GkeInstanceGroups, gkePoolSizePerZone } from './gke-instance-groups.js';
import {
  BOOTSTRAP_POOL,
  decodeGkeOperation,
  encodeGkeOperation,
  gkeClusterOwner,
  gkeClusterRequest,
  gkeLabels,
  gkeNodePoolRequest,
  gkeObservedCluster,
  gkeObservedNodeGroup,
  gkeOfferedMinors,
  gkeOperationName,
  gkeOperationStatus,
  gkePoolOwner,
  type GkeFollowUp,
} from './gke-lifecycle-mapping.js';
import { gkeError, gkeStatus, isGkeConflict } from './gke-mapping.js';

type GkeTarget = Extract<CloudTarget, { provider: 'gke' }>;
type Cluster = protos.google.container.v1.ICluster;
type NodePool = protos.google.container.v1.INodePool;
type Operation = protos.google.container.v1.IOperation;
type OperationType = keyof typeof protos.google.container.v1.Operation.Type;

const minorOf = (version: string | null | undefined): string | null => /^(\d+\.\d+)(\.|-|$)/.exec(version ?? '')?.[1] ?? null;

const operationType = (type: Operation['operationType']): string =>
  typeof type === 'number' ? (protos.google.container.v1.Operation.Type[type] ?? 'TYPE_UNSPECIFIED') : (type ?? 'TYPE_UNSPECIFIED');

const isDone = (operation: Operation): boolean => gkeOperationStatus(operation).done;

function gkeTarget(target: CloudTarget): GkeTarget {
  if (target.provider !== 'gke') throw new CloudError('cloud-location-invalid', `the GKE lifecycle was given a ${target.provider} cluster`, 'cloud.provider');
  return target;
}

const locationPath = (place: { projectId: string; location: string }) => `projects/${place.projectId}/locations/${place.location}`;
const clusterPath = (target: GkeTarget) => `${locationPath(target)}/clusters/${target.clusterName}`;
const poolPath = (target: GkeTarget, name: string) => `${clusterPath(target)}/nodePools/${name}`;

/**
 * Creating and running GKE clusters through @google-cloud/container (REST).
 *
 * GKE takes no request token: every create looks before it creates, and an operation already
 * under way for the resource is waited on instead of starting another. Operations are GKE's own
 * (`projects/…/operations/<name>`), with a follow-up step encoded after `;then=` when one call of
 * ours is two at GKE: a cluster is created with its node pools, and one asked for with none is
 * created with a bootstrap pool (`BOOTSTRAP_POOL`: GKE insists on one) that its create then
 * drops; a delete of a cluster that still has it drops it first. `operationStatus`
 * carries the follow-up out, from what GKE reports, so it is resumed after a restart too.
 *
 * Node group sizes are GKE's, per zone of the pool, the current one read from the pool's instance
 * groups at Compute Engine (`gke-instance-groups.ts`) and changed with setSize. GKE runs one operation at a time on a cluster:
 * a call made while another runs fails with `cloud-failed` (FAILED_PRECONDITION), to be tried again.
 *
 * Clusters and operations are watched a location at a time: `findCluster`, `listNodeGroups` and
 * `operationStatus` read the location's cluster list and operation list (both carry every
 * cluster's node pools and every operation with its status), one call shared by every cluster of
 * the account there for up to `listMaxAgeMs`, and never older than our last change to the cluster
 * (`GkeReads`). An operation the list does not show is asked for by name. Pool sizes come the
 * same way from one listing of the project's GKE instance groups (`sharedTargetSizes`); a resize
 * reads its pool's groups by name, now.
 */
export class GkeLifecycle implements CloudLifecycle<GcpAccount> {
  readonly provider = 'gke' as const;
  private readonly clients: GkeClients;
  private readonly instanceGroups: GkeInstanceGroups;
  private readonly clusterLists: SharedReads<Cluster[]>;
  private readonly operationLists: SharedReads<Operation[]>;
  private readonly changes = new ChangeTimes();

  constructor(settings: CloudSettings) {
    this.clients = new GkeClients(settings, new RequestBudgets(settings.requestRates.gke));
    this.instanceGroups = new GkeInstanceGroups(this.clients, settings);
    this.clusterLists = new SharedReads(settings.listMaxAgeMs);
    this.operationLists = new SharedReads(settings.listMaxAgeMs);
  }

  /** The shared reads of one account, through `client`. */
  private reads(account: GcpAccount, client: ClusterManagerClient, options: GkeCallOptions): GkeReads {
    const key = (target: GkeTarget) => `${account.client_email}\n${locationPath(target)}`;
    return {
      cluster: async (target, after = 0) => {
        const parent = locationPath(target);
        const { value } = await this.clusterLists.read(key(target), Math.max(after, this.changes.notBefore(clusterPath(target))), async () => {
          const [response] = await call(`clusters of ${parent}`, () => client.listClusters({ parent }, options));
          return response.clusters ?? [];
        });
        return value.find((cluster) => cluster.name === target.clusterName) ?? null;
      },
      operations: async (target) => {
        const parent = locationPath(target);
        const { value, sentAt } = await this.operationLists.read(key(target), this.changes.notBefore(clusterPath(target)), async () => {
          const [response] = await call(`operations of ${parent}`, () => client.listOperations({ parent }, options));
          return response.operations ?? [];
        });
        return { operations: value, sentAt };
      },
      changed: (target) => this.changes.changed(clusterPath(target)),
    };
  }

  async offeredVersions(account: GcpAccount, place: CloudPlace, signal?: AbortSignal): Promise<string[]> {
    if (place.provider !== 'gke') throw new CloudError('cloud-location-invalid', `the GKE lifecycle was given a ${place.provider} place`, 'cloud.provider');
    const name = locationPath(place);
    return this.clients.withClient(account, signal, async (client, options) => {
      const [config] = await call(`server config of ${name}`, () => client.getServerConfig({ name }, options));
      return gkeOfferedMinors(config.validMasterVersions ?? []);
    });
  }

  async findCluster(account: GcpAccount, target: CloudTarget, signal?: AbortSignal): Promise<ObservedCloudCluster | null> {
    const gke = gkeTarget(target);
    return this.clients.withClient(account, signal, async (client, options) => {
      const cluster = await this.reads(account, client, options).cluster(gke);
      return cluster === null ? null : gkeObservedCluster(cluster);
    });
  }

  async createCluster(account: GcpAccount, target: CloudTarget, spec: CloudClusterSpec, groups: readonly CloudNodeGroupSpec[], _requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const gke = gkeTarget(target);
    const request = gkeClusterRequest(gke.clusterName, spec, groups);
    const bootstrap = (request.nodePools ?? []).some((pool) => pool.name === BOOTSTRAP_POOL);
    const owner = request.resourceLabels?.[OWNERSHIP_TAG] ?? '';
    return this.clients.withClient(account, signal, async (client, options) => {
      const reads = this.reads(account, client, options);
      const existing = await reads.cluster(gke);
      if (existing !== null) return resumeCreate(client, gke, existing, owner, options, reads);
      try {
        const [operation] = await client.createCluster({ parent: locationPath(gke), cluster: request }, options);
        reads.changed(gke);
        const name = gkeOperationName(operation);
        return bootstrap ? encodeGkeOperation({ name, then: 'drop-bootstrap' }) : name;
      } catch (error) {
        const failure = gkeError(error, `creating cluster ${clusterPath(gke)}`);
        if (failure.code !== 'cloud-name-taken') throw failure;
        // Created since the list we looked at was made (another replica, or a create before a crash): look at it.
        const raced = await getCluster(client, gke, options);
        if (raced === null) throw failure;
        reads.changed(gke);
        return resumeCreate(client, gke, raced, owner, options, reads);
      }
    });
  }

  async upgradeCluster(account: GcpAccount, target: CloudTarget, version: string, _requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const gke = gkeTarget(target);
    const name = clusterPath(gke);
    return this.clients.withClient(account, signal, async (client, options) => {
      const cluster = await getCluster(client, gke, options);
      if (cluster === null) throw new CloudError('cloud-cluster-not-found', `GKE has no cluster ${name}`);
      const reads = this.reads(account, client, options);
      const running = await runningOperation(reads, gke, 'UPGRADE_MASTER', null);
      if (running !== null) return running;
      if (minorOf(cluster.currentMasterVersion) === minorOf(version)) return null;
      const [operation] = await call(`upgrading cluster ${name} to ${version}`, () => client.updateMaster({ name, masterVersion: version }, options));
      reads.changed(gke);
      return gkeOperationName(operation);
    });
  }

  async deleteCluster(account: GcpAccount, target: CloudTarget, signal?: AbortSignal): Promise<CloudOperation> {
    const gke = gkeTarget(target);
    return this.clients.withClient(account, signal, async (client, options) => {
      const cluster = await getCluster(client, gke, options);
      if (cluster === null) return null;
      mustBeFlotillas(cluster, gke);
      const reads = this.reads(account, client, options);
      if (gkeStatus(cluster.status) === 'STOPPING') return runningOperation(reads, gke, 'DELETE_CLUSTER', null);
      // A create that failed, or is still under way, before its bootstrap pool was dropped: that pool goes first, like any other.
      if ((cluster.nodePools ?? []).some((pool) => pool.name === BOOTSTRAP_POOL)) {
        try {
          return await dropPool(client, gke, BOOTSTRAP_POOL, 'delete-cluster', options, reads);
        } catch (error) {
          // The create still runs (GKE refuses pool changes meanwhile): nothing started, asked again at the next look.
          if (error instanceof CloudError && isGkeConflict(error)) return null;
          throw error;
        }
      }
      return deleteClusterNow(client, gke, options, reads);
    });
  }

  /**
   * Labels the cluster with `owner` (setResourceLabels, its other labels kept, against the
   * fingerprint of the set it read), so it can be deleted from then on. GKE applies the labels
   * in a short operation of its own; a call meanwhile is refused as a conflict, to be tried again.
   */
  async adoptCluster(account: GcpAccount, target: CloudTarget, owner: string, signal?: AbortSignal): Promise<void> {
    const gke = gkeTarget(target);
    const name = clusterPath(gke);
    const label = gkeLabels({ [OWNERSHIP_TAG]: owner })[OWNERSHIP_TAG] ?? owner;
    await this.clients.withClient(account, signal, async (client, options) => {
      const cluster = await getCluster(client, gke, options);
      if (cluster === null) throw new CloudError('cloud-cluster-not-found', `GKE has no cluster ${name}`);
      const found = gkeClusterOwner(cluster);
      if (found === label) return;
      if (found !== null) throw new CloudError('cloud-name-taken', `GKE cluster ${name} belongs to Flotilla cluster ${found}`);
      const resourceLabels = { ...cluster.resourceLabels, [OWNERSHIP_TAG]: label };
      await call(`labelling cluster ${name}`, () => client.setLabels({ name, resourceLabels, labelFingerprint: cluster.labelFingerprint ?? '' }, options));
    });
  }

  async findNodeGroup(account: GcpAccount, target: CloudTarget, name: string, signal?: AbortSignal): Promise<ObservedCloudNodeGroup | null> {
    const gke = gkeTarget(target);
    if (name === BOOTSTRAP_POOL) return null;
    const pool = await this.clients.withClient(account, signal, (client, options) => getPool(client, gke, name, options));
    return pool === null ? null : (await this.observed(account, gke, [pool], signal))[0] ?? null;
  }

  async listNodeGroups(account: GcpAccount, target: CloudTarget, signal?: AbortSignal): Promise<ObservedCloudNodeGroup[]> {
    const gke = gkeTarget(target);
    const parent = clusterPath(gke);
    const pools = await this.clients.withClient(account, signal, async (client, options) => {
      const cluster = await this.reads(account, client, options).cluster(gke);
      if (cluster === null) throw new CloudError('cloud-cluster-not-found', `GKE has no cluster ${parent}`);
      return (cluster.nodePools ?? []).filter((pool) => pool.name !== BOOTSTRAP_POOL);
    });
    return this.observed(account, gke, pools, signal);
  }

  /**
   * Pools as ours, each with its current size per zone from its instance groups. A pool still being
   * created is the size it was asked for (its instance groups are being made at that size): Compute
   * Engine is not asked about it, nor asked at all while every pool is.
   */
  private async observed(account: GcpAccount, gke: GkeTarget, pools: NodePool[], signal: AbortSignal | undefined): Promise<ObservedCloudNodeGroup[]> {
    const made = pools.filter((pool) => gkeObservedNodeGroup(pool).state !== 'creating');
    const sizes = made.length === 0 ? new Map<string, number>() : await this.instanceGroups.sharedTargetSizes(account, gke.projectId, made, this.changes.notBefore(clusterPath(gke)), signal);
    return pools.map((pool) => gkeObservedNodeGroup(pool, gkePoolSizePerZone(pool, sizes)));
  }

  async createNodeGroup(account: GcpAccount, target: CloudTarget, cluster: CloudClusterSpec, group: CloudNodeGroupSpec, _requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const gke = gkeTarget(target);
    const request = gkeNodePoolRequest(group, cluster);
    const owner = gkeLabels(cluster.tags)[OWNERSHIP_TAG] ?? '';
    return this.clients.withClient(account, signal, async (client, options) => {
      const reads = this.reads(account, client, options);
      const existing = (await reads.cluster(gke))?.nodePools?.find((pool) => pool.name === group.name);
      if (existing !== undefined) return resumePoolCreate(gke, existing, owner, reads);
      try {
        const [operation] = await client.createNodePool({ parent: clusterPath(gke), nodePool: request }, options);
        reads.changed(gke);
        return gkeOperationName(operation);
      } catch (error) {
        const failure = gkeError(error, `creating node pool ${poolPath(gke, group.name)}`);
        if (failure.code !== 'cloud-name-taken') throw failure;
        const raced = await getPool(client, gke, group.name, options);
        if (raced === null) throw failure;
        reads.changed(gke);
        return resumePoolCreate(gke, raced, owner, reads);
      }
    });
  }

  async scaleNodeGroup(
    account: GcpAccount,
    target: CloudTarget,
    name: string,
    size: { minSize: number; maxSize: number; desiredSize: number },
    _requestToken: string,
    signal?: AbortSignal,
  ): Promise<CloudOperation> {
    const gke = gkeTarget(target);
    const path = poolPath(gke, name);
    return this.clients.withClient(account, signal, async (client, options) => {
      const pool = await getPool(client, gke, name, options);
      if (pool === null || name === BOOTSTRAP_POOL) throw new CloudError('cloud-cluster-not-found', `GKE has no node pool ${path}`);
      // One GKE call per step: bounds first, then the size; the reconciler asks again until both match.
      const autoscaled = pool.autoscaling?.enabled === true;
      const wantAutoscaled = size.minSize < size.maxSize;
      const boundsDiffer = autoscaled !== wantAutoscaled || (wantAutoscaled && (pool.autoscaling?.minNodeCount !== size.minSize || pool.autoscaling?.maxNodeCount !== size.maxSize));
      if (boundsDiffer) {
        const autoscaling = wantAutoscaled ? { enabled: true, minNodeCount: size.minSize, maxNodeCount: size.maxSize } : { enabled: false };
        const [operation] = await call(`setting the autoscaling of ${path}`, () => client.setNodePoolAutoscaling({ name: path, autoscaling }, options));
        this.changes.changed(clusterPath(gke));
        return gkeOperationName(operation);
      }
      // The size GKE resizes to (setSize) is per zone, as the pool's instance groups hold it.
      const current = gkePoolSizePerZone(pool, await this.instanceGroups.targetSizes(account, gke.projectId, [pool], signal));
      if (current === size.desiredSize) return null;
      const [operation] = await call(`resizing ${path} to ${size.desiredSize} per zone`, () => client.setNodePoolSize({ name: path, nodeCount: size.desiredSize }, options));
      this.changes.changed(clusterPath(gke));
      return gkeOperationName(operation);
    });
  }

  async upgradeNodeGroup(account: GcpAccount, target: CloudTarget, name: string, version: string, _requestToken: string, signal?: AbortSignal): Promise<CloudOperation> {
    const gke = gkeTarget(target);
    const path = poolPath(gke, name);
    return this.clients.withClient(account, signal, async (client, options) => {
      const pool = await getPool(client, gke, name, options);
      if (pool === null) throw new CloudError('cloud-cluster-not-found', `GKE has no node pool ${path}`);
      const reads = this.reads(account, client, options);
      const running = await runningOperation(reads, gke, 'UPGRADE_NODES', name);
      if (running !== null) return running;
      if (minorOf(pool.version) === minorOf(version)) return null;
      // GKE wants the image type with every node pool update: the pool keeps its own.
      const imageType = pool.config?.imageType ?? '';
      const [operation] = await call(`upgrading ${path} to ${version}`, () => client.updateNodePool({ name: path, nodeVersion: version, imageType }, options));
      reads.changed(gke);
      return gkeOperationName(operation);
    });
  }

  async deleteNodeGroup(account: GcpAccount, target: CloudTarget, name: string, signal?: AbortSignal): Promise<CloudOperation> {
    const gke = gkeTarget(target);
    return this.clients.withClient(account, signal, async (client, options) => {
      const pool = await getPool(client, gke, name, options);
      if (pool === null) return null;
      // A pool without our label (an adopted cluster's) is deleted only from a cluster that is ours.
      if (gkePoolOwner(pool) === null) {
        const cluster = await getCluster(client, gke, options);
        if (cluster !== null) mustBeFlotillas(cluster, gke);
      }
      return dropPool(client, gke, name, undefined, options, this.reads(account, client, options));
    });
  }

  async operationStatus(account: GcpAccount, target: CloudTarget, operation: string, signal?: AbortSignal): Promise<CloudOperationStatus> {
    const gke = gkeTarget(target);
    const ref = decodeGkeOperation(operation);
    const name = `${locationPath(gke)}/operations/${ref.name}`;
    return this.clients.withClient(account, signal, async (client, options) => {
      const reads = this.reads(account, client, options);
      const listed = await reads.operations(gke);
      // Not in the list: another replica's, newer than the list, or forgotten by GKE: asked for by name.
      const found = listed.operations.find((candidate) => (candidate.name ?? '').split('/').pop() === ref.name) ?? (await getOperation(client, name, options));
      // One GKE no longer knows of is over (operations are kept for a while only).
      const status = found === null ? { done: true as const, failure: null } : gkeOperationStatus(found);
      if (!status.done || status.failure !== null || ref.then === undefined) return status;
      return followUp(client, gke, ref.then, options, reads, listed.sentAt);
    });
  }
}

/** Only a cluster with the ownership label (made by Flotilla, or adopted) is ever deleted. */
function mustBeFlotillas(cluster: Cluster, target: GkeTarget): void {
  if (gkeClusterOwner(cluster) !== null) return;
  throw new CloudError('cloud-name-taken', `GKE cluster ${clusterPath(target)} has no ${OWNERSHIP_TAG} label: it is not Flotilla's and is left alone`);
}

/** Runs one SDK call, its failure as a CloudError naming `what`. */
async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw gkeError(error, what);
  }
}

/** Null for a NOT_FOUND, the typed error for anything else. */
async function orNull<T>(what: string, run: () => Promise<T>): Promise<T | null> {
  try {
    return await run();
  } catch (error) {
    const failure = gkeError(error, what);
    if (failure.code === 'cloud-cluster-not-found') return null;
    throw failure;
  }
}

async function getCluster(client: ClusterManagerClient, target: GkeTarget, options: GkeCallOptions): Promise<Cluster | null> {
  const name = clusterPath(target);
  const found = await orNull(`cluster ${name}`, () => client.getCluster({ name }, options));
  return found === null ? null : found[0];
}

async function getPool(client: ClusterManagerClient, target: GkeTarget, pool: string, options: GkeCallOptions): Promise<NodePool | null> {
  const name = poolPath(target, pool);
  const found = await orNull(`node pool ${name}`, () => client.getNodePool({ name }, options));
  return found === null ? null : found[0];
}

async function getOperation(client: ClusterManagerClient, name: string, options: GkeCallOptions): Promise<Operation | null> {
  const found = await orNull(`operation ${name}`, () => client.getOperation({ name }, options));
  return found === null ? null : found[0];
}

/**
 * What the lifecycle reads of a location through its shared lists: never older than our last change
 * to the cluster (`changed`), nor than `after` when given.
 */
interface GkeReads {
  cluster(target: GkeTarget, after?: number): Promise<Cluster | null>;
  operations(target: GkeTarget): Promise<{ operations: Operation[]; sentAt: number }>;
  changed(target: GkeTarget): void;
}

/**
 * The name of an operation of that type on the cluster (or one of its pools) that is not over:
 * what a crashed caller started and never recorded.
 */
async function runningOperation(reads: GkeReads, target: GkeTarget, type: OperationType, pool: string | null): Promise<string | null> {
  const { operations } = await reads.operations(target);
  const suffix = pool === null ? `/clusters/${target.clusterName}` : `/clusters/${target.clusterName}/nodePools/${pool}`;
  const running = operations.find((operation) => operationType(operation.operationType) === type && (operation.targetLink ?? '').endsWith(suffix) && !isDone(operation));
  return running === undefined ? null : gkeOperationName(running);
}

/** An operation of that type on the resource, over or not (the create of a cluster found running). */
async function latestOperation(reads: GkeReads, target: GkeTarget, type: OperationType): Promise<string | null> {
  const { operations } = await reads.operations(target);
  const suffix = `/clusters/${target.clusterName}`;
  const matching = operations.filter((operation) => operationType(operation.operationType) === type && (operation.targetLink ?? '').endsWith(suffix));
  const last = matching.at(-1);
  return last === undefined ? null : gkeOperationName(last);
}

/** A cluster of our name exists: ours is resumed (its create waited on again), anyone else's refused. */
async function resumeCreate(client: ClusterManagerClient, target: GkeTarget, cluster: Cluster, owner: string, options: GkeCallOptions, reads: GkeReads): Promise<CloudOperation> {
  const found = gkeClusterOwner(cluster);
  if (found !== owner) {
    throw new CloudError('cloud-name-taken', `GKE cluster ${clusterPath(target)} exists and ${found === null ? `has no ${OWNERSHIP_TAG} label` : `belongs to Flotilla cluster ${found}`}`, 'cloud');
  }
  const hasBootstrap = (cluster.nodePools ?? []).some((pool) => pool.name === BOOTSTRAP_POOL);
  // Created with its node pools: done, or its create is waited on again.
  if (!hasBootstrap && gkeStatus(cluster.status) !== 'PROVISIONING') return null;
  const create = await latestOperation(reads, target, 'CREATE_CLUSTER');
  if (create !== null) return hasBootstrap ? encodeGkeOperation({ name: create, then: 'drop-bootstrap' }) : create;
  if (!hasBootstrap) return null;
  // Its create is forgotten by GKE: drop the bootstrap pool now, if the cluster runs already.
  return gkeStatus(cluster.status) === 'RUNNING' ? dropPool(client, target, BOOTSTRAP_POOL, undefined, options, reads) : null;
}

async function resumePoolCreate(target: GkeTarget, pool: NodePool, owner: string, reads: GkeReads): Promise<CloudOperation> {
  const found = gkePoolOwner(pool);
  if (found !== owner) {
    throw new CloudError('cloud-name-taken', `GKE node pool ${poolPath(target, pool.name ?? '')} exists and ${found === null ? `has no ${OWNERSHIP_TAG} label` : `belongs to Flotilla cluster ${found}`}`, 'nodePools');
  }
  return runningOperation(reads, target, 'CREATE_NODE_POOL', pool.name ?? '');
}

/** Deletes a pool (waiting on a delete already under way), then maybe the follow-up. */
async function dropPool(client: ClusterManagerClient, target: GkeTarget, pool: string, then: GkeFollowUp | undefined, options: GkeCallOptions, reads: GkeReads): Promise<CloudOperation> {
  const running = await runningOperation(reads, target, 'DELETE_NODE_POOL', pool);
  if (running !== null) return encodeGkeOperation(then === undefined ? { name: running } : { name: running, then });
  const name = poolPath(target, pool);
  const deleted = await orNull(`deleting node pool ${name}`, () => client.deleteNodePool({ name }, options));
  reads.changed(target);
  if (deleted === null) return then === 'delete-cluster' ? deleteClusterNow(client, target, options, reads) : null;
  const operation = gkeOperationName(deleted[0]);
  return encodeGkeOperation(then === undefined ? { name: operation } : { name: operation, then });
}

async function deleteClusterNow(client: ClusterManagerClient, target: GkeTarget, options: GkeCallOptions, reads: GkeReads): Promise<CloudOperation> {
  const name = clusterPath(target);
  const deleted = await orNull(`deleting cluster ${name}`, () => client.deleteCluster({ name }, options));
  reads.changed(target);
  return deleted === null ? null : gkeOperationName(deleted[0]);
}

/**
 * The second half of a call of ours, once GKE's first operation is over: started if it is not, and
 * done when GKE shows it done. A conflict with an operation GKE is still running is waited out.
 */
async function followUp(client: ClusterManagerClient, target: GkeTarget, then: GkeFollowUp, options: GkeCallOptions, reads: GkeReads, after: number): Promise<CloudOperationStatus> {
  // The cluster as it was once the operation was seen over, at least.
  const cluster = await reads.cluster(target, after);
  if (cluster === null) return { done: true, failure: null };
  const pending = { done: false } as const;
  try {
    switch (then) {
      case 'drop-bootstrap': {
        const bootstrap = (cluster.nodePools ?? []).find((pool) => pool.name === BOOTSTRAP_POOL);
        if (bootstrap === undefined) return { done: true, failure: null };
        const observed = gkeObservedNodeGroup(bootstrap);
        if (observed.state === 'failed') return { done: true, failure: `the bootstrap node pool failed: ${observed.failure ?? 'no message'}` };
        // Already being deleted: wait, without listing the location's operations at every poll.
        const startedNow = observed.state !== 'deleting';
        if (startedNow) await dropPool(client, target, BOOTSTRAP_POOL, undefined, options, reads);
        return { done: false, followUp: { operation: 'delete-node-group', startedNow } };
      }
      case 'delete-cluster': {
        const startedNow = gkeStatus(cluster.status) !== 'STOPPING';
        if (startedNow) await deleteClusterNow(client, target, options, reads);
        return { done: false, followUp: { operation: 'delete-cluster', startedNow } };
      }
    }
  } catch (error) {
    if (error instanceof CloudError && isGkeConflict(error)) return pending;
    throw error;
  }
}
