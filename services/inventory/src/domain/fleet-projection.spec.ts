import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterReady, ClusterRequested, createEvent, EventRejected, NodesProvisioned, TunnelConnected, TunnelRegistrationIssued, type CloudEvent } from '@flotilla/contracts';
import { evolve, type ClusterView } from './cluster-view.js';
import { projectBatch, traceIdOf } from './fleet-projection.js';

const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

function lifecycle(id: string, second: number): CloudEvent[] {
  const meta = (offset: number) => ({ subject: id, source: '/tests', time: at(second + offset) });
  const traced = (event: CloudEvent): CloudEvent => ({ ...event, traceparent: `00-${TRACE}-00f067aa0ba902b7-01` });
  return [
    createEvent(ClusterRequested, meta(0), {
      name: id,
      model: 'platform-provisioned',
      kubernetesVersion: '1.34',
      controlPlane: { count: 1, machineSize: 'small' },
      nodePools: [],
      network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    }),
    createEvent(NodesProvisioned, meta(1), { model: 'platform-provisioned', nodes: [{ name: `${id}-cp-0`, role: 'control-plane', addresses: ['10.0.0.1'] }] }),
    createEvent(ClusterReady, meta(2), { model: 'platform-provisioned', kubernetesVersion: 'v1.34.1', nodeCount: 1 }),
  ].map(traced);
}

/** The reference: one event at a time, as a handler taking single events would. */
function oneByOne(current: ReadonlyMap<string, ClusterView>, events: CloudEvent[]): Map<string, ClusterView> {
  const views = new Map(current);
  for (const event of events) {
    const next = evolve(views.get(event.subject), event);
    if (next) views.set(event.subject, next);
  }
  return views;
}

describe('fleet projection of a batch (projectBatch)', () => {
  it('given interleaved events of two clusters: the same views as projecting them one at a time', () => {
    const [a, b] = [lifecycle('a', 0), lifecycle('b', 10)];
    const events = [a[0]!, b[0]!, b[1]!, a[2]!, a[1]!, b[2]!];
    const { views, history } = projectBatch(new Map(), events);
    assert.deepEqual(views, oneByOne(new Map(), events));
    assert.equal(views.get('a')?.status, 'Running');
    assert.equal(views.get('b')?.nodes.length, 1);
    assert.deepEqual(
      history.map((entry) => entry.eventId),
      events.map((event) => event.id),
    );
  });

  it('given clusters the read model already has: their views move on from there', () => {
    const [requested, nodes, ready] = lifecycle('c', 0);
    const current = oneByOne(new Map(), [requested!]);
    const { views } = projectBatch(current, [nodes!, ready!]);
    assert.equal(views.get('c')?.status, 'Running');
    assert.equal(views.get('c')?.name, 'c');
  });

  it('an unchanged cluster is not in the views; a rejection of an unknown id is only history', () => {
    const rejected = createEvent(EventRejected, { subject: 'nobody', source: '/tests', time: at(5) }, {
      rejectedEventId: 'x',
      code: 'schema-invalid',
      reason: 'data.name: Required',
      consumer: 'provisioner__cluster_requested_v1',
      deadLetterSubject: 'flotilla.dlq.provisioner__cluster_requested_v1',
    });
    // A registration for the tunnel naming a cluster the platform made takes nothing from it.
    const current = oneByOne(new Map(), lifecycle('made', 0));
    const registration = createEvent(TunnelRegistrationIssued, { subject: 'made', source: '/flotilla/importer', time: at(6) }, {
      registrationId: '0b7a4b1e-5d5c-4a8e-9a57-6d0c1c1e2f3a',
      clusterName: 'made',
      tokenHash: 'a'.repeat(64),
      expiresAt: at(3600).toISOString(),
      labels: { team: 'a' },
    });
    const { views, history } = projectBatch(current, [rejected, registration]);
    assert.equal(views.size, 0);
    assert.deepEqual(
      history.map((entry) => [entry.clusterId, entry.type, entry.traceId]),
      [
        ['nobody', EventRejected.type, null],
        ['made', TunnelRegistrationIssued.type, null],
      ],
    );
  });

  it('a tunnel fact about an id the read model does not know makes its cluster known', () => {
    const tunnel = createEvent(TunnelConnected, { subject: 'unknown', source: '/flotilla/tunnel-broker', time: at(6) }, { agentId: 'agent-1' });
    const { views, history } = projectBatch(new Map(), [tunnel]);
    assert.deepEqual(
      [views.get('unknown')?.model, views.get('unknown')?.status, views.get('unknown')?.tunnel, views.get('unknown')?.access],
      ['connected', 'Importing', 'connected', 'tunnel'],
    );
    assert.deepEqual(
      history.map((entry) => [entry.clusterId, entry.summary]),
      [['unknown', 'TunnelConnected: agent agent-1']],
    );
  });

  it('a refusal delivered before its cluster is known applies to the cluster once it is, in this batch or a later one', () => {
    const [requested] = lifecycle('e', 0);
    const refusal = createEvent(EventRejected, { subject: 'e', source: '/flotilla/provisioner', time: at(1) }, {
      rejectedEventId: requested!.id,
      rejectedType: requested!.type,
      code: 'handler-rejected',
      reason: 'provider unavailable',
      consumer: 'provisioner__cluster_requested_v1',
      deadLetterSubject: 'flotilla.dlq.provisioner__cluster_requested_v1',
    });
    const sameBatch = projectBatch(new Map(), [refusal, requested!]).views.get('e');
    const laterBatch = projectBatch(new Map(), [requested!], new Map([['e', [refusal]]])).views.get('e');
    for (const view of [sameBatch, laterBatch]) {
      assert.equal(view?.status, 'Failed');
      assert.equal(view?.lastRefusal?.requestEventId, requested!.id);
      assert.deepEqual(view?.pendingRequests, []);
    }
    assert.deepEqual(projectBatch(new Map(), [refusal]).history[0]?.detail, refusal.data, 'kept with the history line');
  });

  it('history lines carry the trace id of the event that made them', () => {
    const { history } = projectBatch(new Map(), lifecycle('d', 0));
    assert.ok(history.every((entry) => entry.traceId === TRACE));
    assert.equal(history[1]?.summary, 'NodesProvisioned: 1 node(s)');
  });

  it('traceIdOf takes only a valid, non-zero trace id', () => {
    assert.equal(traceIdOf(`00-${TRACE}-00f067aa0ba902b7-01`), TRACE);
    assert.equal(traceIdOf(undefined), null);
    assert.equal(traceIdOf('00-00000000000000000000000000000000-00f067aa0ba902b7-01'), null);
    assert.equal(traceIdOf('garbage'), null);
  });
});
