import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { ClusterModel, Reason } from '@flotilla/contracts';
import type { AttentionReason } from '../domain/cluster-attention.js';
import type { ClusterAccess, ClusterStatus, Refusal } from '../domain/cluster-view.js';
import { foldOverview, type ClusterNeedingAction, type CountGroup, type FleetOverview } from '../domain/fleet-overview.js';
import { filterConditions, type ClusterFilter } from './cluster-filter.js';

/** How many clusters needing action the overview names. */
export const NEEDING_ACTION_SHOWN = 10;

interface GroupRow {
  model: ClusterModel | null;
  status: ClusterStatus;
  provider: string | null;
  kubernetes_version: string | null;
  access: ClusterAccess | null;
  tunnel: 'connected' | 'disconnected' | null;
  attention: AttentionReason[];
  clusters: number;
  nodes: number;
  ready: number;
}

interface NeedingRow {
  id: string;
  name: string | null;
  status: ClusterStatus;
  attention: AttentionReason[];
  reasons: Reason[];
  last_refusal: Refusal | null;
}

/**
 * The groups counted and the changes not folded in yet, matching `conditions`: by label set when
 * a condition names labels, else from the fleet's counts without labels (as few groups whatever
 * the labels).
 */
function counted(conditions: string[], filter: ClusterFilter): string {
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const counts = filter.labels || filter.scope ? 'cluster_counts' : 'cluster_counts_fleet';
  return `
    SELECT model, status, provider, kubernetes_minor, access, tunnel, attention, clusters, nodes, nodes_ready FROM ${counts} ${where}
    UNION ALL
    SELECT model, status, provider, kubernetes_minor, access, tunnel, attention, clusters, nodes, nodes_ready FROM cluster_count_changes ${where}`;
}

/** How many clusters match `conditions` (filterConditions of `filter`), as a scalar subquery. */
export function countOf(conditions: string[], filter: ClusterFilter): string {
  return `(SELECT coalesce(sum(clusters), 0)::int FROM (${counted(conditions, filter)}) AS counted)`;
}

/**
 * Counts over the fleet read model, from the counts maintained as clusters change (see the
 * ClusterCounts migration): the overview and the totals of filtered lists read groups of alike
 * clusters, never every cluster or its nodes.
 */
@Injectable()
export class FleetCounts {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  /**
   * The fleet's counts, of the clusters carrying `scope` (a label-scoped caller's) or all, and the
   * first clusters needing action: one snapshot, so the list agrees with the counts. One statement
   * is one snapshot and one round trip (a REPEATABLE READ transaction around two reads took five).
   */
  async overview(scope: Record<string, string> | undefined): Promise<FleetOverview> {
    const params: unknown[] = [];
    const filter = scope ? { scope } : {};
    const conditions = filterConditions(filter, params);
    const [row] = await this.unitOfWork.manager.query<{ groups: GroupRow[]; needing: NeedingRow[] }[]>(
      // By minor, what the overview shows: a few hundred groups at most, whatever the patches.
      `WITH grouped AS (
         SELECT nullif(model, '') AS model, status, nullif(provider, '') AS provider, kubernetes_minor AS kubernetes_version,
                nullif(access, '') AS access, nullif(tunnel, '') AS tunnel, attention,
                sum(clusters)::int AS clusters, sum(nodes)::int AS nodes, sum(nodes_ready)::int AS ready
           FROM (${counted(conditions, filter)}) AS counted
          GROUP BY model, status, provider, kubernetes_minor, access, tunnel, attention
         HAVING sum(clusters) <> 0),
       needing AS (
         SELECT id, name, status, attention, reasons, last_refusal FROM clusters
          WHERE attention <> '{}' ${conditions.length > 0 ? `AND ${conditions.join(' AND ')}` : ''}
          ORDER BY id LIMIT ${NEEDING_ACTION_SHOWN})
       SELECT (SELECT coalesce(json_agg(grouped), '[]') FROM grouped) AS groups,
              (SELECT coalesce(json_agg(needing ORDER BY id), '[]') FROM needing) AS needing`,
      params,
    );
    const needing = row?.needing ?? [];
    return foldOverview((row?.groups ?? []).map(toGroup), needing.map((cluster) => ({ id: cluster.id, name: cluster.name, status: cluster.status, reasons: cluster.attention, message: firstMessage(cluster) })));
  }

