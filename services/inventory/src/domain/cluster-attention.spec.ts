import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterImported,
  ClusterImportRequested,
  ClusterProgress,
  ClusterProvisioningFailed,
  ClusterReachable,
  ClusterReady,
  ClusterRequested,
  ClusterUnreachable,
  createEvent,
  NodesProvisioned,
  TunnelConnected,
  TunnelDisconnected,
  UpgradeStepApproved,
  UpgradeStepFailed,
  type CloudEvent,
} from '@flotilla/contracts';
import { attentionOf, readyNodes } from './cluster-attention.js';
import { evolve, type ClusterView } from './cluster-view.js';

const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const meta = (second: number, source = '/flotilla/provisioner') => ({ subject: 'prod-1', source, time: at(second) });
const replay = (events: CloudEvent[]) => events.reduce<ClusterView | undefined>((view, event) => evolve(view, event) ?? view, undefined)!;

const requested = createEvent(ClusterRequested, meta(0, '/flotilla/inventory'), {
  name: 'prod',
  model: 'platform-provisioned',
  kubernetesVersion: '1.34',
  controlPlane: { count: 1, machineSize: 'small' },
  nodePools: [{ name: 'workers', count: 2, machineSize: 'small' }],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  infrastructure: { provider: 'openstack', parameters: {} },
} as never);
const nodes = createEvent(NodesProvisioned, meta(1), {
  model: 'platform-provisioned',
  nodes: ['prod-1-cp-0', 'prod-1-w-0', 'prod-1-w-1'].map((name, index) => ({ name, role: index === 0 ? ('control-plane' as const) : ('worker' as const), addresses: [] })),
});
const progress = (second: number, ready: number) =>
  createEvent(ClusterProgress, meta(second), { model: 'platform-provisioned', phase: 'Provisioning', controlPlane: { ready: 1, total: 1 }, nodePools: [{ pool: 'workers', ready, total: 2 }], operation: null });
const ready = createEvent(ClusterReady, meta(4), { model: 'platform-provisioned', kubernetesVersion: '1.34.2', nodeCount: 3 });

describe('what the overview counts of a cluster', () => {
  it('records the provider its request names', () => {
    assert.equal(replay([requested]).provider, 'openstack');
    const imported = createEvent(ClusterImportRequested, meta(0, '/flotilla/inventory'), { name: 'edge', credentialRef: 'aws', provider: 'eks', cloud: { clusterName: 'edge', region: 'eu-west-1' } });
    assert.equal(replay([imported]).provider, 'eks');
  });

  it('counts as Ready the machines the progress reports, then every node of a Running cluster', () => {
    assert.equal(readyNodes(replay([requested, nodes])), 0, 'nodes joined, none reported Ready yet');
    assert.equal(readyNodes(replay([requested, nodes, progress(2, 1)])), 2, 'the control plane and one worker');
    assert.equal(readyNodes(replay([requested, progress(2, 2)])), 0, 'never more than the nodes known');
    assert.equal(readyNodes(replay([requested, nodes, ready])), 3);
  });

  it('needs action when it failed, and its refusal stands until something happens since', () => {
    const failed = replay([requested, createEvent(ClusterProvisioningFailed, meta(1), { model: 'platform-provisioned', reasons: [{ code: 'quota', message: 'no machines' }] })]);
    assert.deepEqual(attentionOf(failed), ['failed', 'refused']);

    const running = replay([requested, nodes, ready]);
    assert.deepEqual(attentionOf(running), []);
    const refusedStep = replay([
      requested,
      nodes,
      ready,
      createEvent(UpgradeStepApproved, meta(5, '/flotilla/inventory'), { planId: 'plan-1', toVersion: '1.35' }),
      createEvent(UpgradeStepFailed, meta(6), { model: 'platform-provisioned', planId: 'plan-1', fromVersion: '1.34.2', toVersion: '1.35', reasons: [{ code: 'incompatible', message: 'not in the release' }] }),
    ]);
    assert.deepEqual(attentionOf(refusedStep), ['refused']);
    const later = evolve(refusedStep, progress(7, 2))!;
    assert.deepEqual(attentionOf(later), [], 'a later fact: the refusal is no longer the latest word');
  });

  it('needs action while unreachable or while its tunnel is down, and no longer after', () => {
    const asked = createEvent(ClusterImportRequested, meta(0, '/flotilla/inventory'), { name: 'edge', credentialRef: 'flotilla:tunnel', provider: 'cncf' });
    const imported = createEvent(ClusterImported, meta(1, '/flotilla/importer'), { name: 'edge', distribution: 'k3s', kubernetesVersion: '1.33.1', nodeCount: 1, capacity: { cpuCores: 2, memoryBytes: 4e9 }, warnings: [] });
    const down = createEvent(TunnelDisconnected, meta(2, '/flotilla/tunnel-broker'), { agentId: 'a', reason: 'closed' });
    const unreachable = createEvent(ClusterUnreachable, meta(3, '/flotilla/importer'), { reason: { code: 'tunnel-down', message: 'no tunnel' }, since: at(2).toISOString() });
    assert.deepEqual(attentionOf(replay([asked, imported, down, unreachable])), ['unreachable', 'tunnel-disconnected']);
    const back = replay([asked, imported, down, unreachable, createEvent(TunnelConnected, meta(4, '/flotilla/tunnel-broker'), { agentId: 'a' }), createEvent(ClusterReachable, meta(5, '/flotilla/importer'), { since: at(4).toISOString() })]);
    assert.deepEqual(attentionOf(back), []);
  });

  it('never for a deleted cluster', () => {
    const failed = replay([requested, createEvent(ClusterProvisioningFailed, meta(1), { model: 'platform-provisioned', reasons: [{ code: 'quota', message: 'no machines' }] })]);
    assert.deepEqual(attentionOf({ ...failed, status: 'Deleted' }), []);
    assert.equal(readyNodes({ ...replay([requested, nodes, ready]), status: 'Deleted' }), 0);
  });
});
