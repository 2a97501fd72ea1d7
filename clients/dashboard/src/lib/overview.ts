// The fleet overview's counts and the clusters needing action, as the dashboard shows them: from
// the inventory's GET /api/v1/overview, or counted here from the cluster list by the same rules
// when the inventory has no such route.
import type { Cluster } from '../api/types.js';
import { minorOf } from './versions.js';

export interface Count {
  key: string;
  count: number;
}

export interface ActionNeeded {
  id: string;
  why: string[];
}

export interface Overview {
  /** Clusters not deleted; every count but the Deleted status is of those. */
  total: number;
  byModel: Count[];
  byStatus: Count[];
  byProvider: Count[];
  byVersion: Count[];
  nodes: { total: number; ready: number };
  needingAction: { count: number; clusters: ActionNeeded[] };
}

export const ATTENTION_REASONS = ['failed', 'unreachable', 'refused', 'tunnel-disconnected'] as const;
export type AttentionReason = (typeof ATTENTION_REASONS)[number];
const ATTENTION_LABEL: Record<AttentionReason, string> = { failed: 'Failed', unreachable: 'Unreachable', refused: 'Refused', 'tunnel-disconnected': 'Tunnel disconnected' };

/** GET /api/v1/overview: what the dashboard reads of it. */
export interface OverviewAnswer {
  clusters: number;
  byModel: Record<string, number>;
  byStatus: Record<string, number>;
  byProvider: Record<string, number>;
  byKubernetesVersion: Record<string, number>;
  nodes: { total: number; ready: number };
  needsAction: { total: number; clusters: { id: string; reasons: string[]; message: string | null }[] };
}

/** Why a cluster needs an operator, as the inventory judges it: failed, unreachable, refused since its last news, tunnel down. */
export function attentionOf(cluster: Cluster): AttentionReason[] {
  if (cluster.status === 'Deleted') return [];
  const reasons: AttentionReason[] = [];
  if (cluster.status === 'Failed') reasons.push('failed');
  if (cluster.reachable === false) reasons.push('unreachable');
  if (cluster.lastRefusal && Date.parse(cluster.lastRefusal.time) >= Date.parse(cluster.lastEventTime)) reasons.push('refused');
  if (cluster.tunnel === 'disconnected') reasons.push('tunnel-disconnected');
  return reasons;
}

/** The reasons in words, the owner's own message after the first. */
export function describeAttention(reasons: readonly string[], message: string | null): string[] {
  return reasons.map((reason, index) => {
    const label = ATTENTION_LABEL[reason as AttentionReason] ?? reason;
    return index === 0 && message ? `${label}: ${message}` : label;
  });
}

export function fromOverviewAnswer(answer: OverviewAnswer): Overview {
  return {
    total: answer.clusters,
    byModel: countsOf(answer.byModel),
    byStatus: countsOf(answer.byStatus),
    byProvider: countsOf(answer.byProvider),
    byVersion: countsOf(answer.byKubernetesVersion),
    nodes: answer.nodes,
    needingAction: { count: answer.needsAction.total, clusters: answer.needsAction.clusters.map((entry) => ({ id: entry.id, why: describeAttention(entry.reasons, entry.message) })) },
  };
}

/** Counts of `clusters` (every cluster the caller may see), by the rules of the inventory's overview. */
export function overviewOf(clusters: readonly Cluster[], listed = 10): Overview {
  const live = clusters.filter((cluster) => cluster.status !== 'Deleted');
  const needing = live
    .map((cluster) => {
      const refusal = cluster.lastRefusal?.reasons[0]?.message ?? null;
      const message = cluster.status === 'Failed' ? (cluster.reasons[0]?.message ?? refusal) : refusal;
      return { id: cluster.id, reasons: attentionOf(cluster), message };
    })
    .filter((entry) => entry.reasons.length > 0)
    .sort((a, b) => a.id.localeCompare(b.id));
  return {
    total: live.length,
    byModel: countBy(live, (cluster) => cluster.model ?? 'unknown'),
    byStatus: countBy(clusters, (cluster) => cluster.status),
    byProvider: countBy(live, (cluster) => cluster.distribution ?? 'unknown'),
    byVersion: countBy(live, (cluster) => minorOf(cluster.kubernetesVersion) ?? 'unknown'),
    nodes: { total: live.reduce((sum, cluster) => sum + cluster.nodes.length, 0), ready: live.reduce((sum, cluster) => sum + readyNodes(cluster), 0) },
    needingAction: { count: needing.length, clusters: needing.slice(0, listed).map((entry) => ({ id: entry.id, why: describeAttention(entry.reasons, entry.message) })) },
  };
}

/** Ready nodes: as the provisioner counts them while it reports progress, else all of a Running cluster's. */
function readyNodes(cluster: Cluster): number {
  if (cluster.progress) {
    const ready = cluster.progress.controlPlane.ready + cluster.progress.nodePools.reduce((sum, pool) => sum + pool.ready, 0);
    return Math.min(cluster.nodes.length, ready);
  }
  return cluster.status === 'Running' ? cluster.nodes.length : 0;
}

/** Counts by key, largest first, then by key. */
export function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Count[] {
  const counts: Record<string, number> = {};
  for (const item of items) counts[keyOf(item)] = (counts[keyOf(item)] ?? 0) + 1;
  return countsOf(counts);
}

/** The non-zero counts of a record, largest first, then by key. */
export function countsOf(counts: Record<string, number>): Count[] {
  return Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}
