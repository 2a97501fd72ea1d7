import type { ApiClient } from './http.js';
import type {
  Cluster,
  ClusterDetail,
  CommandAccepted,
  ConnectedClusterView,
  FleetAnswer,
  HistoryLine,
  Page,
  PlanListItem,
  ProvisionerCluster,
  SupportMatrixView,
  UpgradePlan,
} from './types.js';

const PAGE_SIZE = 200;
const HISTORY_PAGE_SIZE = 500;

export interface ClusterQuery {
  model?: string;
  status?: string;
  access?: string;
}

const clusterPath = (id: string) => `/api/v1/clusters/${encodeURIComponent(id)}`;

/** Every cluster the query matches: keyset pages followed to the end. */
export async function listClusters(api: ApiClient, query: ClusterQuery): Promise<Cluster[]> {
  const clusters: Cluster[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.json<Page<Cluster>>({ path: '/api/v1/clusters', query: { ...query, limit: PAGE_SIZE, cursor } });
    clusters.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return clusters;
}

export function getCluster(api: ApiClient, id: string): Promise<ClusterDetail> {
  return api.json<ClusterDetail>({ path: clusterPath(id) });
}

/** The cluster, or undefined when there is none (404). */
export async function findCluster(api: ApiClient, id: string): Promise<ClusterDetail | undefined> {
  const response = await api.send({ path: clusterPath(id), allow: [404] });
  return response.status === 404 ? undefined : (JSON.parse(response.text) as ClusterDetail);
}

/** The cluster's whole history, newest first (pages followed to the end). */
export async function clusterHistory(api: ApiClient, id: string): Promise<HistoryLine[]> {
  const lines: HistoryLine[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.json<Page<HistoryLine>>({ path: `${clusterPath(id)}/history`, query: { limit: HISTORY_PAGE_SIZE, cursor } });
    lines.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return lines;
}

export function createCluster(api: ApiClient, spec: unknown): Promise<{ id: string; status: string; href: string }> {
  return api.json({ method: 'POST', path: '/api/v1/clusters', body: spec });
}

export function scaleNodePool(api: ApiClient, id: string, pool: string, count: number): Promise<CommandAccepted> {
  return api.json({ method: 'POST', path: `${clusterPath(id)}/node-pools/${encodeURIComponent(pool)}/scale`, body: { count } });
}

export function approveUpgradeStep(api: ApiClient, id: string, planId: string, toVersion: string): Promise<CommandAccepted> {
  return api.json({ method: 'POST', path: `${clusterPath(id)}/upgrades`, body: { planId, toVersion } });
}

export function deleteCluster(api: ApiClient, id: string, reason: string | undefined): Promise<CommandAccepted> {
  return api.json({ method: 'DELETE', path: clusterPath(id), ...(reason === undefined ? {} : { body: { reason } }) });
}

/** The provisioner's machines and conditions of a platform-managed cluster; undefined when it holds none (connected clusters). */
export async function provisionerCluster(api: ApiClient, id: string): Promise<ProvisionerCluster | undefined> {
  const response = await api.send({ path: `/api/v1/provisioner/clusters/${encodeURIComponent(id)}`, allow: [404] });
  return response.status === 404 ? undefined : (JSON.parse(response.text) as ProvisionerCluster);
}

/** The planner's facts about the cluster; undefined when it has none yet. */
export async function fleetEntry(api: ApiClient, id: string): Promise<FleetAnswer | undefined> {
  const response = await api.send({ path: `/api/v1/fleet/${encodeURIComponent(id)}`, allow: [404] });
  return response.status === 404 ? undefined : (JSON.parse(response.text) as FleetAnswer);
}

export function supportMatrix(api: ApiClient): Promise<SupportMatrixView> {
  return api.json({ path: '/api/v1/support-matrix' });
}

export function createUpgradePlan(api: ApiClient, body: { fromRelease: string; toRelease: string; toVersion?: string; maxConcurrency?: number }): Promise<UpgradePlan> {
  return api.json({ method: 'POST', path: '/api/v1/upgrade-plans', body });
}

export async function listUpgradePlans(api: ApiClient): Promise<PlanListItem[]> {
  return (await api.json<{ items: PlanListItem[] }>({ path: '/api/v1/upgrade-plans' })).items;
}

export function getUpgradePlan(api: ApiClient, id: string): Promise<UpgradePlan> {
  return api.json({ path: `/api/v1/upgrade-plans/${encodeURIComponent(id)}` });
}

/** The importer's view of a connected cluster (provider, API server, node count); undefined when it holds none. */
export async function connectedCluster(api: ApiClient, id: string): Promise<ConnectedClusterView | undefined> {
  const response = await api.send({ path: `/api/v1/connected-clusters/${encodeURIComponent(id)}`, allow: [404] });
  return response.status === 404 ? undefined : (JSON.parse(response.text) as ConnectedClusterView);
}
