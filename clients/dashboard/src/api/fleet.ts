// The overview's data: the inventory's counts, and the planner's fleet against the support matrix.
import type { Cluster, ClusterPage, FleetCluster, FleetPage, SupportMatrix } from './types.js';
import { getJson } from './client.js';
import { ApiError } from '../lib/errors.js';
import { fleetCompliance, type Compliance } from '../lib/compliance.js';
import { fromOverviewAnswer, overviewOf, type Overview, type OverviewAnswer } from '../lib/overview.js';

/** At most this many clusters are read page by page when the counts must be made here. */
export const LISTED_AT_MOST = 5_000;

export interface LoadedOverview {
  overview: Overview;
  /** `overview`: the inventory's GET /api/v1/overview; `list`: counted here from the cluster list. */
  source: 'overview' | 'list';
  /** Counted from the first LISTED_AT_MOST clusters only. */
  partial: boolean;
}

export async function loadOverview(): Promise<LoadedOverview> {
  try {
    return { overview: fromOverviewAnswer(await getJson<OverviewAnswer>('/api/v1/overview')), source: 'overview', partial: false };
  } catch (error) {
    // An inventory without the overview route: count from the list.
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  const { items, partial } = await readAll<Cluster, ClusterPage>('/api/v1/clusters', 500);
  return { overview: overviewOf(items), source: 'list', partial };
}

export interface ComplianceAnswer {
  matrix: SupportMatrix;
  compliance: Compliance | undefined;
  /** Judged from the first LISTED_AT_MOST clusters of the planner's fleet only. */
  partial: boolean;
}

export async function loadCompliance(): Promise<ComplianceAnswer> {
  const [matrix, fleet] = await Promise.all([getJson<SupportMatrix>('/api/v1/support-matrix'), readAll<FleetCluster, FleetPage>('/api/v1/fleet', 1000)]);
  return { matrix, compliance: fleetCompliance(fleet.items, matrix), partial: fleet.partial };
}

/** Every item of a cursor-paginated list, up to LISTED_AT_MOST. */
async function readAll<T, P extends { items: T[]; nextCursor: string | null }>(path: string, limit: number): Promise<{ items: T[]; partial: boolean }> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: P = await getJson<P>(path, { limit, cursor });
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < LISTED_AT_MOST);
  return { items, partial: cursor !== null };
}
