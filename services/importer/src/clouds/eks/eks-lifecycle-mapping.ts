import type {
  Cluster,
  ClusterVersionInformation,
  CreateClusterRequest,
  CreateNodegroupRequest,
  Nodegroup,
  Taint,
  TaintEffect,
  Update,
} from '@aws-sdk/client-eks';
import { CloudError, cloudFailureCode, type CloudErrorCode } from '../errors.js';
import {
  OWNERSHIP_TAG,
  type CloudClusterSpec,
  type CloudNetworking,
  type CloudNodeGroupSpec,
  type CloudOperationStatus,
  type CloudPlace,
  type CloudResourceState,
  type CloudTaint,
  type CloudTarget,
  type ObservedCloudCluster,
  type ObservedCloudNodeGroup,
} from '../lifecycle.js';

type EksNetworking = Extract<CloudNetworking, { provider: 'eks' }>;

/** The region of a place meant for EKS; a place of another cloud is a caller's mistake, named. */
export function eksRegionOf(place: CloudPlace): string {
  if (place.provider !== 'eks') throw new CloudError('cloud-location-invalid', `an EKS call was given a ${place.provider} place`, 'cloud.provider');
  if (place.region.trim() === '') throw new CloudError('cloud-location-invalid', 'region is required for eks', 'cloud.region');
  return place.region;
}

/** `1.31.4`, `1.31`, `v1.31.4-eks-...` → `1.31`; null when it is no version. */
export function minorOf(version: string): string | null {
  const match = /^v?(\d+)\.(\d+)(?:\.|$|-)/.exec(version.trim());
  return match ? `${Number(match[1])}.${Number(match[2])}` : null;
}

const byVersion = (a: string, b: string): number => {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor - bMajor || aMinor - bMinor;
};

/** DescribeClusterVersions' answer as the `major.minor` versions a new cluster may have, oldest first. */
export function offeredEksVersions(versions: ClusterVersionInformation[]): string[] {
  const offered = versions
    // Past extended support AWS no longer creates clusters of that version.
    .filter((version) => (version.versionStatus ?? version.status) !== 'UNSUPPORTED' && version.status !== 'unsupported')
    .map((version) => minorOf(version.clusterVersion ?? ''))
    .filter((version): version is string => version !== null);
  return [...new Set(offered)].sort(byVersion);
}

/** A cluster status word as a lifecycle state (PENDING is a registered or Outposts cluster still coming up). */
export function eksClusterState(status: string | undefined, name: string): CloudResourceState {
  switch (status) {
    case 'CREATING':
    case 'PENDING':
      return 'creating';
    case 'ACTIVE':
      return 'ready';
    case 'UPDATING':
      return 'updating';
    case 'DELETING':
      return 'deleting';
    case 'FAILED':
      return 'failed';
    default:
      throw new CloudError('cloud-response-invalid', `EKS cluster "${name}" has an unknown status ${status ?? '(none)'}`);
  }
}

/**
 * A node group status word as a lifecycle state. DEGRADED is failed: EKS says so when the group
 * cannot keep its nodes (a missing role, an instance type the zone has no capacity of), and it
 * does not heal by waiting.
 */
export function eksNodegroupState(status: string | undefined, name: string): CloudResourceState {
  switch (status) {
    case 'CREATING':
      return 'creating';
    case 'ACTIVE':
      return 'ready';
    case 'UPDATING':
      return 'updating';
    case 'DELETING':
      return 'deleting';
    case 'CREATE_FAILED':
    case 'DELETE_FAILED':
    case 'DEGRADED':
      return 'failed';
    default:
      throw new CloudError('cloud-response-invalid', `EKS node group "${name}" has an unknown status ${status ?? '(none)'}`);
  }
}

/** Health issues (`code: message`) as one failure text; the status word alone when EKS gave none. */
function failureText(status: string, issues: { code?: string | undefined; message?: string | undefined }[] | undefined): string {
  const said = (issues ?? []).map((issue) => [issue.code, issue.message].filter(Boolean).join(': ')).filter((text) => text !== '');
  return said.length > 0 ? said.join('; ') : status;
}

