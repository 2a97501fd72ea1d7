import { useState } from 'react';
import { getJson } from '../api/client.js';
import { CLUSTER_MODELS, CLUSTER_STATUSES, type ClusterPage } from '../api/types.js';
import { ErrorNote, LiveStatus, PageHeading, StatusBadge } from '../components/feedback.js';
import { formatAgo } from '../lib/format.js';
import { usePolled } from '../live.js';
import { Link, navigate, useLocation } from '../router.js';
import { ColumnHeads, Pager, useCursorPages } from '../components/table.js';

const PAGE_SIZE = 25;

/** The fleet, filtered by model and status, a page at a time with the API's cursor. */
export function ClusterListPage({ canCreate }: { canCreate: boolean }) {
  const url = useLocation();
  const model = url.searchParams.get('model') ?? '';
  const status = url.searchParams.get('status') ?? '';
  const pages = useCursorPages();
  // A new filter starts again at the first page.
  const [filterKey, setFilterKey] = useState(`${model}|${status}`);
  if (filterKey !== `${model}|${status}`) {
    setFilterKey(`${model}|${status}`);
    pages.reset();
  }
  const cursor = pages.cursor;
  const page = usePolled(`clusters:${model}:${status}:${cursor ?? ''}`, () => getJson<ClusterPage>('/api/v1/clusters', { model, status, limit: PAGE_SIZE, cursor }));

  const setFilter = (name: 'model' | 'status', value: string) => {
    const next = new URLSearchParams(url.searchParams);
    if (value) next.set(name, value);
    else next.delete(name);
    const query = next.toString();
    navigate(`/clusters${query ? `?${query}` : ''}`, true);
  };

  return (
    <main id="main">
      <PageHeading>Clusters</PageHeading>
      {canCreate ? (
        <p>
          <Link to="/create-cluster">Create a cluster</Link>
        </p>
      ) : null}
      <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label="Filter clusters">
        <div>
          <label htmlFor="filter-model">Model</label>
          <select id="filter-model" value={model} onChange={(event) => setFilter('model', event.target.value)}>
            <option value="">Any model</option>
            {CLUSTER_MODELS.map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="filter-status">Status</label>
          <select id="filter-status" value={status} onChange={(event) => setFilter('status', event.target.value)}>
            <option value="">Any status</option>
            {CLUSTER_STATUSES.map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        </div>
      </form>
      <LiveStatus updatedAt={page.updatedAt} loading={page.loading} />
      <ErrorNote message={page.error} />
      {page.data ? (
        <>
          <table>
            <caption>
              {page.data.total !== undefined ? `${page.data.total} ${page.data.total === 1 ? 'cluster' : 'clusters'}` : 'Clusters'}
              {model || status ? ` (${[model, status].filter(Boolean).join(', ')})` : ''}, page {pages.page}
            </caption>
            <ColumnHeads names={['Cluster', 'Model', 'Status', 'Kubernetes', 'Nodes', 'Last event']} />
            <tbody>
              {page.data.items.length === 0 ? (
                <tr>
                  <td colSpan={6}>No cluster matches.</td>
                </tr>
              ) : (
                page.data.items.map((cluster) => (
                  <tr key={cluster.id}>
                    <th scope="row">
                      <Link to={`/clusters/${encodeURIComponent(cluster.id)}`}>{cluster.name && cluster.name !== cluster.id ? `${cluster.name} (${cluster.id})` : cluster.id}</Link>
                    </th>
                    <td>{cluster.model ?? '—'}</td>
                    <td>
                      <StatusBadge status={cluster.status} />
                    </td>
                    <td>{cluster.kubernetesVersion ?? '—'}</td>
                    <td>{cluster.nodes.length}</td>
                    <td>{formatAgo(cluster.lastEventTime)}</td>
                  </tr>
                ))
              )}
            </tbody>
          </table>
          <Pager label="Pages of clusters" pages={pages} nextCursor={page.data.nextCursor} />
        </>
      ) : null}
    </main>
  );
}
