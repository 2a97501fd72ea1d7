import type { Reason } from '@flotilla/contracts';
import type { CloudNodeGroupSpec, CloudOperationStatus, ObservedCloudCluster, ObservedCloudNodeGroup } from '../clouds/lifecycle.js';
import { compareMinor, minorOf, type ManagedCluster } from './managed-cluster.js';

/** What the cloud has now: read before every step, so a restart resumes from here. */
export interface Observation {
  /** How the operation the cluster waits on stands, when it waits on one. */
  operation?: CloudOperationStatus;
  cluster: ObservedCloudCluster | null;
  nodeGroups: ObservedCloudNodeGroup[];
}

export type NodeGroupSize = { minSize: number; maxSize: number; desiredSize: number };

/** The one thing to do next. Steps that start cloud work name themselves (`key`): the key makes the request token. */
export type Step =
  | { kind: 'check-version' }
  | { kind: 'create-cluster' }
  | { kind: 'create-node-group'; group: CloudNodeGroupSpec }
  | { kind: 'scale-node-group'; name: string; size: NodeGroupSize }
  | { kind: 'upgrade-cluster'; version: string }
  | { kind: 'upgrade-node-group'; name: string; version: string }
  | { kind: 'delete-node-group'; name: string }
  | { kind: 'delete-cluster' }
  /** Nothing to start: the cloud is at work. `on` says on what, for people. */
  | { kind: 'wait'; on: string }
  /** The work is finished. */
  | { kind: 'done'; nodeCount: number; version: string; endpoint: string | null }
  /** The work cannot finish: permanent, with reasons naming what. */
  | { kind: 'fail'; reasons: Reason[] };

/** The name of a step that starts cloud work, unique within one request of one cluster. */
export function stepKey(step: Step): string {
  switch (step.kind) {
    case 'create-node-group':
      return `create-node-group/${step.group.name}`;
    case 'scale-node-group':
      return `scale-node-group/${step.name}/${step.size.desiredSize}`;
    case 'upgrade-cluster':
      return `upgrade-cluster/${step.version}`;
    case 'upgrade-node-group':
      return `upgrade-node-group/${step.name}/${step.version}`;
    case 'delete-node-group':
      return `delete-node-group/${step.name}`;
    case 'check-version':
    case 'create-cluster':
    case 'delete-cluster':
    case 'wait':
    case 'done':
    case 'fail':
      return step.kind;
  }
}

const reason = (code: string, message: string, field?: string): Reason => (field === undefined ? { code, message } : { code, message, field });

/**
 * The next step of a managed cluster's work, from what is wanted and what the cloud has. Pure:
 * the reconciler observes, asks this, does the step, and asks again. An operation in flight is
 * waited on; a resource already there is not created again (the create of a crashed replica
 * shows as a resource being created); one there without our tag is someone else's.
 */
export function decideNextStep(cluster: ManagedCluster, observed: Observation): Step {
  if (cluster.operation !== null && observed.operation !== undefined) {
    if (!observed.operation.done) return { kind: 'wait', on: `operation ${cluster.operation} (${cluster.step ?? 'unknown step'})` };
    if (observed.operation.failure !== null) return { kind: 'fail', reasons: [reason('cloud-operation-failed', `${cluster.step ?? 'the operation'} failed at ${cluster.provider}: ${observed.operation.failure}`)] };
  }
  const work = cluster.work;
  if (work === null) return { kind: 'wait', on: 'nothing: no work' };
  switch (work.kind) {
    case 'create':
      return nextCreateStep(cluster, observed);
    case 'scale':
      return nextScaleStep(cluster, observed, work.pool);
    case 'upgrade':
      return nextUpgradeStep(cluster, observed, work.toVersion);
    case 'delete':
      return nextDeleteStep(cluster, observed);
  }
}