/** The failure typed from the first issue or error code EKS gives, with every message. */
function failureCodeOf(issues: { code?: string | undefined; message?: string | undefined }[] | undefined): CloudErrorCode {
  const said = issues ?? [];
  return cloudFailureCode(said.find((issue) => issue.code)?.code, said.map((issue) => issue.message ?? '').join(' '));
}

export function observedEksCluster(cluster: Cluster): ObservedCloudCluster {
  const name = cluster.name ?? '?';
  const state = eksClusterState(cluster.status, name);
  return {
    state,
    version: cluster.version ?? '',
    endpoint: cluster.endpoint ?? null,
    owner: cluster.tags?.[OWNERSHIP_TAG] ?? null,
    failure: state === 'failed' ? failureText(cluster.status ?? 'FAILED', cluster.health?.issues) : null,
    ...(state === 'failed' ? { failureCode: failureCodeOf(cluster.health?.issues) } : {}),
  };
}

export function observedEksNodegroup(nodegroup: Nodegroup): ObservedCloudNodeGroup {
  const name = nodegroup.nodegroupName ?? '?';
  const state = eksNodegroupState(nodegroup.status, name);
  return {
    name,
    state,
    version: nodegroup.version ?? null,
    instanceType: nodegroup.instanceTypes?.[0] ?? null,
    minSize: nodegroup.scalingConfig?.minSize ?? 0,
    maxSize: nodegroup.scalingConfig?.maxSize ?? 0,
    desiredSize: nodegroup.scalingConfig?.desiredSize ?? 0,
    failure: state === 'failed' ? failureText(nodegroup.status ?? 'FAILED', nodegroup.health?.issues) : null,
    ...(state === 'failed' ? { failureCode: failureCodeOf(nodegroup.health?.issues) } : {}),
  };
}

/** The owner tag of a node group, null when it has none. */
export function eksNodegroupOwner(nodegroup: Nodegroup): string | null {
  return nodegroup.tags?.[OWNERSHIP_TAG] ?? null;
}

/** How an update (DescribeUpdate) stands: InProgress, or done with EKS's errors as the failure. */
export function eksUpdateStatus(update: Update): CloudOperationStatus {
  switch (update.status) {
    case 'InProgress':
      return { done: false };
    case 'Successful':
      return { done: true, failure: null };
    case 'Failed': {
      const errors = update.errors?.map((error) => ({ code: error.errorCode, message: error.errorMessage }));
      return { done: true, failure: failureText(`update ${update.id ?? '?'} failed`, errors), code: failureCodeOf(errors) };
    }
    case 'Cancelled':
      return { done: true, failure: `update ${update.id ?? '?'} was cancelled`, code: 'cloud-failed' };
    default:
      throw new CloudError('cloud-response-invalid', `EKS update "${update.id ?? '?'}" has an unknown status ${update.status ?? '(none)'}`);
  }
}

/**
 * An EKS update as a CloudOperation. DescribeUpdate needs the node group's name for a node group's
 * update, so it is kept with the id: `cluster/<id>` or `nodegroup/<name>/<id>`.
 */
export type EksOperation = { updateId: string; nodegroupName?: string };

export function eksOperation(update: Update | undefined, what: string, nodegroupName?: string): string {
  if (!update?.id) throw new CloudError('cloud-response-invalid', `EKS ${what} answered no update id`);
  return nodegroupName === undefined ? `cluster/${update.id}` : `nodegroup/${nodegroupName}/${update.id}`;
}

