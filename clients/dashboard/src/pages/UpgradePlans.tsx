import { useState, type FormEvent } from 'react';
import { getJson, postJson } from '../api/client.js';
import type { Plan, PlanListItem, SupportMatrix } from '../api/types.js';
import { ErrorNote, LiveStatus, PageHeading } from '../components/feedback.js';
import { describeError } from '../lib/errors.js';
import { usePolled } from '../live.js';
import { Link, navigate } from '../router.js';
import { ColumnHeads } from '../components/table.js';

/** Every plan, and a form to plan the global cluster's upgrade to another release. */
export function UpgradePlansPage({ canPlan }: { canPlan: boolean }) {
  const plans = usePolled('plans', () => getJson<{ items: PlanListItem[] }>('/api/v1/upgrade-plans'));
  return (
    <main id="main">
      <PageHeading>Upgrade plans</PageHeading>
      {canPlan ? <PlanForm /> : null}
      <h2>Plans</h2>
      <LiveStatus updatedAt={plans.updatedAt} loading={plans.loading} />
      <ErrorNote message={plans.error} />
      {plans.data ? (
        plans.data.items.length === 0 ? (
          <p>No plan yet.</p>
        ) : (
          <table>
            <caption>Plans, newest first</caption>
            <ColumnHeads names={['Plan', 'From', 'To', 'Status', 'Revision']} />
            <tbody>
              {plans.data.items.map((plan) => (
                <tr key={plan.id}>
                  <th scope="row">
                    <Link to={`/upgrade-plans/${encodeURIComponent(plan.id)}`}>{plan.id}</Link>
                  </th>
                  <td>{plan.fromRelease}</td>
                  <td>
                    {plan.toRelease}
                    {plan.toVersion ? ` (Kubernetes ${plan.toVersion})` : ''}
                  </td>
                  <td>{plan.status}</td>
                  <td>{plan.currentRevision}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )
      ) : null}
    </main>
  );
}

function PlanForm() {
  const matrix = usePolled('support-matrix', () => getJson<SupportMatrix>('/api/v1/support-matrix'), false);
  const releases = matrix.data?.document.releases.map((entry) => entry.release) ?? [];
  const inForce = matrix.data?.platformRelease.release ?? '';
  const [fromRelease, setFrom] = useState('');
  const [toRelease, setTo] = useState('');
  const [maxConcurrency, setConcurrency] = useState('10');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const from = fromRelease || inForce;
  const to = toRelease || releases[0] || '';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const concurrency = Number(maxConcurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      setError('maxConcurrency: must be a whole number of at least 1');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const plan = await postJson<Plan>('/api/v1/upgrade-plans', { fromRelease: from, toRelease: to, maxConcurrency: concurrency });
      navigate(`/upgrade-plans/${encodeURIComponent(plan.id)}`);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="plan-form-heading">
      <h2 id="plan-form-heading">Plan an upgrade of the global cluster</h2>
      <ErrorNote title="The support matrix could not be read" message={matrix.error} />
      <form className="inline-form" onSubmit={(event) => void submit(event)} noValidate>
        <div>
          <label htmlFor="fromRelease">From release</label>
          <select id="fromRelease" value={from} onChange={(event) => setFrom(event.target.value)}>
            {releases.map((release) => (
              <option key={release} value={release}>
                {release}
                {release === inForce ? ' (in force)' : ''}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="toRelease">To release</label>
          <select id="toRelease" value={to} onChange={(event) => setTo(event.target.value)}>
            {releases.map((release) => (
              <option key={release}>{release}</option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="maxConcurrency">Clusters per wave</label>
          <input id="maxConcurrency" inputMode="numeric" value={maxConcurrency} onChange={(event) => setConcurrency(event.target.value)} />
        </div>
        <button type="submit" disabled={busy || !from || !to}>
          {busy ? 'Planning…' : 'Plan'}
        </button>
      </form>
      <ErrorNote title="Not planned" message={error} />
    </section>
  );
}

/** One plan: whether it can be carried out, its steps and waves, and each cluster's action. */
export function PlanPage({ id }: { id: string }) {
  const plan = usePolled(`plan:${id}`, () => getJson<Plan>(`/api/v1/upgrade-plans/${encodeURIComponent(id)}`));
  const data = plan.data;
  return (
    <main id="main">
      <p>
        <Link to="/upgrade-plans">All plans</Link>
      </p>
      <PageHeading>Upgrade plan {id}</PageHeading>
      <LiveStatus updatedAt={plan.updatedAt} loading={plan.loading} />
      <ErrorNote message={plan.error} />
      {data ? (
        <>
          <p data-testid="plan-summary">
            From release {data.fromRelease} to {data.toRelease}
            {data.route && data.route.length > 2 ? ` by way of ${data.route.slice(1, -1).join(', ')}` : ''}: {data.satisfiable ? 'can be carried out' : 'cannot be carried out'}.
            Revision {data.revision} of {data.currentRevision}, {data.status}, support matrix {data.policyRevision}, {data.clusterCount ?? data.clusters.length} clusters.
          </p>
          {data.issues.length > 0 ? (
            <section aria-labelledby="issues-heading">
              <h2 id="issues-heading">Why it cannot be carried out</h2>
              <ul>
                {data.issues.map((issue) => (
                  <li key={issue.code}>
                    <strong>{issue.code}</strong>: {issue.reason}
                    {issue.clusterIds.length > 0 ? ` (${issue.clusterIds.join(', ')})` : ''}
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          {data.violations && data.violations.length > 0 ? (
            <section aria-labelledby="violations-heading">
              <h2 id="violations-heading">What the fleet already breaks</h2>
              <ul>
                {data.violations.map((violation) => (
                  <li key={violation.code}>
                    <strong>{violation.code}</strong>: {violation.reason} ({violation.clusterCount ?? violation.clusterIds.length} clusters)
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          <section aria-labelledby="steps-heading">
            <h2 id="steps-heading">Steps and waves</h2>
            {data.steps && data.steps.length > 0 ? (
              <ol className="steps">
                {data.steps.map((step, index) =>
                  step.type === 'global-upgrade' ? (
                    <li key={index}>
                      <strong>
                        Global cluster: {step.fromRelease} to {step.toRelease}
                      </strong>
                      {step.awaitingProvider.length > 0 ? `, once providers have upgraded ${step.awaitingProvider.join(', ')}` : ''}
                    </li>
                  ) : (
                    <li key={index}>
                      <strong>
                        Wave {step.wave} {step.phase === 'pre-global' ? 'before the global upgrade (required)' : 'after the global upgrade (optional)'}
                      </strong>
                      {step.globalRelease ? `, global cluster on ${step.globalRelease}` : ''}: {step.clusterIds.join(', ') || 'no cluster'}
                    </li>
                  ),
                )}
              </ol>
            ) : (
              <p>No step: {data.satisfiable ? 'nothing to do.' : 'see why above.'}</p>
            )}
          </section>
          <table>
            <caption>Each cluster's action</caption>
            <ColumnHeads names={['Cluster', 'Model', 'Current', 'Target', 'Path', 'Action', 'Wave', 'Why']} />
            <tbody>
              {data.clusters.map((cluster) => (
                <tr key={cluster.clusterId}>
                  <th scope="row">
                    <Link to={`/clusters/${encodeURIComponent(cluster.clusterId)}`}>{cluster.clusterId}</Link>
                  </th>
                  <td>{cluster.model}</td>
                  <td>{cluster.currentVersion}</td>
                  <td>{cluster.target ?? '—'}</td>
                  <td>{cluster.path.join(' → ') || '—'}</td>
                  <td>{cluster.action}</td>
                  <td>{cluster.wave ?? '—'}</td>
                  <td>{cluster.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.changes.length > 0 ? (
            <section aria-labelledby="changes-heading">
              <h2 id="changes-heading">Changes in this revision</h2>
              <ul>
                {data.changes.map((change) => (
                  <li key={change}>{change}</li>
                ))}
              </ul>
            </section>
          ) : null}
        </>
      ) : null}
    </main>
  );
}