  /**
   * Folds the changes recorded so far into the counts, unless another replica is doing it; returns
   * how many changes it folded. Changes still being written (uncommitted) wait for the next round.
   * A round with nothing to fold is one look at the change log: the fleet is idle most seconds,
   * and a round's transaction (six round trips, a scan of both counts for empty groups) would
   * otherwise take CPU from the reads it serves every second.
   */
  async compact(): Promise<number> {
    const [pending] = await this.unitOfWork.manager.query<{ any: boolean }[]>(`SELECT EXISTS (SELECT FROM cluster_count_changes) AS any`);
    if (!pending?.any) return 0;
    return this.unitOfWork.manager.transaction(async (manager) => {
      const [lock] = await manager.query<{ locked: boolean }[]>(`SELECT pg_try_advisory_xact_lock(hashtext('inventory.cluster_counts')) AS locked`);
      if (!lock?.locked) return 0;
      const [folded] = await manager.query<{ changes: number }[]>(
        `WITH moved AS (DELETE FROM cluster_count_changes RETURNING ${KEY}, clusters, nodes, nodes_ready),
              merged AS (
                INSERT INTO cluster_counts AS counted (${KEY}, clusters, nodes, nodes_ready)
                SELECT ${KEY}, sum(clusters), sum(nodes), sum(nodes_ready) FROM moved GROUP BY ${KEY} ORDER BY ${KEY}
                ON CONFLICT (${KEY}) DO UPDATE
                  SET clusters = counted.clusters + excluded.clusters, nodes = counted.nodes + excluded.nodes, nodes_ready = counted.nodes_ready + excluded.nodes_ready
                RETURNING 1),
              merged_fleet AS (
                INSERT INTO cluster_counts_fleet AS counted (${FLEET_KEY}, clusters, nodes, nodes_ready)
                SELECT ${FLEET_KEY}, sum(clusters), sum(nodes), sum(nodes_ready) FROM moved GROUP BY ${FLEET_KEY} ORDER BY ${FLEET_KEY}
                ON CONFLICT (${FLEET_KEY}) DO UPDATE
                  SET clusters = counted.clusters + excluded.clusters, nodes = counted.nodes + excluded.nodes, nodes_ready = counted.nodes_ready + excluded.nodes_ready
                RETURNING 1)
         SELECT (SELECT count(*) FROM moved)::int AS changes`,
      );
      // Groups nobody is in any more.
      await manager.query(`DELETE FROM cluster_counts WHERE clusters = 0 AND nodes = 0 AND nodes_ready = 0`);
      await manager.query(`DELETE FROM cluster_counts_fleet WHERE clusters = 0 AND nodes = 0 AND nodes_ready = 0`);
      return folded?.changes ?? 0;
    });
  }
}

/** The key of a count group, with its label set and without (the fleet's counts). */
const FLEET_KEY = 'model, status, provider, kubernetes_version, access, tunnel, attention';
const KEY = `labels, ${FLEET_KEY}`;

function toGroup(row: GroupRow): CountGroup {
  return {
    model: row.model,
    status: row.status,
    provider: row.provider,
    kubernetesVersion: row.kubernetes_version,
    access: row.access,
    tunnel: row.tunnel,
    attention: row.attention,
    clusters: row.clusters,
    nodes: row.nodes,
    readyNodes: row.ready,
  };
}

function firstMessage(row: { attention: AttentionReason[]; reasons: Reason[]; last_refusal: Refusal | null }): ClusterNeedingAction['message'] {
  if (row.attention.includes('refused') && row.last_refusal?.reasons[0]) return row.last_refusal.reasons[0].message;
  return row.reasons[0]?.message ?? row.last_refusal?.reasons[0]?.message ?? null;
}
