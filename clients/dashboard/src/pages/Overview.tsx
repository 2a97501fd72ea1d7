import { loadCompliance, loadOverview, LISTED_AT_MOST } from '../api/fleet.js';
import { BarChart, ComplianceChart, STANDING_LABEL } from '../components/charts.js';
import { ErrorNote, LiveStatus, PageHeading } from '../components/feedback.js';
import type { Count } from '../lib/overview.js';
import { SLOW_POLL_INTERVAL_MS, usePolled } from '../live.js';
import { Link } from '../router.js';
import { ColumnHeads } from '../components/table.js';

function CountTable({ caption, counts, link }: { caption: string; counts: Count[]; link?: (key: string) => string | undefined }) {
  return (
    <table className="counts">
      <caption>{caption}</caption>
      <ColumnHeads names={['Value', 'Clusters']} />
      <tbody>
        {counts.map((entry) => {
          const to = link?.(entry.key);
          return (
            <tr key={entry.key}>
              <th scope="row">{to ? <Link to={to}>{entry.key}</Link> : entry.key}</th>
              <td>{entry.count}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Breakdown({ title, counts, link }: { title: string; counts: Count[]; link?: (key: string) => string | undefined }) {
  return (
    <section className="card" aria-labelledby={`${title}-heading`.replace(/\W+/g, '-')}>
      <h3 id={`${title}-heading`.replace(/\W+/g, '-')}>{title}</h3>
      <BarChart title={title} counts={counts} />
      {counts.length > 0 ? <CountTable caption={`Clusters ${title.toLowerCase()}`} counts={counts} link={link} /> : null}
    </section>
  );
}

export function OverviewPage() {
  const matrix = usePolled('compliance', loadCompliance, SLOW_POLL_INTERVAL_MS);
  const overview = usePolled('overview', loadOverview);
  const data = overview.data?.overview;
  const compliance = matrix.data?.compliance;
  return (
    <main id="main">
      <PageHeading>Fleet overview</PageHeading>
      <LiveStatus updatedAt={overview.updatedAt} loading={overview.loading || matrix.loading} />
      <ErrorNote message={overview.error} />
      {data ? (
        <>
          <section aria-labelledby="totals-heading">
            <h2 id="totals-heading">Totals</h2>
            <dl className="totals">
              <div>
                <dt>Clusters</dt>
                <dd data-testid="total-clusters">{data.total}</dd>
              </div>
              <div>
                <dt>Nodes</dt>
                <dd>
                  {data.nodes.ready} ready of {data.nodes.total}
                </dd>
              </div>
              <div>
                <dt>Needing action</dt>
                <dd>{data.needingAction.count}</dd>
              </div>
            </dl>
            {overview.data?.source === 'list' ? (
              <p className="help">Counted from the cluster list{overview.data.partial ? ` (the first ${LISTED_AT_MOST} clusters)` : ''}.</p>
            ) : null}
          </section>
          <section aria-labelledby="action-heading">
            <h2 id="action-heading">Clusters needing action</h2>
            {data.needingAction.clusters.length === 0 ? (
              <p>None is failed, unreachable, refused or cut off from its tunnel.</p>
            ) : (
              <ul className="needing-action">
                {data.needingAction.clusters.map((entry) => (
                  <li key={entry.id}>
                    <Link to={`/clusters/${encodeURIComponent(entry.id)}`}>{entry.id}</Link>: {entry.why.join('; ')}
                  </li>
                ))}
              </ul>
            )}
            {data.needingAction.count > data.needingAction.clusters.length ? <p className="help">…and {data.needingAction.count - data.needingAction.clusters.length} more.</p> : null}
            {compliance && compliance.behindPolicy.length > 0 ? (
              <>
                <h3>Behind the policy</h3>
                <p>
                  {compliance.behindPolicy.length} clusters run a Kubernetes version outside the compatible versions of release {compliance.current}:
                </p>
                <ul className="needing-action">
                  {compliance.behindPolicy.slice(0, 10).map((entry) => (
                    <li key={entry.id}>
                      <Link to={`/clusters/${encodeURIComponent(entry.id)}`}>{entry.id}</Link>: {entry.version}
                    </li>
                  ))}
                </ul>
              </>
            ) : null}
          </section>
          <h2>The fleet by</h2>
          <div className="grid">
            <Breakdown title="By model" counts={data.byModel} link={(key) => (key === 'unknown' ? undefined : `/clusters?model=${encodeURIComponent(key)}`)} />
            <Breakdown title="By status" counts={data.byStatus} link={(key) => `/clusters?status=${encodeURIComponent(key)}`} />
            <Breakdown title="By provider" counts={data.byProvider} link={(key) => (key === 'unknown' ? undefined : `/clusters?provider=${encodeURIComponent(key)}`)} />
            <Breakdown title="By Kubernetes version" counts={data.byVersion} link={(key) => (key === 'unknown' ? undefined : `/clusters?version=${encodeURIComponent(key)}`)} />
          </div>
        </>
      ) : overview.loading ? (
        <p>Loading the fleet…</p>
      ) : null}
      <section aria-labelledby="compliance-heading">
        <h2 id="compliance-heading">Compliance with the next release</h2>
        <ErrorNote message={matrix.error} />
        {compliance ? (
          <>
            <p>
              The global cluster runs release <strong>{compliance.current}</strong>
              {compliance.target === compliance.current ? ', the newest of the support matrix' : <>; the next is <strong>{compliance.target}</strong></>}. Its compatible Kubernetes versions:{' '}
              {compliance.compatible.join(', ')} (support matrix {matrix.data?.matrix.revision}).
            </p>
            <ComplianceChart compliance={compliance} />
            <p className="help">
              From the upgrade planner's fleet{matrix.data?.partial ? ` (its first ${LISTED_AT_MOST} clusters)` : ''}, refreshed every {SLOW_POLL_INTERVAL_MS / 1000} s.
            </p>
            {compliance.outside.length > 0 ? (
              <table>
                <caption>Clusters outside the compatible versions of {compliance.target}</caption>
                <ColumnHeads names={['Cluster', 'Version', 'Standing']} />
                <tbody>
                  {compliance.outside.slice(0, 50).map((entry) => (
                    <tr key={entry.id}>
                      <th scope="row">
                        <Link to={`/clusters/${encodeURIComponent(entry.id)}`}>{entry.id}</Link>
                      </th>
                      <td>{entry.version}</td>
                      <td>{STANDING_LABEL[entry.standing]}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
            <p>
              <Link to="/upgrade-plans">Plan the upgrade</Link>
            </p>
          </>
        ) : matrix.loading ? (
          <p>Loading the support matrix…</p>
        ) : null}
      </section>
    </main>
  );
}