/** The cluster ours and usable, or the step that says why not. */
function clusterReady(cluster: ManagedCluster, observed: ObservedCloudCluster | null): Step | ObservedCloudCluster {
  if (observed === null) return { kind: 'fail', reasons: [reason('cloud-cluster-not-found', `${cluster.provider} has no cluster ${cluster.cloudName} any more`)] };
  if (!owns(cluster, observed)) return nameTaken(cluster, observed);
  switch (observed.state) {
    case 'ready':
      return observed;
    case 'failed':
      return { kind: 'fail', reasons: [reason('cloud-resource-failed', `cluster ${cluster.cloudName} failed at ${cluster.provider}: ${observed.failure ?? 'no message'}`)] };
    case 'creating':
    case 'updating':
    case 'deleting':
      return { kind: 'wait', on: `cluster ${cluster.cloudName} ${observed.state}` };
  }
}

/** Ours: it carries our tag, or it was adopted (an imported cluster has no tag of ours, and is ours all the same). */
const owns = (cluster: ManagedCluster, observed: ObservedCloudCluster) => cluster.adopted || observed.owner === cluster.id;

function nameTaken(cluster: ManagedCluster, observed: ObservedCloudCluster): Step {
  const whose = observed.owner === null ? 'carries no flotilla-cluster-id tag' : `belongs to Flotilla cluster ${observed.owner}`;
  return { kind: 'fail', reasons: [reason('cloud-name-taken', `a cluster named ${cluster.cloudName} already exists at ${cluster.provider} and ${whose}`, 'cloud')] };
}

const isStep = (value: Step | ObservedCloudCluster): value is Step => 'kind' in value;

const nodeCountOf = (groups: ObservedCloudNodeGroup[]) => groups.reduce((sum, group) => sum + (group.nodes ?? group.desiredSize), 0);

const done = (cluster: ObservedCloudCluster, groups: ObservedCloudNodeGroup[]): Step => ({ kind: 'done', nodeCount: nodeCountOf(groups), version: cluster.version, endpoint: cluster.endpoint });

function groupFailed(cluster: ManagedCluster, group: ObservedCloudNodeGroup): Step {
  return {
    kind: 'fail',
    reasons: [reason('cloud-resource-failed', `node group ${group.name} of ${cluster.cloudName} failed at ${cluster.provider}: ${group.failure ?? 'no message'}`, 'nodePools')],
  };
}

function nextCreateStep(cluster: ManagedCluster, observed: Observation): Step {
  if (observed.cluster === null) return cluster.versionOffered ? { kind: 'create-cluster' } : { kind: 'check-version' };
  // Ours and still being created, with no handle of the create held (a crash, a new generation): the
  // create is asked again, which every lifecycle takes as resuming it. GKE's create ends only when its
  // bootstrap pool is dropped, and that follow-up lives in the handle: without it, creating forever.
  if (cluster.operation === null && cluster.step !== 'create-cluster' && observed.cluster.state === 'creating' && owns(cluster, observed.cluster)) {
    return { kind: 'create-cluster' };
  }
  const ready = clusterReady(cluster, observed.cluster);
  if (isStep(ready)) return ready;
  const byName = new Map(observed.nodeGroups.map((group) => [group.name, group]));
  // One node group started per step, each as soon as the control plane is ready: they come up side by side.
  for (const wanted of cluster.nodeGroups) {
    if (!byName.has(wanted.name)) return { kind: 'create-node-group', group: wanted };
  }
  for (const wanted of cluster.nodeGroups) {
    const group = byName.get(wanted.name);
    if (group === undefined) continue;
    if (group.state === 'failed') return groupFailed(cluster, group);
    if (group.state !== 'ready') return { kind: 'wait', on: `node group ${group.name} ${group.state}` };
  }
  return done(ready, observed.nodeGroups);
}

