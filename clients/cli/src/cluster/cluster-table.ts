import { usageError } from '../errors.js';
import type { Cluster } from '../api/types.js';
import { age, type Column } from '../output/table.js';
import { versionMatches } from './goals.js';

/** What `get clusters` filters on; the API filters what it can, and every filter is applied here as well. */
export interface ClusterFilter {
  model?: string;
  status?: string;
  version?: string;
  provider?: string;
  labels?: Record<string, string>;
}

/** `team=a` flags (repeatable, or comma-separated) as labels; a malformed one is named. */
export function parseLabelSelector(pairs: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs.flatMap((text) => text.split(','))) {
    const at = pair.indexOf('=');
    if (at <= 0) throw usageError(`-l/--selector: "${pair}" is not key=value (e.g. -l team=payments)`);
    labels[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return labels;
}

export function providerOf(cluster: Cluster): string {
  return cluster.provider ?? cluster.distribution ?? '';
}

export function matchesFilter(cluster: Cluster, filter: ClusterFilter): boolean {
  if (filter.model !== undefined && cluster.model !== filter.model) return false;
  if (filter.status !== undefined && cluster.status.toLowerCase() !== filter.status.toLowerCase()) return false;
  if (filter.version !== undefined && !versionMatches(cluster.kubernetesVersion, filter.version)) return false;
  if (filter.provider !== undefined && providerOf(cluster).toLowerCase() !== filter.provider.toLowerCase()) return false;
  return Object.entries(filter.labels ?? {}).every(([key, value]) => cluster.labels[key] === value);
}

/** ACCESS: how the platform reaches the API server, with the tunnel's state when it goes through one. */
function accessText(cluster: Cluster): string {
  if (cluster.access === 'tunnel') return `tunnel (${cluster.tunnel ?? 'not connected yet'})`;
  return cluster.access ?? '';
}

function nodesText(cluster: Cluster): string {
  // The inventory lists no nodes of a connected cluster: unknown here, not zero (describe asks the importer).
  if (cluster.model === 'connected' && cluster.nodes.length === 0) return '';
  const progress = cluster.progress;
  if (progress && cluster.status !== 'Running' && cluster.status !== 'Deleted') {
    const ready = progress.controlPlane.ready + progress.nodePools.reduce((sum, pool) => sum + pool.ready, 0);
    const total = progress.controlPlane.total + progress.nodePools.reduce((sum, pool) => sum + pool.total, 0);
    return `${ready}/${total}`;
  }
  return String(cluster.nodes.length);
}

export function clusterColumns(now: Date, wide: boolean): Column<Cluster>[] {
  const columns: Column<Cluster>[] = [
    { header: 'NAME', value: (cluster) => cluster.id },
    { header: 'MODEL', value: (cluster) => cluster.model ?? '' },
    { header: 'STATUS', value: (cluster) => cluster.status },
    { header: 'VERSION', value: (cluster) => cluster.kubernetesVersion ?? '' },
    { header: 'NODES', value: nodesText },
    { header: 'ACCESS', value: accessText },
    { header: 'AGE', value: (cluster) => age(cluster.createdAt ?? cluster.lastEventTime, now) },
  ];
  if (!wide) return columns;
  return [
    ...columns,
    { header: 'DISPLAY NAME', value: (cluster) => cluster.name ?? '' },
    { header: 'PROVIDER', value: providerOf },
    { header: 'LABELS', value: (cluster) => Object.entries(cluster.labels).map(([key, value]) => `${key}=${value}`).join(',') },
    { header: 'PENDING', value: (cluster) => cluster.pendingRequests.map((request) => request.type).join(',') },
    { header: 'LAST CHANGE', value: (cluster) => age(cluster.lastEventTime, now) },
  ];
}

/** What a watch compares to tell a row changed: everything a column shows but the ages. */
export function rowKey(cluster: Cluster): string {
  return JSON.stringify([cluster.status, cluster.kubernetesVersion, nodesText(cluster), accessText(cluster), cluster.model, cluster.pendingRequests.length, cluster.lastEventTime]);
}
