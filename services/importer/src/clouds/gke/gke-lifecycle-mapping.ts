import { protos } from '@google-cloud/container';
import { CloudError, cloudFailureCode } from '../errors.js';
import {
  OWNERSHIP_TAG,
  type CloudClusterSpec,
  type CloudNodeGroupSpec,
  type CloudOperationStatus,
  type CloudResourceState,
  type CloudTaint,
  type ObservedCloudCluster,
  type ObservedCloudNodeGroup,
} from '../lifecycle.js';
import { gkeStatus } from './gke-mapping.js';

type Cluster = protos.google.container.v1.ICluster;
type NodePool = protos.google.container.v1.INodePool;
type Operation = protos.google.container.v1.IOperation;

const present = (value: string | null | undefined): string | null => (value === undefined || value === null || value === '' ? null : value);

/**
 * GKE creates no cluster without a node pool, and Flotilla creates the control plane first: the
 * cluster is created with this one-node pool, which is deleted as soon as the cluster runs (what
 * Terraform's `remove_default_node_pool` does). It is never shown as one of the cluster's groups.
 */
export const BOOTSTRAP_POOL = 'flotilla-bootstrap';
const BOOTSTRAP_MACHINE_TYPE = 'e2-small';
/** The control plane's range of a private cluster (a /28 GKE peers into the network). */
const PRIVATE_MASTER_CIDR = '172.16.0.0/28';

/** Cluster (control plane) status words: PROVISIONING, RUNNING, RECONCILING, STOPPING, ERROR, DEGRADED. */
export function gkeClusterState(status: string): CloudResourceState {
  switch (status) {
    case 'PROVISIONING':
      return 'creating';
    case 'RUNNING':
      return 'ready';
    case 'RECONCILING':
      return 'updating';
    case 'STOPPING':
      return 'deleting';
    // DEGRADED: "needs user action to be resolved" in GKE's words.
    case 'ERROR':
    case 'DEGRADED':
      return 'failed';
    default:
      throw new CloudError('cloud-response-invalid', `GKE answered the unknown cluster status "${status}"`);
  }
}

/** Node pool status words: the cluster's plus RUNNING_WITH_ERROR (created, partly usable). */
export function gkeNodePoolState(status: string): CloudResourceState {
  return status === 'RUNNING_WITH_ERROR' ? 'failed' : gkeClusterState(status);
}

const poolStatus = (status: NodePool['status']): string =>
  typeof status === 'number' ? (protos.google.container.v1.NodePool.Status[status] ?? 'STATUS_UNSPECIFIED') : (status ?? 'STATUS_UNSPECIFIED');

export function gkeObservedCluster(cluster: Cluster): ObservedCloudCluster {
  const status = gkeStatus(cluster.status);
  let state = gkeClusterState(status);
  // Running with the bootstrap pool still there: the create is not over until it is gone.
  if (state === 'ready' && (cluster.nodePools ?? []).some((pool) => pool.name === BOOTSTRAP_POOL)) state = 'creating';
  const endpoint = present(cluster.endpoint);
  return {
    state,
    version: present(cluster.currentMasterVersion) ?? present(cluster.initialClusterVersion) ?? '',
    // The API gives the control plane's IP (or DNS name) without scheme.
    endpoint: endpoint === null ? null : `https://${endpoint}`,
    owner: gkeClusterOwner(cluster),
    failure: state === 'failed' ? (present(cluster.statusMessage) ?? conditionsMessage(cluster.conditions) ?? status) : null,
    ...(state === 'failed' ? { failureCode: cloudFailureCode(undefined, present(cluster.statusMessage) ?? conditionsMessage(cluster.conditions) ?? '') } : {}),
  };
}

const conditionsMessage = (conditions: { message?: string | null }[] | null | undefined): string | null =>
  present((conditions ?? []).map((condition) => condition.message ?? '').filter((message) => message !== '').join('; '));

/**
 * A node pool as ours. Sizes are GKE's own, per zone: `perZone`, its current size (its instance
 * groups', `gke-instance-groups.ts`; the size it was created with when not known), and the
 * autoscaler's bounds when it is on.
 */
