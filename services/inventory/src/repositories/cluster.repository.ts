import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { ClusterModel, Node, Reason } from '@flotilla/contracts';
import type { ClusterStatus, ClusterView } from '../domain/cluster-view.js';
import type { HistoryEntry } from '../domain/fleet-projection.js';
import { ClusterEventEntity } from '../entities/cluster-event.entity.js';
import { ClusterEntity } from '../entities/cluster.entity.js';

export interface ClusterFilter {
  model?: ClusterModel;
  status?: ClusterStatus;
  /** Only clusters carrying every one of these labels (a label-scoped caller's view). */
  labels?: Record<string, string>;
}

export interface ClusterPage {
  items: ClusterView[];
  total: number;
  nextCursor: string | null;
}

/** The fleet read model in PostgreSQL. Joins the caller's transaction when there is one. */
@Injectable()
export class ClusterRepository {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  private get clusters() {
    return this.unitOfWork.manager.getRepository(ClusterEntity);
  }

  /**
   * Reads clusters and locks their rows until the transaction ends, in id order (no deadlocks
   * between replicas): projections of one cluster serialise.
   */
  async lockMany(ids: readonly string[]): Promise<Map<string, ClusterView>> {
    if (ids.length === 0) return new Map();
    const rows = await this.unitOfWork.manager.query<ClusterRow[]>(`SELECT ${COLUMNS} FROM clusters WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`, [ids]);
    return new Map(rows.map((row) => [row.id, rowToView(row)]));
  }

  async find(id: string): Promise<ClusterView | undefined> {
    const entity = await this.clusters.findOneBy({ id });
    return entity ? toView(entity) : undefined;
  }

  /** Inserts only if the id is free; false when it is taken. */
  async insertIfAbsent(view: ClusterView): Promise<boolean> {
    const result = await this.clusters.createQueryBuilder().insert().values(toEntity(view)).orIgnore().returning('id').execute();
    return (result.raw as unknown[]).length > 0;
  }

