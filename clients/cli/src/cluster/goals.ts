import type { ClusterDetail, ClusterProgress } from '../api/types.js';
import { eventName } from './history.js';

/** Where a long operation stands, judged from the cluster as the inventory shows it. */
export type Outcome = { state: 'done'; message: string } | { state: 'failed'; message: string } | { state: 'waiting' };

/** What --wait waits for; `judge` sees undefined once the cluster is gone (404). */
export interface WaitGoal {
  /** "cluster prod-1 Running", for the time-out message. */
  description: string;
  judge(cluster: ClusterDetail | undefined): Outcome;
}

const reasonsOf = (cluster: ClusterDetail): string => {
  const reasons = cluster.lastRefusal?.reasons.length ? cluster.lastRefusal.reasons : cluster.reasons;
  return reasons.map((reason) => `${reason.field ? `${reason.field}: ` : ''}${reason.message} [${reason.code}]`).join('; ') || 'no reason given';
};

/** The refusal or failure that answers the request `eventId`, if the owner reported one. */
function refusalOf(cluster: ClusterDetail, eventId: string): string | undefined {
  return cluster.lastRefusal?.requestEventId === eventId ? `${eventName(cluster.lastRefusal.type)}: ${reasonsOf(cluster)}` : undefined;
}

const stillPending = (cluster: ClusterDetail, eventId: string) => cluster.pendingRequests.some((request) => request.eventId === eventId);

/** A new cluster (created or imported) until it runs; Failed and Rejected end it. An import shows in the inventory a moment after it is accepted. */
export function untilRunning(id: string): WaitGoal {
  return {
    description: `cluster ${id} Running`,
    judge(cluster) {
      if (!cluster) return { state: 'waiting' };
      switch (cluster.status) {
        case 'Running':
          return { state: 'done', message: `cluster ${id} is Running (${cluster.kubernetesVersion ?? 'version unknown'}, ${cluster.nodes.length} nodes)` };
        case 'Failed':
        case 'Rejected':
        case 'Deleted':
          return { state: 'failed', message: `cluster ${id} is ${cluster.status}: ${reasonsOf(cluster)}` };
        case 'Pending':
        case 'Provisioning':
        case 'Importing':
          return { state: 'waiting' };
      }
    },
  };
}

/** A pool until it has `count` ready machines and the scale request is answered. */
export function untilScaled(id: string, pool: string, count: number, eventId: string): WaitGoal {
  return {
    description: `pool ${pool} of ${id} at ${count} machines`,
    judge(cluster) {
      if (!cluster) return { state: 'failed', message: `cluster ${id} is gone` };
      const refused = refusalOf(cluster, eventId);
      if (refused) return { state: 'failed', message: refused };
      if (cluster.status === 'Failed' || cluster.status === 'Deleted') return { state: 'failed', message: `cluster ${id} is ${cluster.status}: ${reasonsOf(cluster)}` };
      const nodes = cluster.nodes.filter((node) => node.role === 'worker' && node.pool === pool).length;
      const progress = cluster.progress?.nodePools.find((entry) => entry.pool === pool);
      const settled = !stillPending(cluster, eventId) && cluster.progress?.operation?.kind !== 'scale';
      const ready = progress ? progress.ready === count && progress.total === count : nodes === count;
      return settled && ready && nodes === count ? { state: 'done', message: `pool ${pool} of ${id} has ${count} ready machines` } : { state: 'waiting' };
    },
  };
}

/** `1.35` matches `v1.35.2` and `1.35`; `1.35.1` matches only that patch. */
export function versionMatches(actual: string | null, wanted: string): boolean {
  if (actual === null) return false;
  const strip = (text: string) => text.replace(/^v/, '').split(/[-+]/)[0]!;
  const have = strip(actual).split('.');
  const want = strip(wanted).split('.');
  return want.every((part, index) => have[index] === part);
}

/** A cluster until it runs `toVersion` and the upgrade step is answered. */
export function untilUpgraded(id: string, toVersion: string, eventId: string): WaitGoal {
  return {
    description: `cluster ${id} on ${toVersion}`,
    judge(cluster) {
      if (!cluster) return { state: 'failed', message: `cluster ${id} is gone` };
      const refused = refusalOf(cluster, eventId);
      if (refused) return { state: 'failed', message: refused };
      const settled = !stillPending(cluster, eventId) && cluster.progress?.operation?.kind !== 'upgrade';
      return settled && cluster.status === 'Running' && versionMatches(cluster.kubernetesVersion, toVersion)
        ? { state: 'done', message: `cluster ${id} runs ${cluster.kubernetesVersion}` }
        : { state: 'waiting' };
    },
  };
}

/** A cluster until it is Deleted (or gone); a refusal of the request ends it. */
export function untilDeleted(id: string, eventId: string): WaitGoal {
  return {
    description: `cluster ${id} Deleted`,
    judge(cluster) {
      if (!cluster || cluster.status === 'Deleted') return { state: 'done', message: `cluster ${id} is deleted` };
      const refused = refusalOf(cluster, eventId);
      return refused ? { state: 'failed', message: refused } : { state: 'waiting' };
    },
  };
}

/** One line on where the cluster stands: status, phase, operation and machines ready of total. */
export function progressLine(cluster: ClusterDetail | undefined): string {
  if (!cluster) return 'gone';
  const parts: string[] = [cluster.status];
  const progress: ClusterProgress | null = cluster.progress;
  if (progress) {
    if (progress.phase !== cluster.status) parts.push(`phase ${progress.phase}`);
    if (progress.operation) parts.push(operationText(progress.operation));
    if (progress.controlPlane.total > 0) parts.push(`control plane ${progress.controlPlane.ready}/${progress.controlPlane.total}`);
    for (const pool of progress.nodePools) parts.push(`${pool.pool} ${pool.ready}/${pool.total}`);
  } else {
    parts.push(`${cluster.nodes.length} nodes`);
  }
  if (cluster.pendingRequests.length > 0) parts.push(`waiting for ${cluster.pendingRequests.map((request) => request.type).join(', ')}`);
  return parts.join(', ');
}

export function operationText(operation: NonNullable<ClusterProgress['operation']>): string {
  switch (operation.kind) {
    case 'scale':
      return `scaling ${operation.pool ?? ''} ${operation.from ?? '?'}→${operation.to ?? '?'}`;
    case 'upgrade':
      return `upgrading ${operation.fromVersion ?? '?'}→${operation.toVersion ?? '?'}`;
    case 'delete':
      return 'deleting';
  }
}
