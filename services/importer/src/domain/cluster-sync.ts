import type { ClusterReachable, ClusterUnreachable, ClusterVersionChanged, EventData, Reason } from '@flotilla/contracts';
import type { HealthOutcome } from '../connectivity/cluster-probe.js';
import type { ConnectedCluster } from './connected-cluster.js';
import { importReason } from './reasons.js';

/** Where the periodic re-check of one cluster stands (kept beside the cluster, written by the sync worker). */
export interface SyncState {
  /** Failed re-checks in a row. */
  failures: number;
  /** The first failed re-check of the current outage. */
  unreachableSince: string | null;
}

export interface SyncPolicy {
  intervalMs: number;
  /** Backoff for failing clusters doubles from intervalMs up to this. */
  maxBackoffMs: number;
  /** Failed re-checks in a row before the cluster is declared Unreachable (a blip is not an outage). */
  unreachableAfterFailures: number;
}

/** A re-check that did not answer in time, or threw: the worker's own verdict. */
export type SyncOutcome = HealthOutcome | { ok: false; failures: { code: 'probe-timeout' | 'probe-failed'; message: string }[] };

export type SyncEvent =
  | { type: 'ClusterVersionChanged'; data: EventData<typeof ClusterVersionChanged> }
  | { type: 'ClusterUnreachable'; data: EventData<typeof ClusterUnreachable> }
  | { type: 'ClusterReachable'; data: EventData<typeof ClusterReachable> };

export interface SyncDecision {
  events: SyncEvent[];
  sync: SyncState;
  nextSyncAt: Date;
}

/** When a cluster that failed `failures` re-checks in a row is checked next: doubling, capped. */
export function backoffMs(failures: number, policy: SyncPolicy): number {
  if (failures <= 0) return policy.intervalMs;
  return Math.min(policy.maxBackoffMs, policy.intervalMs * 2 ** Math.min(failures - 1, 30));
}

/**
 * The result of one re-check of a managed cluster. Events are emitted on changes only: a cluster
 * upgraded outside the platform (ClusterVersionChanged), one that stopped answering
 * (ClusterUnreachable, once per outage, after `unreachableAfterFailures` failures) and one that
 * answers again (ClusterReachable).
 */
export function decideSync(cluster: ConnectedCluster, sync: SyncState, outcome: SyncOutcome, now: Date, policy: SyncPolicy): SyncDecision {
  const events: SyncEvent[] = [];
  if (outcome.ok) {
    if (cluster.state === 'Unreachable') events.push({ type: 'ClusterReachable', data: { since: now.toISOString() } });
    const { version } = outcome.report;
    if (cluster.kubernetesVersion !== null && version !== cluster.kubernetesVersion) {
      events.push({ type: 'ClusterVersionChanged', data: { previousVersion: cluster.kubernetesVersion, kubernetesVersion: version } });
    }
    return { events, sync: { failures: 0, unreachableSince: null }, nextSyncAt: new Date(now.getTime() + policy.intervalMs) };
  }
  const failures = sync.failures + 1;
  const unreachableSince = sync.unreachableSince ?? now.toISOString();
  if (cluster.state === 'Imported' && failures >= policy.unreachableAfterFailures) {
    const first = outcome.failures[0];
    const reason: Reason = first ? importReason(first.code, first.message) : importReason('probe-failed', 'the re-check failed without a reason');
    events.push({ type: 'ClusterUnreachable', data: { reason, since: unreachableSince } });
  }
  return { events, sync: { failures, unreachableSince }, nextSyncAt: new Date(now.getTime() + backoffMs(failures, policy)) };
}
