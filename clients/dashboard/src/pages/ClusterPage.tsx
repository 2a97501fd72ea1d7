import { useState } from 'react';
import { getJson, request } from '../api/client.js';
import type { Cluster, ProvisionerCluster } from '../api/types.js';
import { ErrorNote, LiveStatus, PageHeading, StatusBadge } from '../components/feedback.js';
import { ApiError, describeError } from '../lib/errors.js';
import { formatAgo, formatTime } from '../lib/format.js';
import { usePolled } from '../live.js';
import { Link } from '../router.js';
import { Machines } from './cluster/Machines.js';
import { Timeline } from './cluster/Timeline.js';
import { ColumnHeads } from '../components/table.js';

interface ClusterPageData {
  cluster: Cluster;
  /** The provisioner's side; null for clusters it does not build (connected, public-cloud) or does not know yet. */
  provisioner: ProvisionerCluster | null;
}

async function loadCluster(id: string): Promise<ClusterPageData> {
  const path = encodeURIComponent(id);
  const cluster = await getJson<Cluster>(`/api/v1/clusters/${path}`);
  let provisioner: ProvisionerCluster | null = null;
  if (cluster.model !== 'connected' && cluster.model !== 'public-cloud') {
    try {
      provisioner = await getJson<ProvisionerCluster>(`/api/v1/provisioner/clusters/${path}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
  }
  return { cluster, provisioner };
}

/** Downloads the cluster's kubeconfig with the session's token (a link could not send it). */
function KubeconfigButton({ id }: { id: string }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const download = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const response = await request(`/api/v1/clusters/${encodeURIComponent(id)}/kubeconfig`, { headers: { accept: 'application/yaml, text/plain, */*' } });
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = `${id}.kubeconfig`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="kubeconfig">
      <button type="button" onClick={() => void download()} disabled={busy}>
        {busy ? 'Preparing the kubeconfig…' : 'Download kubeconfig'}
      </button>
      <ErrorNote title="No kubeconfig" message={error} />
    </div>
  );
}

export function ClusterPage({ id, canDownloadKubeconfig, traceViewerUrl }: { id: string; canDownloadKubeconfig: boolean; traceViewerUrl: string | undefined }) {
  const loaded = usePolled(`cluster:${id}`, () => loadCluster(id));
  const cluster = loaded.data?.cluster;
  const provisioner = loaded.data?.provisioner ?? null;
  return (
    <main id="main">
      <p>
        <Link to="/clusters">All clusters</Link>
      </p>
      <PageHeading>Cluster {cluster?.name && cluster.name !== id ? `${cluster.name} (${id})` : id}</PageHeading>
      <LiveStatus updatedAt={loaded.updatedAt} loading={loaded.loading} />
      <ErrorNote message={loaded.error} />
      {cluster ? (
        <>
          <section aria-labelledby="state-heading">
            <h2 id="state-heading">State</h2>
            <dl className="facts">
              <div>
                <dt>Status</dt>
                <dd data-testid="cluster-status">
                  <StatusBadge status={cluster.status} />
                </dd>
              </div>
              <div>
                <dt>Model</dt>
                <dd>{cluster.model ?? 'not known yet'}</dd>
              </div>
              {cluster.provider ? (
                <div>
                  <dt>Provider</dt>
                  <dd>
                    {cluster.provider}
                    {cluster.region ? `, ${cluster.region}` : ''}
                  </dd>
                </div>
              ) : null}
              <div>
                <dt>Kubernetes</dt>
                <dd>{cluster.kubernetesVersion ?? '—'}</dd>
              </div>
              <div>
                <dt>Access</dt>
                <dd>
                  {cluster.access ?? 'not known yet'}
                  {cluster.tunnel ? ` (tunnel ${cluster.tunnel})` : ''}
                  {cluster.reachable === false ? ', unreachable' : ''}
                </dd>
              </div>
              <div>
                <dt>Last event</dt>
                <dd>
                  {formatTime(cluster.lastEventTime)} ({formatAgo(cluster.lastEventTime)})
                </dd>
              </div>
              {provisioner ? (
                <div>
                  <dt>Provisioner phase</dt>
                  <dd>
                    {provisioner.phase}
                    {provisioner.operation ? `, ${provisioner.operation.kind} since ${formatTime(provisioner.operation.startedAt)}` : ''} (release {provisioner.release})
                  </dd>
                </div>
              ) : null}
              {Object.keys(cluster.labels).length > 0 ? (
                <div>
                  <dt>Labels</dt>
                  <dd>
                    {Object.entries(cluster.labels)
                      .map(([key, value]) => `${key}=${value}`)
                      .join(', ')}
                  </dd>
                </div>
              ) : null}
            </dl>
            {canDownloadKubeconfig && cluster.status !== 'Deleted' ? <KubeconfigButton id={id} /> : null}
          </section>
          <Reasons cluster={cluster} provisioner={provisioner} />
          <section aria-labelledby="pending-heading">
            <h2 id="pending-heading">Pending requests</h2>
            {cluster.pendingRequests.length === 0 ? (
              <p>None: every request was answered.</p>
            ) : (
              <ul>
                {cluster.pendingRequests.map((pending) => (
                  <li key={pending.eventId}>
                    {pending.type}: {pending.summary} (since {formatTime(pending.time)})
                  </li>
                ))}
              </ul>
            )}
          </section>
          <Machines cluster={cluster} provisioner={provisioner} />
          <Timeline id={id} traceViewerUrl={traceViewerUrl} />
        </>
      ) : null}
    </main>
  );
}

/** Why the cluster is as it is: the inventory's reasons, warnings and last refusal, and the provisioner's conditions with their since. */
function Reasons({ cluster, provisioner }: { cluster: Cluster; provisioner: ProvisionerCluster | null }) {
  const refusal = cluster.lastRefusal;
  return (
    <section aria-labelledby="conditions-heading">
      <h2 id="conditions-heading">Conditions and reasons</h2>
      {cluster.reasons.length + cluster.warnings.length === 0 && !refusal && !provisioner?.conditions.length ? <p>No reason or condition reported.</p> : null}
      {cluster.reasons.length > 0 ? (
        <ul>
          {cluster.reasons.map((reason) => (
            <li key={`${reason.code}:${reason.field ?? ''}`}>
              <strong>{reason.code}</strong>
              {reason.field ? ` (${reason.field})` : ''}: {reason.message}
            </li>
          ))}
        </ul>
      ) : null}
      {cluster.warnings.length > 0 ? (
        <ul>
          {cluster.warnings.map((warning) => (
            <li key={`${warning.code}:${warning.field ?? ''}`}>
              Warning <strong>{warning.code}</strong>: {warning.message}
            </li>
          ))}
        </ul>
      ) : null}
      {refusal ? (
        <div className="refusal">
          <h3>Last refusal</h3>
          <p>
            {refusal.requestType ?? 'A request'} refused by {refusal.source} ({refusal.type}) on {formatTime(refusal.time)}:
          </p>
          <ul>
            {refusal.reasons.map((reason) => (
              <li key={`${reason.code}:${reason.field ?? ''}`}>
                <strong>{reason.code}</strong>
                {reason.field ? ` (${reason.field})` : ''}: {reason.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {provisioner && provisioner.conditions.length > 0 ? (
        <table>
          <caption>Conditions reported by the provisioner</caption>
          <ColumnHeads names={['Condition', 'Status', 'Reason', 'Since']} />
          <tbody>
            {provisioner.conditions.map((condition) => (
              <tr key={condition.type}>
                <th scope="row">{condition.type}</th>
                <td>{condition.status}</td>
                <td>
                  {condition.reason}
                  {condition.message ? `: ${condition.message}` : ''}
                </td>
                <td>
                  {formatTime(condition.lastTransitionTime)} ({formatAgo(condition.lastTransitionTime)})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
