import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterDeletionRequested,
  ClusterImported,
  ClusterImportRequested,
  ClusterProgress,
  ClusterProvisioningFailed,
  ClusterReady,
  ClusterRequested,
  ClusterUpgraded,
  createEvent,
  EventRejected,
  ImportRejected,
  MachineReplaced,
  NodePoolScaled,
  NodePoolScaleRequested,
  NodesProvisioned,
  UpgradeStepApproved,
  UpgradeStepFailed,
  type CloudEvent,
  type ClusterSpec,
  type EventData,
} from '@flotilla/contracts';
import { evolve, type ClusterView } from './cluster-view.js';

/*
 * The read model tells the truth: it projects what the owning service decided, not what was
 * asked; it shows progress and every refusal with its reasons; and it applies the facts about a
 * cluster in the order they happened, whatever order they arrive in.
 */

const ID = 'prod-1';
const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const meta = (second: number, source = '/flotilla/provisioner') => ({ subject: ID, source, time: at(second) });

const spec: ClusterSpec = {
  name: 'prod',
  labels: { team: 'b' },
  model: 'platform-provisioned',
  kubernetesVersion: '1.33',
  controlPlane: { count: 1, machineSize: 'small' },
  nodePools: [{ name: 'w', count: 2, machineSize: 'small', labels: {}, taints: [] }],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
};
const cp = { name: 'prod-1-cp-0', role: 'control-plane' as const, addresses: ['10.0.0.1'] };
const w0 = { name: 'prod-1-w-0', role: 'worker' as const, pool: 'w', addresses: ['10.0.0.2'] };
const w1 = { name: 'prod-1-w-1', role: 'worker' as const, pool: 'w', addresses: ['10.0.0.3'] };
const w2 = { name: 'prod-1-w-2', role: 'worker' as const, pool: 'w', addresses: ['10.0.0.4'] };

const requested = createEvent(ClusterRequested, meta(0, '/flotilla/inventory'), spec);
function progress(second: number, data: Partial<EventData<typeof ClusterProgress>> = {}): CloudEvent {
  return createEvent(ClusterProgress, meta(second), {
    model: 'platform-provisioned',
    phase: 'Provisioning',
    controlPlane: { ready: 0, total: 1 },
    nodePools: [{ pool: 'w', ready: 0, total: 2 }],
    operation: null,
    ...data,
  });
}
const nodes = createEvent(NodesProvisioned, meta(2), { model: 'platform-provisioned', nodes: [cp, w0, w1] });
const ready = createEvent(ClusterReady, meta(3), { model: 'platform-provisioned', kubernetesVersion: 'v1.33.4', nodeCount: 3 });

function replay(events: readonly CloudEvent[], from?: ClusterView): ClusterView | undefined {
  return events.reduce<ClusterView | undefined>((view, event) => evolve(view, event) ?? view, from);
}
const running = () => replay([requested, nodes, ready])!;

function rejection(second: number, refused: CloudEvent, reason: string, consumer = 'provisioner__cluster_node_pool_scale_requested_v1'): CloudEvent {
  return createEvent(EventRejected, meta(second), {
    rejectedEventId: refused.id,
    rejectedType: refused.type,
    code: 'handler-rejected',
    reason,
    consumer,
    deadLetterSubject: `flotilla.dlq.${consumer}`,
  });
}

/** The parts of a view a request must never change. */
const identity = (view: ClusterView) => ({ name: view.name, model: view.model, labels: view.labels, status: view.status, kubernetesVersion: view.kubernetesVersion, nodes: view.nodes });