export function gkeObservedNodeGroup(pool: NodePool, perZone = pool.initialNodeCount ?? 0): ObservedCloudNodeGroup {
  const status = poolStatus(pool.status);
  const state = gkeNodePoolState(status);
  const count = perZone;
  const autoscaled = pool.autoscaling?.enabled === true;
  return {
    name: pool.name ?? '',
    state,
    version: present(pool.version),
    instanceType: present(pool.config?.machineType),
    minSize: autoscaled ? (pool.autoscaling?.minNodeCount ?? 0) : count,
    maxSize: autoscaled ? (pool.autoscaling?.maxNodeCount ?? 0) : count,
    desiredSize: count,
    nodes: count * Math.max(1, pool.locations?.length ?? 0),
    failure: state === 'failed' ? (present(pool.statusMessage) ?? conditionsMessage(pool.conditions) ?? status) : null,
    ...(state === 'failed' ? { failureCode: cloudFailureCode(undefined, present(pool.statusMessage) ?? conditionsMessage(pool.conditions) ?? '') } : {}),
  };
}

export const gkePoolOwner = (pool: NodePool): string | null => present(pool.config?.resourceLabels?.[OWNERSHIP_TAG]);
export function gkeClusterOwner(cluster: Cluster): string | null {
  return present(cluster.resourceLabels?.[OWNERSHIP_TAG]);
}

/** `major.minor` of each version GKE offers for control planes (`1.31.5-gke.1233000` -> `1.31`), oldest first. */
export function gkeOfferedMinors(validMasterVersions: string[]): string[] {
  const minors = new Set<string>();
  for (const version of validMasterVersions) {
    const match = /^(\d+)\.(\d+)(\.|$)/.exec(version);
    if (match) minors.add(`${match[1]}.${match[2]}`);
  }
  return [...minors].sort((a, b) => {
    const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
    const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
    return aMajor - bMajor || aMinor - bMinor;
  });
}

/**
 * Tags as GKE labels: keys and values of lower-case letters, digits, `_` and `-`, at most 63
 * characters, keys starting with a letter. Other characters become `_` and upper case lower case,
 * so a tag is kept in a form GKE takes instead of failing the create.
 */
export function gkeLabels(tags: Record<string, string>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    let labelKey = key.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63);
    if (!/^[a-z]/.test(labelKey)) labelKey = `t${labelKey}`.slice(0, 63);
    labels[labelKey] = value.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 63);
  }
  return labels;
}

const TAINT_EFFECTS: Record<CloudTaint['effect'], protos.google.container.v1.NodeTaint.Effect> = {
  NoSchedule: protos.google.container.v1.NodeTaint.Effect.NO_SCHEDULE,
  PreferNoSchedule: protos.google.container.v1.NodeTaint.Effect.PREFER_NO_SCHEDULE,
  NoExecute: protos.google.container.v1.NodeTaint.Effect.NO_EXECUTE,
};

/**
 * The create request's cluster: control plane, network, labels, and our node pools, created with
 * it in one operation; with none asked for, the bootstrap pool GKE insists on (dropped after).
 */
export function gkeClusterRequest(name: string, spec: CloudClusterSpec, groups: readonly CloudNodeGroupSpec[] = []): Cluster {
  if (spec.networking.provider !== 'gke') throw new CloudError('cloud-location-invalid', `GKE cluster ${name} was given ${spec.networking.provider} networking`, 'cloud.networking');
  const labels = gkeLabels(spec.tags);
  const owner = labels[OWNERSHIP_TAG];
  if (owner === undefined) throw new CloudError('cloud-location-invalid', `GKE cluster ${name} has no ${OWNERSHIP_TAG} tag`, 'cloud.tags');
  return {
    name,
    description: 'Created and managed by Flotilla',
    initialClusterVersion: spec.kubernetesVersion,
    network: spec.networking.network,
    subnetwork: spec.networking.subnetwork,
    resourceLabels: labels,
    // VPC-native (alias IPs): required for private clusters, GKE's default for new ones.
    ipAllocationPolicy: { useIpAliases: true },
    // No release channel: GKE would otherwise upgrade the control plane behind the version policy.
    releaseChannel: { channel: protos.google.container.v1.ReleaseChannel.Channel.UNSPECIFIED },
    ...(spec.endpointAccess === 'private' ? { privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: true, masterIpv4CidrBlock: PRIVATE_MASTER_CIDR } } : {}),
    nodePools:
      groups.length > 0
        ? groups.map((group) => gkeNodePoolRequest(group, spec))
        : [
            {
              name: BOOTSTRAP_POOL,
              initialNodeCount: 1,
              config: { machineType: BOOTSTRAP_MACHINE_TYPE, resourceLabels: { [OWNERSHIP_TAG]: owner } },
              management: { autoUpgrade: false, autoRepair: true },
            },
          ],
  };
}

