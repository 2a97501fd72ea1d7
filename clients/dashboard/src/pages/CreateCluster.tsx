import { useState, type FormEvent } from 'react';
import { getJson, postJson } from '../api/client.js';
import type { SupportMatrix } from '../api/types.js';
import { ErrorNote, PageHeading } from '../components/feedback.js';
import { clusterRequestOf, EMPTY_FORM, parseRawRequest, type ClusterFormFields, type PoolFields } from '../lib/cluster-form.js';
import { describeError } from '../lib/errors.js';
import { usePolled } from '../live.js';
import { navigate } from '../router.js';

/** Request a platform-provisioned cluster with a form, or any cluster spec as JSON. */
export function CreateClusterPage() {
  const matrix = usePolled('support-matrix', () => getJson<SupportMatrix>('/api/v1/support-matrix'), false);
  const inForce = matrix.data?.document.releases.find((entry) => entry.release === matrix.data?.platformRelease.release);
  const [fields, setFields] = useState<ClusterFormFields>(EMPTY_FORM);
  const [mode, setMode] = useState<'form' | 'json'>('form');
  const [raw, setRaw] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const version = fields.kubernetesVersion || inForce?.creation[0] || '';
  const current = { ...fields, kubernetesVersion: version };

  const set = (name: keyof Omit<ClusterFormFields, 'pools'>) => (event: { target: { value: string } }) => setFields({ ...fields, [name]: event.target.value });
  const setPool = (index: number, name: keyof PoolFields, value: string) => setFields({ ...fields, pools: fields.pools.map((pool, at) => (at === index ? { ...pool, [name]: value } : pool)) });

  const toJson = () => {
    const request = clusterRequestOf(current);
    setRaw(JSON.stringify('body' in request ? request.body : { name: fields.name, model: 'platform-provisioned' }, null, 2));
    setMode('json');
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const request = mode === 'form' ? clusterRequestOf(current) : parseRawRequest(raw);
    if ('problems' in request) {
      setError(request.problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const created = await postJson<{ id: string }>('/api/v1/clusters', request.body);
      navigate(`/clusters/${encodeURIComponent(created.id)}`);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main">
      <PageHeading>Create a cluster</PageHeading>
      <p>
        A platform-provisioned cluster: the platform provisions its machines and their immutable OS. For another model or a field the form does not have, edit the
        request as JSON.
      </p>
      <div className="tabs" role="group" aria-label="How to write the request">
        <button type="button" aria-pressed={mode === 'form'} onClick={() => setMode('form')}>
          Form
        </button>
        <button type="button" aria-pressed={mode === 'json'} onClick={toJson}>
          JSON editor
        </button>
      </div>
      <form onSubmit={(event) => void submit(event)} noValidate>
        {mode === 'form' ? (
          <>
            <fieldset>
              <legend>Cluster</legend>
              <label htmlFor="name">Name</label>
              <input id="name" required value={fields.name} onChange={set('name')} />
              <label htmlFor="id">Id (optional: made from the name)</label>
              <input id="id" value={fields.id} onChange={set('id')} aria-describedby="id-help" />
              <p id="id-help" className="help">
                A DNS label: lower-case letters, digits and "-".
              </p>
              <label htmlFor="kubernetesVersion">Kubernetes version</label>
              {inForce ? (
                <select id="kubernetesVersion" value={version} onChange={set('kubernetesVersion')}>
                  {inForce.creation.map((minor) => (
                    <option key={minor}>{minor}</option>
                  ))}
                </select>
              ) : (
                <input id="kubernetesVersion" value={fields.kubernetesVersion} onChange={set('kubernetesVersion')} placeholder="1.34" />
              )}
              <label htmlFor="nodeOs">Node OS</label>
              <select id="nodeOs" value={fields.nodeOs} onChange={set('nodeOs')}>
                <option value="microos">MicroOS</option>
                <option value="flatcar">Flatcar</option>
                <option value="fedora-coreos">Fedora CoreOS</option>
              </select>
              <label htmlFor="provider">Infrastructure provider (optional)</label>
              <input id="provider" value={fields.provider} onChange={set('provider')} />
              <label htmlFor="labels">Labels, one key=value a line (optional)</label>
              <textarea id="labels" rows={3} value={fields.labels} onChange={set('labels')} />
            </fieldset>
            <fieldset>
              <legend>Control plane</legend>
              <label htmlFor="controlPlaneCount">Machines</label>
              <select id="controlPlaneCount" value={fields.controlPlaneCount} onChange={set('controlPlaneCount')}>
                <option>1</option>
                <option>3</option>
                <option>5</option>
              </select>
              <label htmlFor="controlPlaneSize">Machine size</label>
              <input id="controlPlaneSize" value={fields.controlPlaneSize} onChange={set('controlPlaneSize')} />
            </fieldset>
            {fields.pools.map((pool, index) => (
              <fieldset key={index}>
                <legend>Node pool {index + 1}</legend>
                <label htmlFor={`pool-${index}-name`}>Pool name</label>
                <input id={`pool-${index}-name`} value={pool.name} onChange={(event) => setPool(index, 'name', event.target.value)} />
                <label htmlFor={`pool-${index}-count`}>Machines</label>
                <input id={`pool-${index}-count`} inputMode="numeric" value={pool.count} onChange={(event) => setPool(index, 'count', event.target.value)} />
                <label htmlFor={`pool-${index}-size`}>Machine size</label>
                <input id={`pool-${index}-size`} value={pool.machineSize} onChange={(event) => setPool(index, 'machineSize', event.target.value)} />
                <button type="button" onClick={() => setFields({ ...fields, pools: fields.pools.filter((_, at) => at !== index) })}>
                  Remove pool {index + 1}
                </button>
              </fieldset>
            ))}
            <button type="button" onClick={() => setFields({ ...fields, pools: [...fields.pools, { name: `pool-${fields.pools.length + 1}`, count: '1', machineSize: 'small' }] })}>
              Add a node pool
            </button>
          </>
        ) : (
          <>
            <label htmlFor="spec">Cluster request (JSON, as POST /api/v1/clusters takes it)</label>
            <textarea id="spec" className="mono" rows={24} spellCheck={false} value={raw} onChange={(event) => setRaw(event.target.value)} />
          </>
        )}
        <p>
          <button type="submit" disabled={busy}>
            {busy ? 'Requesting…' : 'Create the cluster'}
          </button>
        </p>
      </form>
      <ErrorNote title="Not created" message={error} />
      <ErrorNote title="The support matrix could not be read" message={matrix.error} />
    </main>
  );
}