describe('requests are pending until their owner answers; a refused one changes nothing', () => {
  const cases: { name: string; request: (view: ClusterView) => CloudEvent; refusal: (request: CloudEvent) => CloudEvent; reasons: string[] }[] = [
    {
      name: 'a second, different ClusterRequested for a Running cluster (EventRejected)',
      request: () => createEvent(ClusterRequested, meta(10, '/elsewhere'), { ...spec, name: 'taken over', labels: { team: 'a' }, kubernetesVersion: '1.34' }),
      refusal: (request) => rejection(11, request, 'cluster "prod-1" exists with a different spec', 'provisioner__cluster_requested_v1'),
      reasons: ['cluster "prod-1" exists with a different spec'],
    },
    {
      name: 'an import request naming a platform cluster (ImportRejected)',
      request: () => createEvent(ClusterImportRequested, meta(10, '/elsewhere'), { name: 'mine', credentialRef: 'c', provider: 'cncf', apiServer: 'https://x.example', labels: { team: 'a' } }),
      refusal: () => createEvent(ImportRejected, meta(11, '/flotilla/importer'), { reasons: [{ code: 'cluster-exists', message: 'prod-1 is a platform cluster' }] }),
      reasons: ['prod-1 is a platform cluster'],
    },
    {
      name: 'a scale of an unknown pool (EventRejected)',
      request: () => createEvent(NodePoolScaleRequested, meta(10, '/flotilla/inventory'), { pool: 'gpu', count: 4 }),
      refusal: (request) => rejection(11, request, 'cluster "prod-1" has no node pool "gpu"'),
      reasons: ['cluster "prod-1" has no node pool "gpu"'],
    },
    {
      name: 'an upgrade step the policy refuses (UpgradeStepFailed)',
      request: () => createEvent(UpgradeStepApproved, meta(10, '/flotilla/inventory'), { planId: 'plan-1', toVersion: '1.35' }),
      refusal: () =>
        createEvent(UpgradeStepFailed, meta(11), {
          model: 'platform-provisioned',
          planId: 'plan-1',
          fromVersion: 'v1.33.4',
          toVersion: '1.35',
          reasons: [{ code: 'minor-skipped', message: '1.33 -> 1.35 skips a minor', field: 'toVersion' }],
        }),
      reasons: ['1.33 -> 1.35 skips a minor'],
    },
    {
      name: 'a deletion request refused (EventRejected)',
      request: () => createEvent(ClusterDeletionRequested, meta(10, '/flotilla/inventory'), { reason: 'done' }),
      refusal: (request) => rejection(11, request, 'cluster "prod-1" is busy', 'provisioner__cluster_deletion_requested_v1'),
      reasons: ['cluster "prod-1" is busy'],
    },
  ];
  for (const { name, request: make, refusal: refuse, reasons } of cases) {
    it(name, () => {
      const before = running();
      const request = make(before);
      const asked = evolve(before, request)!;
      assert.deepEqual(identity(asked), identity(before), 'the request changes nothing');
      assert.deepEqual(
        asked.pendingRequests.map((entry) => entry.eventId),
        [request.id],
        'it is pending',
      );
      const refusal = refuse(request);
      const after = evolve(asked, refusal)!;
      assert.deepEqual(identity(after), identity(before), 'nor does its refusal');
      assert.deepEqual(after.pendingRequests, [], 'answered');
      assert.equal(after.lastRefusal?.eventId, refusal.id);
      assert.equal(after.lastRefusal?.requestEventId, request.id, 'the refusal names the request');
      assert.deepEqual(
        after.lastRefusal?.reasons.map((reason) => reason.message),
        reasons,
      );
    });
  }

  it('a request about a new id shows the cluster Pending until the provisioner takes it up', () => {
    const asked = replay([requested])!;
    assert.equal(asked.status, 'Pending');
    assert.deepEqual(
      asked.pendingRequests.map((entry) => [entry.eventId, entry.type]),
      [[requested.id, 'ClusterRequested']],
    );
    const taken = evolve(asked, progress(1, { requestEventId: requested.id }))!;
    assert.equal(taken.status, 'Provisioning');
    assert.deepEqual(taken.pendingRequests, []);
    assert.deepEqual(taken.progress?.controlPlane, { ready: 0, total: 1 });
  });

  it('a request about a new id that its owner refuses leaves the cluster Failed with the reason', () => {
    const refused = replay([requested, rejection(1, requested, 'provider "x" is not available here', 'provisioner__cluster_requested_v1')])!;
    assert.equal(refused.status, 'Failed');
    assert.deepEqual(refused.reasons, [{ code: 'handler-rejected', message: 'provider "x" is not available here' }]);
    assert.deepEqual(refused.pendingRequests, []);
  });

  it('a refused request for a new id is overridden by any fact of its owner: another request was taken up', () => {
    const takeover = createEvent(ClusterRequested, meta(10, '/elsewhere'), { ...spec, name: 'taken over', labels: { team: 'a' } });
    const refusedFirst = replay([takeover, rejection(11, takeover, 'different spec', 'provisioner__cluster_requested_v1')])!;
    assert.equal(refusedFirst.status, 'Failed');
    const truth = replay([requested, nodes, ready], refusedFirst)!;
    assert.equal(truth.status, 'Running');
    assert.equal(truth.name, 'prod', 'the first request names the cluster, even arriving last');
    assert.deepEqual(truth.labels, { team: 'b' });
    assert.deepEqual(truth.reasons, []);
    assert.equal(truth.lastRefusal?.requestEventId, takeover.id);
  });

  it('a provisioning failure answers the request and is shown with every reason', () => {
    const failed = replay([
      requested,
      createEvent(ClusterProvisioningFailed, meta(1), { model: 'platform-provisioned', reasons: [{ code: 'version-not-creatable', message: '1.33 cannot be created on 4.3', field: 'kubernetesVersion' }] }),
    ])!;
    assert.equal(failed.status, 'Failed');
    assert.deepEqual(failed.pendingRequests, []);
    assert.equal(failed.lastRefusal?.type, 'ClusterProvisioningFailed');
    assert.equal(failed.lastRefusal?.requestEventId, requested.id);
    assert.equal(failed.lastRefusal?.reasons[0]?.field, 'kubernetesVersion');
  });

  it('a request taken up is answered by the progress naming it; one done is answered by its fact', () => {
    const scale = createEvent(NodePoolScaleRequested, meta(10, '/flotilla/inventory'), { pool: 'w', count: 3 });
    const upgrade = createEvent(UpgradeStepApproved, meta(11, '/flotilla/inventory'), { planId: 'plan-1', toVersion: '1.34' });
    const asked = replay([scale, upgrade], running())!;
    assert.equal(asked.pendingRequests.length, 2);
    const scaling = evolve(asked, progress(12, { phase: 'Running', controlPlane: { ready: 1, total: 1 }, nodePools: [{ pool: 'w', ready: 2, total: 3 }], operation: { kind: 'scale', pool: 'w', from: 2, to: 3 }, requestEventId: scale.id }))!;
    assert.deepEqual(
      scaling.pendingRequests.map((entry) => entry.eventId),
      [upgrade.id],
    );
    assert.deepEqual(scaling.progress?.nodePools, [{ pool: 'w', ready: 2, total: 3 }]);
    assert.equal(scaling.status, 'Running');
    const upgraded = evolve(scaling, createEvent(ClusterUpgraded, meta(20), { model: 'platform-provisioned', fromVersion: 'v1.33.4', toVersion: 'v1.34.1', planId: 'plan-1' }))!;
    assert.deepEqual(upgraded.pendingRequests, []);
    assert.equal(upgraded.kubernetesVersion, 'v1.34.1');
  });

  it('a deleted cluster answers every request, keeps no nodes and no progress', () => {
    const deletion = createEvent(ClusterDeletionRequested, meta(10, '/flotilla/inventory'), {});
    const gone = replay([deletion, progress(11, { phase: 'Deleting' }), createEvent(ClusterDeleted, meta(12), { model: 'platform-provisioned' })], running())!;
    assert.equal(gone.status, 'Deleted');
    assert.deepEqual(gone.pendingRequests, []);
    assert.deepEqual(gone.nodes, []);
    assert.equal(gone.progress, null);
  });
});

