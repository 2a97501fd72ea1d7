import { useState } from 'react';
import { getJson } from '../api/client.js';
import { CLUSTER_MODELS, CLUSTER_STATUSES, type ClusterPage } from '../api/types.js';
import { ErrorNote, LiveStatus, PageHeading, StatusBadge } from '../components/feedback.js';
import { formatAgo } from '../lib/format.js';
import { usePolled } from '../live.js';
import { Link, navigate, useLocation } from '../router.js';
import { ColumnHeads, Pager, useCursorPages } from '../components/table.js';

const PAGE_SIZE = 25;

/** The query parameters of the list the page keeps in its address: filters, then the order. */
const FILTERS = ['model', 'status', 'provider', 'version'] as const;
const SORTS = [
  ['id', 'Id'],
  ['name', 'Name'],
  ['status', 'Status'],
  ['version', 'Kubernetes version'],
  ['created', 'Created'],
  ['updated', 'Last updated'],
] as const;
type Parameter = (typeof FILTERS)[number] | 'sort' | 'order';

/** The fleet, filtered (model, status; provider and version from the overview's links) and sorted, a page at a time with the API's cursor. */
export function ClusterListPage({ canCreate }: { canCreate: boolean }) {
  const url = useLocation();
  const value = (name: Parameter) => url.searchParams.get(name) ?? '';
  const filters = Object.fromEntries(FILTERS.map((name) => [name, value(name)])) as Record<(typeof FILTERS)[number], string>;
  const sort = value('sort') || 'id';
  const order = value('order') || 'asc';
  const pages = useCursorPages();
  // Another filter or order starts again at the first page (a cursor is valid for its order only).
  const listKey = JSON.stringify([filters, sort, order]);
  const [shownKey, setShownKey] = useState(listKey);
  if (shownKey !== listKey) {
    setShownKey(listKey);
    pages.reset();
  }
  const cursor = pages.cursor;
  const page = usePolled(`clusters:${listKey}:${cursor ?? ''}`, () => getJson<ClusterPage>('/api/v1/clusters', { ...filters, sort, order, limit: PAGE_SIZE, cursor }));
  const described = FILTERS.filter((name) => filters[name]).map((name) => (name === 'model' || name === 'status' ? filters[name] : `${name} ${filters[name]}`));

  const set = (name: Parameter, chosen: string) => {
    const next = new URLSearchParams(url.searchParams);
    if (chosen) next.set(name, chosen);
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
          <select id="filter-model" value={filters.model} onChange={(event) => set('model', event.target.value)}>
            <option value="">Any model</option>
            {CLUSTER_MODELS.map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="filter-status">Status</label>
          <select id="filter-status" value={filters.status} onChange={(event) => set('status', event.target.value)}>
            <option value="">Any status</option>
            {CLUSTER_STATUSES.map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="sort">Sort by</label>
          <select id="sort" value={sort} onChange={(event) => set('sort', event.target.value)}>
            {SORTS.map(([key, label]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="order">Order</label>
          <select id="order" value={order} onChange={(event) => set('order', event.target.value)}>
            <option value="asc">Ascending</option>
            <option value="desc">Descending</option>
          </select>
        </div>
        {filters.provider || filters.version ? (
          <p>
            Also filtered by {[filters.provider && `provider ${filters.provider}`, filters.version && `Kubernetes ${filters.version}`].filter(Boolean).join(' and ')}.{' '}
            <Link to="/clusters">Show every cluster</Link>
          </p>
        ) : null}
      </form>
      <LiveStatus updatedAt={page.updatedAt} loading={page.loading} />
      <ErrorNote message={page.error} />
      {page.data ? (
        <>
          <table>
            <caption>
              {page.data.total !== undefined ? `${page.data.total} ${page.data.total === 1 ? 'cluster' : 'clusters'}` : 'Clusters'}
              {described.length > 0 ? ` (${described.join(', ')})` : ''}, page {pages.page}
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
