import type { ClusterModel } from '@flotilla/contracts';
import type { ClusterAccess, ClusterStatus } from '../domain/cluster-view.js';

export interface ClusterFilter {
  model?: ClusterModel;
  status?: ClusterStatus;
  /** How the platform reaches them: `tunnel` lists the clusters registered behind a firewall. */
  access?: ClusterAccess;
  provider?: string;
  /** A minor (`1.34`: every patch of it) or a full version (`1.34.2`, with or without `v`). */
  version?: string;
  /** Only clusters carrying every one of these labels. */
  labels?: Record<string, string>;
  /** A label-scoped caller's scope: only clusters carrying every one of its labels as well. */
  scope?: Record<string, string>;
}

/** SQL conditions (joined with AND) on the clusters table for a filter, and their parameters. */
export function filterConditions(filter: ClusterFilter, params: unknown[]): string[] {
  const conditions: string[] = [];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.model) conditions.push(`model = ${bind(filter.model)}`);
  if (filter.status) conditions.push(`status = ${bind(filter.status)}`);
  if (filter.access) conditions.push(`access = ${bind(filter.access)}`);
  if (filter.provider) conditions.push(`provider = ${bind(filter.provider)}`);
  if (filter.version) {
    const version = filter.version.replace(/^v/, '');
    // The minor too for an exact version: the (minor, version) index serves both.
    conditions.push(`kubernetes_minor = ${bind(/^\d+\.\d+/.exec(version)?.[0])}`);
    if (!isMinor(version)) conditions.push(`kubernetes_version IN (${bind(version)}, ${bind(`v${version}`)})`);
  }
  if (filter.labels) conditions.push(`labels @> ${bind(JSON.stringify(filter.labels))}::jsonb`);
  if (filter.scope) conditions.push(`labels @> ${bind(JSON.stringify(filter.scope))}::jsonb`);
  return conditions;
}

/** `1.34` names a minor, every patch of it; `1.34.2` one version. */
export function isMinor(version: string): boolean {
  return /^\d+\.\d+$/.test(version.replace(/^v/, ''));
}
