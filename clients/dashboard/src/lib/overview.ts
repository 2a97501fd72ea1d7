// The fleet overview's counts and the clusters needing action, as the dashboard shows them.
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
  total: number;
  byModel: Count[];
  byStatus: Count[];
  byProvider: Count[];
  byVersion: Count[];
  nodes: { total: number; ready: number | null };
  needingAction: { count: number; clusters: ActionNeeded[] };
}

/** Why a cluster needs someone's attention, in words; empty when it does not. */
export function reasonsForAction(cluster: Cluster, compatibleInForce: readonly string[] = []): string[] {
  const why: string[] = [];
  if (cluster.status === 'Failed') why.push(`Failed${cluster.reasons[0] ? `: ${cluster.reasons[0].message}` : ''}`);
  if (cluster.status === 'Rejected') why.push(`Rejected${cluster.reasons[0] ? `: ${cluster.reasons[0].message}` : ''}`);
  if (cluster.reachable === false) why.push('Unreachable');
  if (cluster.tunnel === 'disconnected') why.push('Tunnel disconnected');
  if (cluster.lastRefusal && cluster.status !== 'Deleted') {
    const refused = cluster.lastRefusal;
    why.push(`Refused ${refused.requestType ?? refused.type}${refused.reasons[0] ? `: ${refused.reasons[0].message}` : ''}`);
  }
  const minor = minorOf(cluster.kubernetesVersion);
  if (minor && compatibleInForce.length > 0 && cluster.status !== 'Deleted' && !compatibleInForce.includes(minor)) {
    why.push(`Behind the policy: ${minor} is not among the compatible versions (${compatibleInForce.join(', ')})`);
  }
  return why;
}

/** Counts of `clusters` (every cluster the caller may see), for when the inventory has no overview route. */
export function overviewOf(clusters: readonly Cluster[], compatibleInForce: readonly string[] = [], listed = 10): Overview {
  const live = clusters.filter((cluster) => cluster.status !== 'Deleted');
  const needing = live.map((cluster) => ({ id: cluster.id, why: reasonsForAction(cluster, compatibleInForce) })).filter((entry) => entry.why.length > 0);
  return {
    total: clusters.length,
    byModel: countBy(clusters, (cluster) => cluster.model ?? 'unknown'),
    byStatus: countBy(clusters, (cluster) => cluster.status),
    byProvider: countBy(live, (cluster) => cluster.distribution ?? 'unknown'),
    byVersion: countBy(live, (cluster) => minorOf(cluster.kubernetesVersion) ?? 'unknown'),
    nodes: { total: live.reduce((sum, cluster) => sum + cluster.nodes.length, 0), ready: null },
    needingAction: { count: needing.length, clusters: needing.slice(0, listed) },
  };
}

/** Counts by key, largest first, then by key. */
export function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Count[] {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}