function nextScaleStep(cluster: ManagedCluster, observed: Observation, pool: string): Step {
  const ready = clusterReady(cluster, observed.cluster);
  if (isStep(ready)) return ready;
  const wanted = cluster.nodeGroups.find((group) => group.name === pool);
  const group = observed.nodeGroups.find((candidate) => candidate.name === pool);
  if (wanted === undefined || group === undefined) {
    return { kind: 'fail', reasons: [reason('node-pool-not-found', `${cluster.provider} cluster ${cluster.cloudName} has no node group ${pool}`, 'pool')] };
  }
  if (group.state === 'failed') return groupFailed(cluster, group);
  if (group.state !== 'ready') return { kind: 'wait', on: `node group ${pool} ${group.state}` };
  if (group.desiredSize !== wanted.desiredSize || group.minSize !== wanted.minSize || group.maxSize !== wanted.maxSize) {
    return { kind: 'scale-node-group', name: pool, size: { minSize: wanted.minSize, maxSize: wanted.maxSize, desiredSize: wanted.desiredSize } };
  }
  return done(ready, observed.nodeGroups);
}

function nextUpgradeStep(cluster: ManagedCluster, observed: Observation, toVersion: string): Step {
  const ready = clusterReady(cluster, observed.cluster);
  if (isStep(ready)) return ready;
  const target = minorOf(toVersion) ?? toVersion;
  const current = minorOf(ready.version);
  if (current === null) return { kind: 'fail', reasons: [reason('cloud-response-invalid', `${cluster.provider} reports version "${ready.version}" for ${cluster.cloudName}`)] };
  // The control plane first, then each node group: kubelets never run ahead of their API server.
  if (compareMinor(current, target) < 0) return { kind: 'upgrade-cluster', version: target };
  for (const group of observed.nodeGroups) {
    const version = minorOf(group.version);
    if (version !== null && compareMinor(version, target) >= 0) continue;
    if (group.state === 'failed') return groupFailed(cluster, group);
    if (group.state !== 'ready') return { kind: 'wait', on: `node group ${group.name} ${group.state}` };
    // A group that reports no version follows the control plane (AKS, GKE autoupgrade): nothing to do.
    if (version === null) continue;
    return { kind: 'upgrade-node-group', name: group.name, version: target };
  }
  const busy = observed.nodeGroups.find((group) => group.state !== 'ready');
  if (busy !== undefined) return { kind: 'wait', on: `node group ${busy.name} ${busy.state}` };
  return done(ready, observed.nodeGroups);
}

function nextDeleteStep(cluster: ManagedCluster, observed: Observation): Step {
  const gone: Step = { kind: 'done', nodeCount: 0, version: cluster.observedVersion ?? cluster.spec.kubernetesVersion, endpoint: null };
  if (observed.cluster === null) return gone;
  // Someone else's cluster under that name (our create was refused): nothing of ours to delete, and theirs is left alone.
  if (!owns(cluster, observed.cluster)) return gone;
  // Node groups first: a cluster that still has some cannot be deleted; a group still changing is let finish.
  const standing = observed.nodeGroups.find((group) => group.state === 'ready' || group.state === 'failed');
  if (standing !== undefined) return { kind: 'delete-node-group', name: standing.name };
  const changing = observed.nodeGroups.find((group) => group.state === 'creating' || group.state === 'updating');
  if (changing !== undefined) return { kind: 'wait', on: `node group ${changing.name} ${changing.state}` };
  if (observed.nodeGroups.length > 0) return { kind: 'wait', on: `node groups deleting: ${observed.nodeGroups.map((group) => group.name).join(', ')}` };
  if (observed.cluster.state === 'deleting') return { kind: 'wait', on: `cluster ${cluster.cloudName} deleting` };
  // A GKE cluster stays creating until its bootstrap pool is dropped, which only its create's handle
  // does: with none held, its delete (which drops that pool first) is asked. EKS and AKS creates end on their own.
  if (observed.cluster.state === 'creating' && cluster.operation === null && cluster.provider === 'gke') return { kind: 'delete-cluster' };
  if (observed.cluster.state === 'creating' || observed.cluster.state === 'updating') return { kind: 'wait', on: `cluster ${cluster.cloudName} ${observed.cluster.state}` };
  return { kind: 'delete-cluster' };
}
