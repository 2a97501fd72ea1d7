import { ClusterModel } from '@flotilla/contracts';
import { ATTENTION_REASONS, type AttentionReason } from './cluster-attention.js';
import { CLUSTER_ACCESS, CLUSTER_STATUSES, type ClusterAccess, type ClusterStatus } from './cluster-view.js';

/** The key of a count whose value is not known (no model, provider, version or access yet). */
export const UNKNOWN = 'unknown';

/** Clusters alike in everything the overview counts, and how many nodes they have. */
export interface CountGroup {
  model: ClusterModel | null;
  status: ClusterStatus;
  provider: string | null;
  kubernetesVersion: string | null;
  access: ClusterAccess | null;
  tunnel: 'connected' | 'disconnected' | null;
  attention: AttentionReason[];
  clusters: number;
  nodes: number;
  readyNodes: number;
}

/** A cluster needing action, and why. */
export interface ClusterNeedingAction {
  id: string;
  name: string | null;
  status: ClusterStatus;
  reasons: AttentionReason[];
  /** The first reason its owner gave (the last refusal's, or the failure's), when there is one. */
  message: string | null;
}

export const TUNNEL_STATES = ['connected', 'disconnected', 'never-connected'] as const;

/** GET /api/v1/overview. */
export interface FleetOverview {
  /** Clusters not deleted. Every count below but `byStatus.Deleted` is of those. */
  clusters: number;
  byModel: Record<ClusterModel | typeof UNKNOWN, number>;
  byStatus: Record<ClusterStatus, number>;
  /** By infrastructure or import provider; `unknown` when none was named (users' hosts). */
  byProvider: Record<string, number>;
  /** By Kubernetes minor (`1.34`); `unknown` before a version is known. */
  byKubernetesVersion: Record<string, number>;
  byAccess: Record<ClusterAccess | typeof UNKNOWN, number>;
  /** The clusters reached through a tunnel, by its state (`never-connected`: its agent has not connected yet). */
  byTunnel: Record<(typeof TUNNEL_STATES)[number], number>;
  nodes: { total: number; ready: number };
  needsAction: {
    /** Clusters needing action for any reason (one with two reasons counts once here). */
    total: number;
    byReason: Record<AttentionReason, number>;
    /** The first of them by id, with their reasons. */
    clusters: ClusterNeedingAction[];
  };
}

const zeros = <K extends string>(keys: readonly K[]): Record<K, number> => Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;

function add(counts: Record<string, number>, key: string, value: number): void {
  counts[key] = (counts[key] ?? 0) + value;
}

/** `1.34` of `v1.34.2`; undefined when the version names no minor. */
export function minorOf(version: string): string | undefined {
  return /^v?(\d+\.\d+)/.exec(version)?.[1];
}

/** The overview of the clusters counted in `groups`, with the first clusters needing action. */
export function foldOverview(groups: readonly CountGroup[], needingAction: ClusterNeedingAction[]): FleetOverview {
  const overview: FleetOverview = {
    clusters: 0,
    byModel: zeros([...ClusterModel.options, UNKNOWN]),
    byStatus: zeros(CLUSTER_STATUSES),
    byProvider: {},
    byKubernetesVersion: {},
    byAccess: zeros([...CLUSTER_ACCESS, UNKNOWN]),
    byTunnel: zeros(TUNNEL_STATES),
    nodes: { total: 0, ready: 0 },
    needsAction: { total: 0, byReason: zeros(ATTENTION_REASONS), clusters: needingAction },
  };
  for (const group of groups) {
    const { clusters } = group;
    if (clusters === 0) continue;
    overview.byStatus[group.status] += clusters;
    if (group.status === 'Deleted') continue;
    overview.clusters += clusters;
    overview.byModel[group.model ?? UNKNOWN] += clusters;
    add(overview.byProvider, group.provider ?? UNKNOWN, clusters);
    add(overview.byKubernetesVersion, (group.kubernetesVersion === null ? undefined : minorOf(group.kubernetesVersion)) ?? UNKNOWN, clusters);
    overview.byAccess[group.access ?? UNKNOWN] += clusters;
    if (group.access === 'tunnel') overview.byTunnel[group.tunnel ?? 'never-connected'] += clusters;
    overview.nodes.total += group.nodes;
    overview.nodes.ready += group.readyNodes;
    if (group.attention.length > 0) overview.needsAction.total += clusters;
    for (const reason of group.attention) overview.needsAction.byReason[reason] += clusters;
  }
  return overview;
}
