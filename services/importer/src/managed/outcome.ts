import type {
  ClusterDeleted,
  ClusterProgress,
  ClusterProvisioningFailed,
  ClusterReady,
  ClusterUpgraded,
  EventData,
  NodePoolScaled,
  Reason,
  UpgradeStepFailed,
} from '@flotilla/contracts';
import type { ObservedCloudNodeGroup } from '../clouds/lifecycle.js';
import { firstLookMs, nextLookMs, type LookAgainPolicy, type OperationKind } from './look-again.js';
import { retryDelayMs, type ManagedCluster, type ManagedPhase, type ManagedWork } from './managed-cluster.js';
import type { Step } from './next-step.js';

/** The events the reconciler emits, by type, for the glue to hand to the outbox. */
export type ManagedEvent =
  | { type: 'ClusterProgress'; data: EventData<typeof ClusterProgress> }
  | { type: 'ClusterReady'; data: EventData<typeof ClusterReady> }
  | { type: 'ClusterProvisioningFailed'; data: EventData<typeof ClusterProvisioningFailed> }
  | { type: 'NodePoolScaled'; data: EventData<typeof NodePoolScaled> }
  | { type: 'ClusterUpgraded'; data: EventData<typeof ClusterUpgraded> }
  | { type: 'UpgradeStepFailed'; data: EventData<typeof UpgradeStepFailed> }
  | { type: 'ClusterDeleted'; data: EventData<typeof ClusterDeleted> };

export interface Settled {
  next: ManagedCluster;
  events: ManagedEvent[];
}

/** `pollIntervalMs` is the least time between two looks at a cluster waiting on its cloud (see look-again.ts). */
export interface ReconcilePolicy extends LookAgainPolicy {
  /** First wait after a transient failure; doubles with each one in a row. */
  retryBaseMs: number;
  maxRetryMs: number;
}

const later = (now: Date, ms: number) => new Date(now.getTime() + ms).toISOString();

/** What ClusterProgress says of the work: the inventory shows it beside the phase. */
function operationOf(work: ManagedWork | null): EventData<typeof ClusterProgress>['operation'] {
  if (work === null) return null;
  switch (work.kind) {
    case 'create':
      return null;
    case 'scale':
      return { kind: 'scale', pool: work.pool, from: work.from, to: work.to };
    case 'upgrade':
      return { kind: 'upgrade', planId: work.planId, fromVersion: work.fromVersion, toVersion: work.toVersion };
    case 'delete':
      return { kind: 'delete' };
  }
}

/** The phase a piece of work shows while it runs. */
export function phaseOf(work: ManagedWork): ManagedPhase {
  switch (work.kind) {
    case 'create':
      return 'Provisioning';
    case 'scale':
    case 'upgrade':
      return 'Running';
    case 'delete':
      return 'Deleting';
  }
}

/**
 * Where the cluster stands: the cloud runs the control plane (no machines of ours: 0 of 0), node
 * groups count their desired nodes, ready once the group is.
 */
export function progressOf(cluster: ManagedCluster, groups: ObservedCloudNodeGroup[] | null, requestEventId?: string): ManagedEvent {
  return { type: 'ClusterProgress', data: progressData(cluster, groups, requestEventId) };
}

export function progressData(cluster: ManagedCluster, groups: ObservedCloudNodeGroup[] | null, requestEventId?: string): EventData<typeof ClusterProgress> {
  const observed = new Map((groups ?? []).map((group) => [group.name, group]));
  const nodePools = cluster.nodeGroups.map((wanted) => {
    const group = observed.get(wanted.name);
    const total = group?.desiredSize ?? wanted.desiredSize;
    return { pool: wanted.name, ready: group?.state === 'ready' ? total : 0, total };
  });
  return {
    model: 'public-cloud',
    phase: cluster.phase,
    controlPlane: { ready: 0, total: 0 },
    nodePools,
    operation: operationOf(cluster.work),
    ...(requestEventId === undefined ? {} : { requestEventId }),
  };
}

