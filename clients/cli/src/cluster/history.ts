import type { HistoryLine } from '../api/types.js';
import { duration, renderCells } from '../output/table.js';

/** `io.flotilla.cluster.nodes-provisioned.v1` -> `cluster.nodes-provisioned`. */
export function eventName(type: string): string {
  return type.replace(/^io\.flotilla\./, '').replace(/\.v\d+$/, '');
}

/** `/flotilla/provisioner` -> `provisioner`; other sources as they are. */
export function serviceName(source: string): string {
  const match = /^\/flotilla\/([^/]+)/.exec(source);
  return match ? match[1]! : source;
}

/** One chain of events carried by one trace (or the events that carried none). */
export interface TraceChain {
  traceId: string | null;
  /** Oldest first. */
  events: HistoryLine[];
  start: string;
  /** From the first event to the last, in milliseconds. */
  spanMs: number;
}

const timeOf = (line: HistoryLine) => new Date(line.time).getTime();
const oldestFirst = (lines: readonly HistoryLine[]) => [...lines].sort((a, b) => timeOf(a) - timeOf(b) || a.eventId.localeCompare(b.eventId));

/** The history grouped by trace id, each chain oldest first, chains by their first event. */
export function traceChains(history: readonly HistoryLine[]): TraceChain[] {
  const groups = new Map<string | null, HistoryLine[]>();
  for (const line of oldestFirst(history)) {
    const group = groups.get(line.traceId) ?? [];
    group.push(line);
    groups.set(line.traceId, group);
  }
  return [...groups.entries()]
    .map(([traceId, events]) => ({ traceId, events, start: events[0]!.time, spanMs: timeOf(events.at(-1)!) - timeOf(events[0]!) }))
    .sort((a, b) => new Date(a.start).getTime() - new Date(b.start).getTime());
}

/** The chain holding event `eventId`, or undefined. */
export function chainOf(chains: readonly TraceChain[], eventId: string): TraceChain | undefined {
  return chains.find((chain) => chain.events.some((event) => event.eventId === eventId));
}

/** Events as rows: time, service, event, the time since the previous one, trace id, summary. */
export function historyTable(lines: readonly HistoryLine[], withTrace: boolean): string {
  const ordered = oldestFirst(lines);
  const rows = ordered.map((line, index) => {
    const previous = ordered[index - 1];
    const after = previous ? `+${duration(timeOf(line) - timeOf(previous))}` : '';
    return [line.time, serviceName(line.source), eventName(line.type), after, ...(withTrace ? [line.traceId ?? ''] : []), line.summary];
  });
  return renderCells(['TIME', 'SERVICE', 'EVENT', 'AFTER', ...(withTrace ? ['TRACE'] : []), 'SUMMARY'], rows);
}

/** The chains as `trace` prints them: a heading per trace (with a link when a trace UI is known), then its events. */
export function renderTraceChains(chains: readonly TraceChain[], traceUrl: string | undefined): string {
  return chains
    .map((chain) => {
      const services = [...new Set(chain.events.map((event) => serviceName(event.source)))].join(' → ');
      const heading = chain.traceId
        ? `Trace ${chain.traceId}: ${chain.events.length} event${chain.events.length === 1 ? '' : 's'} in ${duration(chain.spanMs)} (${services})`
        : `Without a trace id: ${chain.events.length} event${chain.events.length === 1 ? '' : 's'} (${services})`;
      const link = chain.traceId && traceUrl ? `\n  ${traceUrl.replace(/\/+$/, '')}/trace/${chain.traceId}` : '';
      const table = historyTable(chain.events, false)
        .trimEnd()
        .split('\n')
        .map((line) => `  ${line}`)
        .join('\n');
      return `${heading}${link}\n${table}\n`;
    })
    .join('\n');
}
