import { useState } from 'react';
import { getJson } from '../../api/client.js';
import type { HistoryLine, HistoryPage } from '../../api/types.js';
import { ErrorNote } from '../../components/feedback.js';
import { describeError } from '../../lib/errors.js';
import { formatTime, traceLink } from '../../lib/format.js';
import { usePolled } from '../../live.js';
import { ColumnHeads } from '../../components/table.js';

/** The event name of a CloudEvents type: `io.flotilla.cluster.ready.v1` reads "cluster.ready". */
function eventName(type: string): string {
  return type.replace(/^io\.flotilla\./, '').replace(/\.v\d+$/, '');
}

/** The service of a CloudEvents source: `/flotilla/provisioner` reads "provisioner". */
function serviceOf(source: string): string {
  return source.replace(/^\/flotilla\//, '');
}

/** The cluster's history, newest first: the newest page is kept live, older pages load on request. */
export function Timeline({ id, traceViewerUrl }: { id: string; traceViewerUrl: string | undefined }) {
  const path = `/api/v1/clusters/${encodeURIComponent(id)}/history`;
  const newest = usePolled(`history:${id}`, () => getJson<HistoryPage>(path, { limit: 50 }));
  const [older, setOlder] = useState<{ items: HistoryLine[]; nextCursor: string | null }>({ items: [], nextCursor: null });
  const [olderError, setOlderError] = useState<string>();
  const nextCursor = older.items.length > 0 ? older.nextCursor : (newest.data?.nextCursor ?? null);
  const seen = new Set(newest.data?.items.map((line) => line.eventId));
  const lines = [...(newest.data?.items ?? []), ...older.items.filter((line) => !seen.has(line.eventId))];

  const loadOlder = async () => {
    if (!nextCursor) return;
    try {
      const page = await getJson<HistoryPage>(path, { limit: 50, cursor: nextCursor });
      setOlder({ items: [...older.items, ...page.items], nextCursor: page.nextCursor });
      setOlderError(undefined);
    } catch (error) {
      setOlderError(describeError(error));
    }
  };

  return (
    <section aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">Event timeline</h2>
      <ErrorNote message={newest.error} />
      <table className="timeline">
        <caption>Every event about the cluster, newest first, with the service that sent it and its trace</caption>
        <ColumnHeads names={['Time', 'Event', 'Service', 'What happened', 'Trace']} />
        <tbody>
          {lines.map((line) => {
            const link = traceLink(traceViewerUrl, line.traceId);
            return (
              <tr key={line.eventId}>
                <td>{formatTime(line.time)}</td>
                <th scope="row">{eventName(line.type)}</th>
                <td>{serviceOf(line.source)}</td>
                <td>{line.summary}</td>
                <td className="mono">
                  {link ? (
                    <a href={link} target="_blank" rel="noreferrer noopener">
                      {line.traceId}
                    </a>
                  ) : (
                    (line.traceId ?? '—')
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {nextCursor ? (
        <button type="button" onClick={() => void loadOlder()}>
          Older events
        </button>
      ) : null}
      <ErrorNote message={olderError} />
    </section>
  );
}
