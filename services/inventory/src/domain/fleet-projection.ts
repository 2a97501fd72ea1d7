import { EventRejected, type CloudEvent } from '@flotilla/contracts';
import { evolve, REQUEST_TYPES, summarise, type ClusterView } from './cluster-view.js';

/** One line of a cluster's history. */
export interface HistoryEntry {
  eventId: string;
  clusterId: string;
  type: string;
  source: string;
  time: string;
  traceId: string | null;
  summary: string;
  /** A rejection's data (EventRejected): applied to its cluster should the cluster become known later. */
  detail: Record<string, unknown> | null;
}

/** What a batch of events does to the read model. */
export interface BatchProjection {
  /** The new view of every cluster the batch changed, by id. */
  views: Map<string, ClusterView>;
  /** History lines, in the order of the events. */
  history: HistoryEntry[];
}

/** The trace id of a W3C traceparent (`00-<trace id>-<span id>-<flags>`), if it has a valid one. */
export function traceIdOf(traceparent: string | undefined): string | null {
  const traceId = traceparent?.split('-')[1];
  return traceId !== undefined && /^[0-9a-f]{32}$/.test(traceId) && !/^0+$/.test(traceId) ? traceId : null;
}

/**
 * Projects a batch of events, in order, onto the current views of their clusters: the same as
 * handling them one at a time (`evolve` per event), but the caller reads and writes each cluster
 * once per batch instead of once per event.
 */
export function projectBatch(current: ReadonlyMap<string, ClusterView>, events: readonly CloudEvent[], earlier: ReadonlyMap<string, readonly CloudEvent[]> = new Map()): BatchProjection {
  const views = new Map<string, ClusterView>();
  const history: HistoryEntry[] = [];
  // Rejections about ids no cluster has yet: delivered out of order, a refusal can come before
  // the request it refuses. They apply to the cluster as soon as it is known.
  const orphans = new Map<string, CloudEvent[]>([...earlier].map(([id, rejections]) => [id, [...rejections]]));
  for (const event of events) {
    const view = views.get(event.subject) ?? current.get(event.subject);
    let next = evolve(view, event);
    if (!view && !next && event.type === EventRejected.type) orphans.set(event.subject, [...(orphans.get(event.subject) ?? []), event]);
    if (!view && next) {
      for (const rejection of orphans.get(event.subject) ?? []) next = evolve(next, rejection) ?? next;
      orphans.delete(event.subject);
    }
    if (next) views.set(event.subject, next);
    // Rejections and requests are kept even for ids no cluster has (yet): operators look for
    // them by subject, and a request can arrive before the facts that make its cluster known.
    if (next || view || event.type === EventRejected.type || REQUEST_TYPES.has(event.type)) {
      history.push({
        eventId: event.id,
        clusterId: event.subject,
        type: event.type,
        source: event.source,
        time: event.time,
        traceId: traceIdOf(event.traceparent),
        summary: summarise(event),
        detail: event.type === EventRejected.type && isRecord(event.data) ? event.data : null,
      });
    }
  }
  return { views, history };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A rejection from the history, as the event it was (for `earlier`). */
export function rejectionFromHistory(entry: { eventId: string; clusterId: string; source: string; time: string; detail: Record<string, unknown> }): CloudEvent {
  return { specversion: '1.0', id: entry.eventId, type: EventRejected.type, source: entry.source, subject: entry.clusterId, time: entry.time, datacontenttype: 'application/json', data: entry.detail };
}
