import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { UnitOfWork } from '@flotilla/messaging';
import { EventRejected, type CloudEvent } from '@flotilla/contracts';
import type { ClusterView } from '../domain/cluster-view.js';
import { rejectionFromHistory, type HistoryEntry } from '../domain/fleet-projection.js';
import { ClusterEventEntity } from '../entities/cluster-event.entity.js';
import { ClusterEntity } from '../entities/cluster.entity.js';
import { COLUMNS, isoTime, ITEM_JSON, RECORD, rowToView, toEntity, toRecords, toView, type ClusterRow } from './cluster-rows.js';

/** Where a page of a cluster's history ends: the time and id of its last (oldest) entry. */
export interface HistoryCursor {
  time: string;
  eventId: string;
}

/** A line of a cluster's history as read (a rejection's data stays in the table). */
export type HistoryItem = Omit<ClusterEventEntity, 'detail'>;

export interface HistoryPage {
  items: HistoryItem[];
  nextCursor: string | null;
}

export function encodeHistoryCursor(cursor: HistoryCursor): string {
  return Buffer.from(JSON.stringify([cursor.time, cursor.eventId])).toString('base64url');
}

/** The cursor a client sent back, or undefined when it is not one this API made. */
export function decodeHistoryCursor(text: string): HistoryCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return undefined;
    const [time, eventId] = value as unknown[];
    if (typeof time !== 'string' || typeof eventId !== 'string' || eventId.length === 0 || Number.isNaN(Date.parse(time))) return undefined;
    return { time: new Date(time).toISOString(), eventId };
  } catch {
    return undefined;
  }
}

/** A history line as answers show it (HistoryLine without the rejection's data), as JSON built by PostgreSQL. */
const HISTORY_LINE_JSON = `json_build_object('eventId', event_id, 'type', type, 'source', source, 'traceId', trace_id, 'summary', summary, 'time', ${isoTime('time')})`;

/**
 * A cluster's detail as the answer's JSON text (ClusterDetailAnswer): the cluster as lists show
 * it, the newest page of its history and the cursor to the next; `labels` for the caller's scope.
 */
export interface ClusterDetail {
  labels: Record<string, string>;
  json: string;
}

