import { useState } from 'react';
import { getJson } from '../api/client.js';
import type { AuditPage } from '../api/types.js';
import { ErrorNote, LiveStatus, PageHeading } from '../components/feedback.js';
import { formatTime, traceLink } from '../lib/format.js';
import { usePolled } from '../live.js';
import { ColumnHeads, Pager, useCursorPages } from '../components/table.js';

/** The fleet's audit trail (admins), newest first, filtered, a page at a time. */
export function AuditLogPage({ traceViewerUrl }: { traceViewerUrl: string | undefined }) {
  const [result, setResult] = useState('');
  const [subject, setSubject] = useState('');
  const [clusterId, setClusterId] = useState('');
  const [filters, setFilters] = useState({ result: '', subject: '', clusterId: '' });
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const page = usePolled(`audit:${JSON.stringify(filters)}:${cursor ?? ''}`, () => getJson<AuditPage>('/api/v1/audit', { ...filters, limit: 50, cursor }));

  return (
    <main id="main">
      <PageHeading>Audit log</PageHeading>
      <form
        className="filters"
        aria-label="Filter the audit log"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters({ result, subject: subject.trim(), clusterId: clusterId.trim() });
          pages.reset();
        }}
      >
        <div>
          <label htmlFor="audit-result">Result</label>
          <select id="audit-result" value={result} onChange={(event) => setResult(event.target.value)}>
            <option value="">Any result</option>
            <option value="ok">ok</option>
            <option value="refused">refused</option>
            <option value="failed">failed</option>
          </select>
        </div>
        <div>
          <label htmlFor="audit-subject">Caller</label>
          <input id="audit-subject" value={subject} onChange={(event) => setSubject(event.target.value)} />
        </div>
        <div>
          <label htmlFor="audit-cluster">Cluster id</label>
          <input id="audit-cluster" value={clusterId} onChange={(event) => setClusterId(event.target.value)} />
        </div>
        <button type="submit">Filter</button>
      </form>
      <LiveStatus updatedAt={page.updatedAt} loading={page.loading} />
      <ErrorNote message={page.error} />
      {page.data ? (
        <>
          <table>
            <caption>Audit records, newest first, page {pages.page}</caption>
            <ColumnHeads names={['Time', 'Caller', 'Request', 'Service', 'Cluster', 'Result', 'Trace']} />
            <tbody>
              {page.data.items.length === 0 ? (
                <tr>
                  <td colSpan={7}>No record matches.</td>
                </tr>
              ) : (
                page.data.items.map((record) => {
                  const link = traceLink(traceViewerUrl, record.traceId ?? null);
                  return (
                    <tr key={record.id}>
                      <td>{formatTime(record.time)}</td>
                      <td>
                        {record.subject}
                        {record.role ? ` (${record.role})` : ''}
                      </td>
                      <th scope="row">
                        {record.method} {record.route}
                      </th>
                      <td>{record.service}</td>
                      <td>{record.clusterId ?? '—'}</td>
                      <td>
                        {record.result} {record.status}
                        {record.reason ? `: ${record.reason}` : ''}
                      </td>
                      <td className="mono">{link ? <a href={link} target="_blank" rel="noreferrer noopener">{record.traceId}</a> : (record.traceId ?? '—')}</td>
                    </tr>
                  );
                })
              )}
            </tbody>
          </table>
          <Pager label="Pages of the audit log" pages={pages} nextCursor={page.data.nextCursor} />
        </>
      ) : null}
    </main>
  );
}