  /**
   * Inserts new clusters, in id order (two replicas inserting the same ids wait for each other
   * instead of deadlocking); returns the ids inserted. An id missing from the result was
   * inserted by another transaction first.
   */
  async insertMany(views: readonly ClusterView[]): Promise<Set<string>> {
    if (views.length === 0) return new Set();
    const rows = await this.unitOfWork.manager.query<{ id: string }[]>(
      `INSERT INTO clusters (id, name, model, labels, status, kubernetes_version, distribution, nodes, node_count, reasons, warnings, reachable, tunnel, last_event_time)
       SELECT r.id, r.name, r.model, r.labels, r.status, r.kubernetes_version, r.distribution, r.nodes, jsonb_array_length(r.nodes), r.reasons, r.warnings, r.reachable, r.tunnel, r.last_event_time
         FROM jsonb_to_recordset($1::jsonb) AS r(${RECORD})
        ORDER BY r.id
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [toRecords(views)],
    );
    return new Set(rows.map((row) => row.id));
  }

  /** Writes the new state of existing clusters, one statement for all of them. */
  async updateMany(views: readonly ClusterView[]): Promise<void> {
    if (views.length === 0) return;
    await this.unitOfWork.manager.query(
      `UPDATE clusters c
          SET name = r.name, model = r.model, labels = r.labels, status = r.status, kubernetes_version = r.kubernetes_version, distribution = r.distribution,
              nodes = r.nodes, node_count = jsonb_array_length(r.nodes), reasons = r.reasons, warnings = r.warnings, reachable = r.reachable,
              tunnel = r.tunnel, last_event_time = r.last_event_time, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS r(${RECORD})
        WHERE c.id = r.id`,
      [toRecords(views)],
    );
  }

  /** Appends history lines; an event already in the history is not added twice. */
  async appendHistory(entries: readonly HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.unitOfWork.manager.query(
      `INSERT INTO cluster_events (event_id, cluster_id, type, source, time, trace_id, summary)
       SELECT r.event_id, r.cluster_id, r.type, r.source, r.time, r.trace_id, r.summary
         FROM jsonb_to_recordset($1::jsonb) AS r(event_id text, cluster_id text, type text, source text, time timestamptz, trace_id text, summary text)
       ON CONFLICT (event_id) DO NOTHING`,
      [
        JSON.stringify(
          entries.map((entry) => ({
            event_id: entry.eventId,
            cluster_id: entry.clusterId,
            type: entry.type,
            source: entry.source,
            time: entry.time,
            trace_id: entry.traceId,
            summary: entry.summary,
          })),
        ),
      ],
    );
  }

  /** Whether the cluster's history holds an event of this CloudEvents type. */
  async hasEvent(clusterId: string, type: string): Promise<boolean> {
    return this.unitOfWork.manager.getRepository(ClusterEventEntity).existsBy({ clusterId, type });
  }

  async history(clusterId: string, limit = 200): Promise<ClusterEventEntity[]> {
    return this.unitOfWork.manager.getRepository(ClusterEventEntity).find({ where: { clusterId }, order: { time: 'ASC' }, take: limit });
  }

  /** Keyset pagination by id: stable and cheap however large the fleet. */
  async list(filter: ClusterFilter, limit: number, after: string | undefined): Promise<ClusterPage> {
    const query = this.clusters.createQueryBuilder('c');
    if (filter.model) query.andWhere('c.model = :model', { model: filter.model });
    if (filter.status) query.andWhere('c.status = :status', { status: filter.status });
    if (filter.labels) query.andWhere('c.labels @> :labels::jsonb', { labels: JSON.stringify(filter.labels) });
    const total = await query.clone().getCount();
    if (after) query.andWhere('c.id > :after', { after });
    const entities = await query.orderBy('c.id', 'ASC').take(limit + 1).getMany();
    const items = entities.slice(0, limit).map(toView);
    return { items, total, nextCursor: entities.length > limit ? (items.at(-1)?.id ?? null) : null };
  }
}

/** The columns of a view, as the projection's statements read and write them. */
const COLUMNS = 'id, name, model, labels, status, kubernetes_version, distribution, nodes, reasons, warnings, reachable, tunnel, last_event_time';
const RECORD =
  'id text, name text, model text, labels jsonb, status text, kubernetes_version text, distribution text, nodes jsonb, reasons jsonb, warnings jsonb, reachable boolean, tunnel text, last_event_time timestamptz';

interface ClusterRow {
  id: string;
  name: string | null;
  model: ClusterModel | null;
  labels: Record<string, string>;
  status: ClusterStatus;
  kubernetes_version: string | null;
  distribution: string | null;
  nodes: Node[];
  reasons: Reason[];
  warnings: Reason[];
  reachable: boolean | null;
  tunnel: 'connected' | 'disconnected' | null;
  last_event_time: Date;
}

function rowToView(row: ClusterRow): ClusterView {
  return {
    id: row.id,
    name: row.name,
    model: row.model,
    labels: row.labels,
    status: row.status,
    kubernetesVersion: row.kubernetes_version,
    distribution: row.distribution,
    nodes: row.nodes,
    reasons: row.reasons,
    warnings: row.warnings,
    reachable: row.reachable,
    tunnel: row.tunnel,
    lastEventTime: row.last_event_time.toISOString(),
  };
}

/** Views as one JSON parameter for jsonb_to_recordset, sorted by id. */
function toRecords(views: readonly ClusterView[]): string {
  return JSON.stringify(
    [...views]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((view) => ({
        id: view.id,
        name: view.name,
        model: view.model,
        labels: view.labels,
        status: view.status,
        kubernetes_version: view.kubernetesVersion,
        distribution: view.distribution,
        nodes: view.nodes,
        reasons: view.reasons,
        warnings: view.warnings,
        reachable: view.reachable,
        tunnel: view.tunnel,
        last_event_time: view.lastEventTime,
      })),
  );
}

function toView(entity: ClusterEntity): ClusterView {
  return {
    id: entity.id,
    name: entity.name,
    model: entity.model,
    labels: entity.labels,
    status: entity.status,
    kubernetesVersion: entity.kubernetesVersion,
    distribution: entity.distribution,
    nodes: entity.nodes,
    reasons: entity.reasons,
    warnings: entity.warnings,
    reachable: entity.reachable,
    tunnel: entity.tunnel,
    lastEventTime: entity.lastEventTime.toISOString(),
  };
}

function toEntity(view: ClusterView): Partial<ClusterEntity> {
  return {
    id: view.id,
    name: view.name,
    model: view.model,
    labels: view.labels,
    status: view.status,
    kubernetesVersion: view.kubernetesVersion,
    distribution: view.distribution,
    nodes: view.nodes,
    nodeCount: view.nodes.length,
    reasons: view.reasons,
    warnings: view.warnings,
    reachable: view.reachable,
    tunnel: view.tunnel,
    lastEventTime: new Date(view.lastEventTime),
  };
}