/** A step that started cloud work: its handle kept (waited on after a restart), looked at again when the operation can be done. */
export function settleStarted(cluster: ManagedCluster, step: string, operation: string | null, groups: ObservedCloudNodeGroup[], now: Date, policy: ReconcilePolicy): Settled {
  const next: ManagedCluster = { ...cluster, step, operation, failures: 0, reasons: [], nextAttemptAt: later(now, firstLookMs(cluster.provider, step, policy)) };
  return { next, events: [progressOf(next, groups)] };
}

/**
 * Nothing to start: the cloud is at work on the step last started (or the version was just found
 * offered), looked at again after a share of its typical time (`nextLookMs`, given how long ago
 * its operation started when that is known).
 */
export function settleWait(cluster: ManagedCluster, operationDone: boolean, now: Date, policy: ReconcilePolicy, soon = false, elapsedMs?: number): Settled {
  return {
    next: { ...cluster, operation: operationDone ? null : cluster.operation, failures: 0, nextAttemptAt: later(now, soon ? 0 : nextLookMs(cluster.provider, cluster.step, policy, elapsedMs)) },
    events: [],
  };
}

/**
 * The cloud at work on an operation of `kind` that the step's call led to (the second half of one
 * that is two): looked at when it can be done, if this look started it, else after a share of its
 * typical time.
 */
export function settleWaitOn(cluster: ManagedCluster, kind: OperationKind, startedNow: boolean, now: Date, policy: ReconcilePolicy, elapsedMs?: number): Settled {
  const wait = startedNow ? firstLookMs(cluster.provider, kind, policy) : nextLookMs(cluster.provider, kind, policy, elapsedMs);
  return { next: { ...cluster, failures: 0, nextAttemptAt: later(now, wait) }, events: [] };
}

/**
 * Transient failures of one piece of work in a row before it is given up (with the last reason): a
 * cloud that keeps failing the same call is not going to do it on the eleventh try either.
 */
export const MAX_TRANSIENT_FAILURES = 10;

/** A failure worth trying again (the cloud did not answer, failed a call): backoff, the work kept; failed after too many in a row. */
export function settleTransient(cluster: ManagedCluster, reason: Reason, groups: ObservedCloudNodeGroup[] | null, now: Date, policy: ReconcilePolicy): Settled {
  const failures = cluster.failures + 1;
  if (failures >= MAX_TRANSIENT_FAILURES) {
    return settleFailed(cluster, [{ ...reason, message: `${reason.message} (given up after ${failures} failures in a row)` }], groups, now);
  }
  return { next: { ...cluster, failures, reasons: [reason], nextAttemptAt: later(now, retryDelayMs(failures, policy.retryBaseMs, policy.maxRetryMs)) }, events: [] };
}

/**
 * The cloud throttled the account: the account's gate holds every cluster of it, so a throttled
 * answer never ends the work by itself. It still lengthens the backoff (a step makes several calls:
 * coming back the moment one call is allowed again would be throttled again, round after round).
 */
export function settleThrottled(cluster: ManagedCluster, reason: Reason, notBefore: Date, now: Date, policy: ReconcilePolicy): Settled {
  const failures = Math.min(cluster.failures + 1, MAX_TRANSIENT_FAILURES - 1);
  const backoff = now.getTime() + retryDelayMs(failures, policy.retryBaseMs, policy.maxRetryMs);
  return { next: { ...cluster, failures, reasons: [reason], nextAttemptAt: new Date(Math.max(backoff, notBefore.getTime())).toISOString() }, events: [] };
}

