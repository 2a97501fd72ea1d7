import { canOnboard, type Reason } from '@flotilla/contracts';
import type { CloudNodeGroupSpec } from '../clouds/lifecycle.js';
import type { DesiredCluster, VersionPolicy } from './cluster-request.js';
import { cloudNameFor, compareMinor, minorOf, type ManagedCluster, type ManagedWork } from './managed-cluster.js';

/**
 * What the importer does with a request about a managed cluster: take it up (new work), answer it
 * at once (refused with reasons), or refuse it on the bus (dead-lettered with an EventRejected:
 * a duplicate id, work already under way).
 */
export type RequestOutcome = { kind: 'work'; cluster: ManagedCluster } | { kind: 'answer'; reasons: Reason[] } | { kind: 'reject'; code: string; message: string } | { kind: 'none' };

/** A new managed cluster from an accepted request: work `create`, due at once. */
export function newManagedCluster(id: string, name: string, desired: DesiredCluster, requestEventId: string, policy: { release: string | null; policyRevision: string | null }, now: Date): ManagedCluster {
  const at = now.toISOString();
  return {
    id,
    name,
    provider: desired.provider,
    credentialRef: desired.credentialRef,
    place: desired.place,
    cloudName: cloudNameFor(id),
    spec: desired.spec,
    nodeGroups: desired.nodeGroups,
    phase: 'Provisioning',
    work: { kind: 'create' },
    step: null,
    operation: null,
    generation: 1,
    versionOffered: false,
    reasons: [],
    failures: 0,
    nextAttemptAt: at,
    requestEventId,
    observedVersion: null,
    endpoint: null,
    release: policy.release,
    policyRevision: policy.policyRevision,
    adopted: false,
    createdAt: at,
  };
}

/** Work under way refuses another request: one piece of work at a time per cluster. */
function busy(cluster: ManagedCluster, what: string): RequestOutcome | undefined {
  if (cluster.phase === 'Deleted') return { kind: 'reject', code: 'cluster-deleted', message: `cluster ${cluster.id} was deleted: it cannot be ${what}` };
  if (cluster.work !== null) return { kind: 'reject', code: 'operation-in-progress', message: `cluster ${cluster.id} is busy (${cluster.work.kind}): it cannot be ${what} now, ask again when it is done` };
  return undefined;
}

const started = (cluster: ManagedCluster, work: ManagedWork, requestEventId: string, now: Date, changes: Partial<ManagedCluster> = {}): RequestOutcome => ({
  kind: 'work',
  cluster: { ...cluster, ...changes, work, generation: cluster.generation + 1, step: null, operation: null, failures: 0, reasons: [], requestEventId, nextAttemptAt: now.toISOString() },
});

/**
 * NodePoolScaleRequested: the node group's desired size, its autoscaling bounds widened to take
 * it. A request the cluster already satisfies is answered at once by the reconciler's first look.
 */
export function decideScale(cluster: ManagedCluster, pool: string, count: number, requestEventId: string, now: Date): RequestOutcome {
  const refused = busy(cluster, 'scaled');
  if (refused) return refused;
  if (cluster.phase === 'Failed') return { kind: 'answer', reasons: [{ code: 'cluster-failed', message: `cluster ${cluster.id} failed: it cannot be scaled`, field: 'pool' }] };
  const group = cluster.nodeGroups.find((candidate) => candidate.name === pool);
  if (group === undefined) {
    return { kind: 'reject', code: 'node-pool-not-found', message: `cluster ${cluster.id} has no node pool ${pool} (it has ${cluster.nodeGroups.map((g) => g.name).join(', ') || 'none'})` };
  }
  // An autoscaled pool keeps its autoscaler, bounds widened to take the count; a fixed one stays fixed.
  const fixed = group.minSize === group.maxSize;
  const scaled: CloudNodeGroupSpec = fixed
    ? { ...group, desiredSize: count, minSize: count, maxSize: Math.max(count, 1) }
    : { ...group, desiredSize: count, minSize: Math.min(group.minSize, count), maxSize: Math.max(group.maxSize, count, 1) };
  const nodeGroups = cluster.nodeGroups.map((candidate) => (candidate.name === pool ? scaled : candidate));
  return started(cluster, { kind: 'scale', pool, from: group.desiredSize, to: count, requestEventId }, requestEventId, now, { nodeGroups });
}

/**
 * UpgradeStepApproved: one minor at most above what the control plane runs, and allowed by the
 * version policy in force; refused with reasons (UpgradeStepFailed) otherwise.
 */
export function decideUpgrade(cluster: ManagedCluster, planId: string, toVersion: string, requestEventId: string, policy: VersionPolicy, now: Date): RequestOutcome {
  const refused = busy(cluster, 'upgraded');
  if (refused) return refused;
  const from = minorOf(cluster.observedVersion) ?? cluster.spec.kubernetesVersion;
  const target = minorOf(toVersion);
  const reasons: Reason[] = [];
  if (cluster.phase !== 'Running') reasons.push({ code: 'cluster-not-running', message: `cluster ${cluster.id} is ${cluster.phase}: only a running cluster is upgraded` });
  if (target === null) {
    reasons.push({ code: 'version-invalid', message: `"${toVersion}" is not a Kubernetes version`, field: 'toVersion' });
  } else {
    const [fromMajor, fromMinor] = from.split('.').map(Number);
    const [toMajor, toMinor] = target.split('.').map(Number);
    if (compareMinor(target, from) <= 0) reasons.push({ code: 'upgrade-not-newer', message: `cluster ${cluster.id} already runs ${from}`, field: 'toVersion' });
    else if (fromMajor !== toMajor || (toMinor ?? 0) - (fromMinor ?? 0) > 1) reasons.push({ code: 'upgrade-skips-minor', message: `from ${from} a step goes one minor at most, not to ${target}`, field: 'toVersion' });
    const allowed = canOnboard(target, policy.release, policy.matrix);
    if (!allowed.allowed) reasons.push({ code: allowed.code, message: allowed.reason, field: 'toVersion' });
  }
  if (reasons.length > 0) return { kind: 'answer', reasons };
  const work: ManagedWork = { kind: 'upgrade', planId, fromVersion: from, toVersion: target ?? toVersion, requestEventId, policyRevision: policy.matrix.revision };
  return started(cluster, work, requestEventId, now, { spec: { ...cluster.spec, kubernetesVersion: target ?? toVersion } });
}

/** ClusterDeletionRequested: node groups, then the cluster. A second request while deleting is answered by that deletion. */
export function decideDelete(cluster: ManagedCluster, requestEventId: string, now: Date): RequestOutcome {
  if (cluster.phase === 'Deleted') return { kind: 'reject', code: 'cluster-deleted', message: `cluster ${cluster.id} was deleted already` };
  if (cluster.work?.kind === 'delete') return { kind: 'none' };
  // A create, scale or upgrade under way gives way: deleting observes and waits for what the cloud is doing.
  return started(cluster, { kind: 'delete', requestEventId }, requestEventId, now, { phase: 'Deleting' });
}