describe('facts apply in the order they happened, whatever order they arrive in', () => {
  const scaled = createEvent(NodePoolScaled, meta(5), { model: 'platform-provisioned', pool: 'w', from: 2, to: 2, requested: 2, nodes: [w0, w2], removed: [w1.name] });
  const up34 = createEvent(ClusterUpgraded, meta(6), { model: 'platform-provisioned', fromVersion: 'v1.33.4', toVersion: 'v1.34.1', planId: 'p' });
  const up35 = createEvent(ClusterUpgraded, meta(8), { model: 'platform-provisioned', fromVersion: 'v1.34.1', toVersion: 'v1.35.0', planId: 'p' });
  const replaced = createEvent(MachineReplaced, meta(7), {
    model: 'platform-provisioned',
    role: 'worker',
    pool: 'w',
    oldMachine: { name: w0.name },
    newMachine: { name: 'prod-1-w-3' },
    reason: 'upgrade',
  });
  const scaleAsked = createEvent(NodePoolScaleRequested, meta(4, '/flotilla/inventory'), { pool: 'w', count: 2 });
  const lastProgress = progress(9, { phase: 'Running', controlPlane: { ready: 1, total: 1 }, nodePools: [{ pool: 'w', ready: 1, total: 1 }] });

  const table: { name: string; events: CloudEvent[]; expect: (view: ClusterView) => void }[] = [
    {
      name: 'a late ClusterUpgraded never takes the version back',
      events: [requested, ready, up34, up35],
      expect: (view) => assert.equal(view.kubernetesVersion, 'v1.35.0'),
    },
    {
      name: 'a late ClusterReady never takes an upgraded version back',
      events: [requested, up34, ready],
      expect: (view) => assert.equal(view.kubernetesVersion, 'v1.34.1'),
    },
    {
      name: 'a late join never brings back a node removed since',
      events: [requested, nodes, ready, scaled, replaced],
      expect: (view) => assert.deepEqual(view.nodes.map((node) => node.name), [cp.name, w2.name]),
    },
    {
      name: 'a request arriving after its answer is not pending',
      events: [requested, progress(1, { requestEventId: requested.id }), nodes, ready, scaleAsked, scaled],
      expect: (view) => assert.deepEqual(view.pendingRequests, []),
    },
    {
      name: 'late progress never replaces newer progress, nor a Running status',
      events: [requested, progress(1), nodes, ready, lastProgress],
      expect: (view) => {
        assert.equal(view.progress?.phase, 'Running');
        assert.equal(view.status, 'Running');
      },
    },
  ];

  for (const { name, events, expect } of table) {
    it(`${name}: every order of arrival ends in the same view`, () => {
      const reference = replay(events)!;
      expect(reference);
      for (const order of permutations(events)) assert.deepEqual(replay(order), reference, order.map((event) => event.type.split('.').at(-2)).join(' '));
    });
  }

  it('a late ImportRejected does not reject a cluster imported since', () => {
    const asked = createEvent(ClusterImportRequested, meta(0, '/flotilla/inventory'), { name: 'edge', credentialRef: 'c', provider: 'cncf', apiServer: 'https://edge.example' });
    const refused = createEvent(ImportRejected, meta(1, '/flotilla/importer'), { reasons: [{ code: 'unreachable', message: 'no answer' }] });
    const again = createEvent(ClusterImportRequested, meta(2, '/flotilla/inventory'), { name: 'edge', credentialRef: 'c', provider: 'cncf', apiServer: 'https://edge.example' });
    const imported = createEvent(ClusterImported, meta(3, '/flotilla/importer'), { name: 'edge', distribution: 'k3s', kubernetesVersion: 'v1.33.1+k3s1', nodeCount: 1, capacity: { cpuCores: 2, memoryBytes: 4e9 }, warnings: [] });
    const view = replay([asked, refused, again, imported, refused])!;
    assert.equal(view.status, 'Running');
  });
});

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let index = 0; index < items.length; index++) {
    const rest = [...items.slice(0, index), ...items.slice(index + 1)];
    for (const tail of permutations(rest)) yield [items[index]!, ...tail];
  }
}