/** A page of `limit` lines from up to `limit + 1` read, newest first: the one more says whether older ones follow. */
function historyPage(entries: readonly HistoryItem[], limit: number): HistoryPage {
  const items = entries.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: entries.length > limit && last ? encodeHistoryCursor({ time: last.time.toISOString(), eventId: last.eventId }) : null };
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

  /**
   * A cluster and the newest page of its history, read from one snapshot: read apart, a
   * projection committing between the two reads would show a history line whose effect the
   * cluster's state does not show yet. One statement is one snapshot, and one round trip (a
   * REPEATABLE READ transaction around two reads took five); PostgreSQL builds the JSON, the
   * service never parses it.
   */
  async detail(id: string, limit: number): Promise<ClusterDetail | undefined> {
    const [row] = await this.unitOfWork.manager.query<{ labels: Record<string, string>; item: string; read: number; lines: string; last_time: string | null; last_id: string | null }[]>(
      `SELECT labels, ${ITEM_JSON}::text AS item, history.*
         FROM clusters,
              LATERAL (SELECT count(*)::int AS read,
                              coalesce(json_agg(line ORDER BY n) FILTER (WHERE n <= $3), '[]')::text AS lines,
                              min(iso_time) FILTER (WHERE n = $3) AS last_time, min(event_id) FILTER (WHERE n = $3) AS last_id
                         FROM (SELECT ${HISTORY_LINE_JSON} AS line, event_id, ${isoTime('time')} AS iso_time, row_number() OVER (ORDER BY time DESC, event_id DESC) AS n
                                 FROM cluster_events WHERE cluster_id = $1 ORDER BY time DESC, event_id DESC LIMIT $2) AS newest) AS history
        WHERE id = $1`,
      [id, limit + 1, limit],
    );
    if (!row) return undefined;
    const nextCursor = row.read > limit && row.last_time !== null && row.last_id !== null ? encodeHistoryCursor({ time: row.last_time, eventId: row.last_id }) : null;
    // The item is a JSON object: its closing brace gives way to the history.
    return { labels: row.labels, json: `${row.item.slice(0, -1)},"history":${row.lines},"historyNextCursor":${JSON.stringify(nextCursor)}}` };
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
      `INSERT INTO clusters (id, name, model, labels, status, kubernetes_version, distribution, nodes, node_count, reasons, warnings, reachable, tunnel, access, provider, region, nodes_ready, attention,
                             last_event_time, pending_requests, last_refusal, progress, fact_times)
       SELECT r.id, r.name, r.model, r.labels, r.status, r.kubernetes_version, r.distribution, r.nodes, jsonb_array_length(r.nodes), r.reasons, r.warnings, r.reachable, r.tunnel, r.access,
              r.provider, r.region, r.nodes_ready, r.attention, r.last_event_time, r.pending_requests, r.last_refusal, r.progress, r.fact_times
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
              tunnel = r.tunnel, access = r.access, provider = r.provider, region = r.region, nodes_ready = r.nodes_ready, attention = r.attention, last_event_time = r.last_event_time, pending_requests = r.pending_requests, last_refusal = r.last_refusal, progress = r.progress,
              fact_times = r.fact_times, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS r(${RECORD})
        WHERE c.id = r.id`,
      [toRecords(views)],
    );
  }

  /** Appends history lines; an event already in the history is not added twice. */
  async appendHistory(entries: readonly HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.unitOfWork.manager.query(
      `INSERT INTO cluster_events (event_id, cluster_id, type, source, time, trace_id, summary, detail)
       SELECT r.event_id, r.cluster_id, r.type, r.source, r.time, r.trace_id, r.summary, r.detail
         FROM jsonb_to_recordset($1::jsonb) AS r(event_id text, cluster_id text, type text, source text, time timestamptz, trace_id text, summary text, detail jsonb)
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
            detail: entry.detail,
          })),
        ),
      ],
    );
  }

  /**
   * Takes the ids no other transaction holds, until this one ends, whether a cluster has the id
   * yet or not (an advisory lock per id, tried without waiting, so replicas never deadlock nor
   * wait on each other): the ids taken.
   */
  async tryLockIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.unitOfWork.manager.query<{ id: string }[]>(
      `SELECT id FROM unnest($1::text[]) AS id WHERE pg_try_advisory_xact_lock(hashtext('inventory.cluster:' || id))`,
      [ids],
    );
    return new Set(rows.map((row) => row.id));
  }

  /**
   * The rejections recorded about ids the read model has no cluster for (yet), by id, oldest
   * first: the batch applies them to a cluster it makes known.
   */
  async rejectionsOf(ids: readonly string[]): Promise<Map<string, CloudEvent[]>> {
    if (ids.length === 0) return new Map();
    const rows = await this.unitOfWork.manager.query<{ event_id: string; cluster_id: string; source: string; time: Date; detail: Record<string, unknown> }[]>(
      `SELECT event_id, cluster_id, source, time, detail FROM cluster_events
        WHERE cluster_id = ANY($1::text[]) AND type = $2 AND detail IS NOT NULL ORDER BY cluster_id, time, event_id`,
      [ids, EventRejected.type],
    );
    const byId = new Map<string, CloudEvent[]>();
    for (const row of rows) {
      const event = rejectionFromHistory({ eventId: row.event_id, clusterId: row.cluster_id, source: row.source, time: row.time.toISOString(), detail: row.detail });
      byId.set(row.cluster_id, [...(byId.get(row.cluster_id) ?? []), event]);
    }
    return byId;
  }

  /**
   * A cluster's history, newest first, a page at a time: keyset pagination on (time, event id),
   * so a page is stable while new events arrive and cheap however long the history is.
   */
  async history(clusterId: string, limit: number, cursor?: HistoryCursor, manager: EntityManager = this.unitOfWork.manager): Promise<HistoryPage> {
    const query = manager.getRepository(ClusterEventEntity).createQueryBuilder('e').where('e.clusterId = :clusterId', { clusterId });
    if (cursor) query.andWhere('(e.time, e.eventId) < (:time::timestamptz, :eventId)', { time: cursor.time, eventId: cursor.eventId });
    return historyPage(await query.orderBy('e.time', 'DESC').addOrderBy('e.eventId', 'DESC').take(limit + 1).getMany(), limit);
  }

}