export function parseEksOperation(operation: string): EksOperation {
  const cluster = /^cluster\/([^/]+)$/.exec(operation);
  if (cluster?.[1] !== undefined) return { updateId: cluster[1] };
  const nodegroup = /^nodegroup\/([^/]+)\/([^/]+)$/.exec(operation);
  if (nodegroup?.[1] !== undefined && nodegroup[2] !== undefined) return { nodegroupName: nodegroup[1], updateId: nodegroup[2] };
  throw new CloudError('cloud-response-invalid', `"${operation}" is not an EKS operation (cluster/<update id> or nodegroup/<name>/<update id>)`);
}

function taintEffect(effect: CloudTaint['effect']): TaintEffect {
  switch (effect) {
    case 'NoSchedule':
      return 'NO_SCHEDULE';
    case 'PreferNoSchedule':
      return 'PREFER_NO_SCHEDULE';
    case 'NoExecute':
      return 'NO_EXECUTE';
  }
}

export function eksTaint(taint: CloudTaint): Taint {
  return { key: taint.key, ...(taint.value === undefined ? {} : { value: taint.value }), effect: taintEffect(taint.effect) };
}

/** The EKS networking of a spec, and the ownership tag it must carry; every problem at once, by field. */
function checkedSpec(spec: CloudClusterSpec): EksNetworking {
  const networking = spec.networking;
  if (networking.provider !== 'eks') throw new CloudError('cloud-location-invalid', `an EKS cluster was given ${networking.provider} networking`, 'cloud.networking');
  const problems: [field: string, problem: string][] = [];
  if (networking.subnetIds.length < 2) problems.push(['cloud.networking.subnetIds', 'needs subnets in two availability zones at least']);
  if (networking.clusterRoleArn.trim() === '') problems.push(['cloud.networking.clusterRoleArn', 'is required']);
  if (networking.nodeRoleArn.trim() === '') problems.push(['cloud.networking.nodeRoleArn', 'is required']);
  // What Flotilla creates is found again (and told from others') by this tag: never create without it.
  if ((spec.tags[OWNERSHIP_TAG] ?? '').trim() === '') problems.push([`cloud.tags.${OWNERSHIP_TAG}`, 'must be the cluster id']);
  const [first] = problems;
  if (first !== undefined) throw new CloudError('cloud-location-invalid', problems.map(([field, problem]) => `${field} ${problem}`).join('; '), first[0]);
  return networking;
}

/**
 * CreateCluster for a target and spec. The creator's identity (the stored account) is made a
 * cluster admin (an access entry, `bootstrapClusterCreatorAdminPermissions`) so the importer can
 * reach the cluster with the same account once it is ready.
 */
export function eksCreateClusterRequest(target: CloudTarget, spec: CloudClusterSpec, requestToken: string): CreateClusterRequest {
  const networking = checkedSpec(spec);
  return {
    name: target.clusterName,
    version: spec.kubernetesVersion,
    roleArn: networking.clusterRoleArn,
    resourcesVpcConfig: {
      subnetIds: networking.subnetIds,
      securityGroupIds: networking.securityGroupIds,
      endpointPublicAccess: spec.endpointAccess === 'public',
      // Nodes reach a private endpoint inside the VPC; a public one they reach like anyone.
      endpointPrivateAccess: spec.endpointAccess === 'private',
    },
    accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP', bootstrapClusterCreatorAdminPermissions: true },
    tags: spec.tags,
    clientRequestToken: requestToken,
  };
}

/** CreateNodegroup for a group of a cluster; its version follows the control plane's. */
export function eksCreateNodegroupRequest(target: CloudTarget, cluster: CloudClusterSpec, group: CloudNodeGroupSpec, requestToken: string): CreateNodegroupRequest {
  const networking = checkedSpec(cluster);
  return {
    clusterName: target.clusterName,
    nodegroupName: group.name,
    scalingConfig: { minSize: group.minSize, maxSize: group.maxSize, desiredSize: group.desiredSize },
    instanceTypes: [group.instanceType],
    subnets: networking.subnetIds,
    nodeRole: networking.nodeRoleArn,
    labels: group.labels,
    taints: group.taints.map(eksTaint),
    tags: cluster.tags,
    clientRequestToken: requestToken,
  };
}
