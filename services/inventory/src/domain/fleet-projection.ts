import { EventRejected, type CloudEvent } from '@flotilla/contracts';
import { evolve, summarise, type ClusterView } from './cluster-view.js';

/** One line of a cluster's history. */
export interface HistoryEntry {
  eventId: string;
  clusterId: string;
  type: string;
  source: string;
  time: string;
  traceId: string | null;
  summary: string;
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
export function projectBatch(current: ReadonlyMap<string, ClusterView>, events: readonly CloudEvent[]): BatchProjection {
  const views = new Map<string, ClusterView>();
  const history: HistoryEntry[] = [];
  for (const event of events) {
    const view = views.get(event.subject) ?? current.get(event.subject);
    const next = evolve(view, event);
    if (next) views.set(event.subject, next);
    // Rejections are kept even for ids no cluster has: operators look for them by subject.
    if (next || view || event.type === EventRejected.type) {
      history.push({
        eventId: event.id,
        clusterId: event.subject,
        type: event.type,
        source: event.source,
        time: event.time,
        traceId: traceIdOf(event.traceparent),
        summary: summarise(event),
      });
    }
  }
  return { views, history };
}