/** A node pool as we ask for it: sizes per zone, autoscaled when min < max, labelled as ours. */
export function gkeNodePoolRequest(group: CloudNodeGroupSpec, cluster: CloudClusterSpec): NodePool {
  if (group.name === BOOTSTRAP_POOL) throw new CloudError('cloud-name-taken', `the node group name ${BOOTSTRAP_POOL} is the one Flotilla gives a GKE cluster while it is created`, 'nodePools');
  return {
    name: group.name,
    initialNodeCount: group.desiredSize,
    config: {
      machineType: group.instanceType,
      labels: group.labels,
      taints: group.taints.map((taint) => ({ key: taint.key, value: taint.value ?? '', effect: TAINT_EFFECTS[taint.effect] })),
      resourceLabels: gkeLabels(cluster.tags),
    },
    ...(group.minSize < group.maxSize ? { autoscaling: { enabled: true, minNodeCount: group.minSize, maxNodeCount: group.maxSize } } : {}),
    // Upgrades are Flotilla's to make, under the version policy.
    management: { autoUpgrade: false, autoRepair: true },
  };
}

/** What is left to do once a GKE operation is over, kept in the operation we hand out. */
export type GkeFollowUp = 'drop-bootstrap' | 'delete-cluster';

export interface GkeOperationRef {
  /** The operation's name (`operation-1733...-abcd`), under the target's project and location. */
  name: string;
  then?: GkeFollowUp;
}

const FOLLOW_UPS: readonly GkeFollowUp[] = ['drop-bootstrap', 'delete-cluster'];

/** The CloudOperation of a GKE operation: its name, plus `;then=<follow-up>` when one remains. */
export function encodeGkeOperation(ref: GkeOperationRef): string {
  return ref.then === undefined ? ref.name : `${ref.name};then=${ref.then}`;
}

export function decodeGkeOperation(operation: string): GkeOperationRef {
  const [name = '', follow, ...rest] = operation.split(';');
  const then = follow === undefined ? undefined : follow.replace(/^then=/, '');
  if (!/^[a-z0-9-]+$/i.test(name) || rest.length > 0 || (then !== undefined && !(FOLLOW_UPS as readonly string[]).includes(then))) {
    throw new CloudError('cloud-response-invalid', `"${operation}" is not a GKE operation of Flotilla's`);
  }
  return then === undefined ? { name } : { name, then: then as GkeFollowUp };
}

const operationStatusWord = (status: Operation['status']): string =>
  typeof status === 'number' ? (protos.google.container.v1.Operation.Status[status] ?? 'STATUS_UNSPECIFIED') : (status ?? 'STATUS_UNSPECIFIED');

/** google.rpc.Code numbers of operation errors, as their words. */
const RPC_CODES: Record<number, string> = { 3: 'INVALID_ARGUMENT', 5: 'NOT_FOUND', 7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED', 9: 'FAILED_PRECONDITION', 13: 'INTERNAL', 14: 'UNAVAILABLE' };

/** PENDING / RUNNING / ABORTING are under way; DONE carries an error when it failed, typed from its code and message. */
export function gkeOperationStatus(operation: Operation): CloudOperationStatus {
  if (operationStatusWord(operation.status) !== 'DONE') return { done: false };
  const failure = present(operation.error?.message) ?? (operation.error?.code ? `status ${operation.error.code}` : null) ?? present(operation.statusMessage);
  return failure === null ? { done: true, failure } : { done: true, failure, code: cloudFailureCode(RPC_CODES[operation.error?.code ?? 0], failure) };
}

/** The operation's short name from what the API answered (its `name`, or the end of its `selfLink`). */
export function gkeOperationName(operation: Operation): string {
  const name = present(operation.name) ?? present(operation.selfLink?.split('/').pop());
  if (name === null) throw new CloudError('cloud-response-invalid', 'GKE answered an operation without a name');
  return name.split('/').pop() ?? name;
}
