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

/** Counts over the fleet read model: the overview, and the totals of filtered lists. */
@Injectable()
export class FleetCounts {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  /** How many clusters match a filter. */
  async count(filter: ClusterFilter): Promise<number> {
    const params: unknown[] = [];
    const conditions = filterConditions(filter, params);
    const [row] = await this.unitOfWork.manager.query<{ count: number }[]>(
      `SELECT count(*)::int AS count FROM clusters ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}`,
      params,
    );
    return row?.count ?? 0;
  }

  /**
   * The fleet's counts, of the clusters carrying `scope` (a label-scoped caller's) or all, and the
   * first clusters needing action: one snapshot, so the list agrees with the counts.
   */
  async overview(scope: Record<string, string> | undefined): Promise<FleetOverview> {
    return this.unitOfWork.manager.transaction('REPEATABLE READ', async (manager) => {
      const params: unknown[] = [];
      const conditions = filterConditions(scope ? { scope } : {}, params);
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      const groups = await manager.query<GroupRow[]>(
        `SELECT model, status, provider, kubernetes_version, access, tunnel, attention,
                count(*)::int AS clusters, sum(node_count)::int AS nodes, sum(nodes_ready)::int AS ready
           FROM clusters ${where}
          GROUP BY model, status, provider, kubernetes_version, access, tunnel, attention`,
        params,
      );
      const needing = await manager.query<{ id: string; name: string | null; status: ClusterStatus; attention: AttentionReason[]; reasons: Reason[]; last_refusal: Refusal | null }[]>(
        `SELECT id, name, status, attention, reasons, last_refusal FROM clusters
          WHERE attention <> '{}' ${conditions.length > 0 ? `AND ${conditions.join(' AND ')}` : ''}
          ORDER BY id LIMIT ${NEEDING_ACTION_SHOWN}`,
        params,
      );
      return foldOverview(groups.map(toGroup), needing.map((row) => ({ id: row.id, name: row.name, status: row.status, reasons: row.attention, message: firstMessage(row) })));
    });
  }
}

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