/** The work is finished: its answer, and the cluster back to Running (or gone). */
export function settleDone(cluster: ManagedCluster, step: Extract<Step, { kind: 'done' }>, groups: ObservedCloudNodeGroup[], now: Date): Settled {
  const work = cluster.work;
  const base: ManagedCluster = { ...cluster, work: null, step: null, operation: null, failures: 0, reasons: [], nextAttemptAt: now.toISOString(), observedVersion: step.version, endpoint: step.endpoint };
  if (work === null) return { next: base, events: [] };
  switch (work.kind) {
    case 'create': {
      const next: ManagedCluster = { ...base, phase: 'Running' };
      const ready: ManagedEvent = {
        type: 'ClusterReady',
        data: {
          model: 'public-cloud',
          kubernetesVersion: step.version,
          nodeCount: step.nodeCount,
          ...(step.endpoint === null ? {} : { apiServerEndpoint: step.endpoint }),
          ...(cluster.release === null ? {} : { release: cluster.release }),
          ...(cluster.policyRevision === null ? {} : { policyRevision: cluster.policyRevision }),
        },
      };
      return { next, events: [progressOf(next, groups), ready] };
    }
    case 'scale': {
      const next: ManagedCluster = { ...base, phase: 'Running' };
      const group = groups.find((candidate) => candidate.name === work.pool);
      const scaled: ManagedEvent = {
        type: 'NodePoolScaled',
        data: { model: 'public-cloud', pool: work.pool, from: work.from, to: group?.desiredSize ?? work.to, requested: work.to, nodes: [], removed: [] },
      };
      return { next, events: [progressOf(next, groups), scaled] };
    }
    case 'upgrade': {
      const next: ManagedCluster = { ...base, phase: 'Running' };
      const upgraded: ManagedEvent = {
        type: 'ClusterUpgraded',
        data: {
          model: 'public-cloud',
          fromVersion: work.fromVersion,
          toVersion: step.version,
          planId: work.planId,
          ...(work.policyRevision === undefined ? {} : { policyRevision: work.policyRevision }),
        },
      };
      return { next, events: [progressOf(next, groups), upgraded] };
    }
    case 'delete': {
      const next: ManagedCluster = { ...base, phase: 'Deleted', endpoint: null };
      return { next, events: [progressOf(next, []), { type: 'ClusterDeleted', data: { model: 'public-cloud' } }] };
    }
  }
}

/**
 * The work cannot finish. A create ends Failed (ClusterProvisioningFailed); an upgrade step is
 * answered UpgradeStepFailed and the cluster runs on; a scale or a delete that failed leaves the
 * cluster as the cloud has it, with the reasons shown (ClusterProgress, phase Failed for a delete).
 */
export function settleFailed(cluster: ManagedCluster, reasons: Reason[], groups: ObservedCloudNodeGroup[] | null, now: Date): Settled {
  const work = cluster.work;
  const base: ManagedCluster = { ...cluster, work: null, step: null, operation: null, failures: 0, reasons, nextAttemptAt: now.toISOString() };
  if (work === null) return { next: base, events: [] };
  switch (work.kind) {
    case 'create': {
      const next: ManagedCluster = { ...base, phase: 'Failed' };
      const failed: ManagedEvent = {
        type: 'ClusterProvisioningFailed',
        data: {
          model: 'public-cloud',
          reasons,
          ...(cluster.release === null ? {} : { release: cluster.release }),
          ...(cluster.policyRevision === null ? {} : { policyRevision: cluster.policyRevision }),
        },
      };
      return { next, events: [progressOf(next, groups), failed] };
    }
    case 'upgrade': {
      const next: ManagedCluster = { ...base, phase: 'Running' };
      const failed: ManagedEvent = {
        type: 'UpgradeStepFailed',
        data: {
          model: 'public-cloud',
          planId: work.planId,
          fromVersion: work.fromVersion,
          toVersion: work.toVersion,
          reasons,
          ...(work.policyRevision === undefined ? {} : { policyRevision: work.policyRevision }),
        },
      };
      return { next, events: [progressOf(next, groups), failed] };
    }
    case 'scale': {
      const next: ManagedCluster = { ...base, phase: 'Running' };
      return { next, events: [progressOf(next, groups, work.requestEventId)] };
    }
    case 'delete': {
      const next: ManagedCluster = { ...base, phase: 'Failed' };
      return { next, events: [progressOf(next, groups, work.requestEventId)] };
    }
  }
}
