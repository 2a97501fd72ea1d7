import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterAdopted,
  ClusterDeleted,
  ClusterImported,
  ClusterReady,
  ClusterRequested,
  ClusterUpgraded,
  ClusterVersionChanged,
  createEvent,
  MachineReplaced,
  NodePoolScaled,
  NodesProvisioned,
  type CloudEvent,
} from '@flotilla/contracts';
import { evolve, nodePools, toFleetCluster, type FleetEntry, type FleetNode } from './fleet-entry.js';

const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const meta = (second: number, subject = 'pp-1') => ({ subject, source: '/tests', time: at(second) });

const provisioned = (second: number, nodes: { name: string; role: 'control-plane' | 'worker'; pool?: string; kubeletVersion?: string }[]) =>
  createEvent(NodesProvisioned, meta(second), { model: 'platform-provisioned', nodes: nodes.map((node) => ({ addresses: [], ...node })) });
const ready = (second: number, kubernetesVersion: string) => createEvent(ClusterReady, meta(second), { model: 'platform-provisioned', kubernetesVersion, nodeCount: 2 });
const versionChanged = (second: number, previousVersion: string, kubernetesVersion: string, subject = 'pp-1') =>
  createEvent(ClusterVersionChanged, meta(second, subject), { previousVersion, kubernetesVersion });
const deleted = (second: number) => createEvent(ClusterDeleted, meta(second), { model: 'platform-provisioned' });

function replay(events: CloudEvent[], from?: FleetEntry): FleetEntry {
  return events.reduce<FleetEntry | undefined>((entry, event) => evolve(entry, event), from)!;
}

const liveNodes = (entry: FleetEntry): Pick<FleetNode, 'name' | 'kubeletVersion'>[] =>
  entry.nodes.filter((node) => !node.removed).map(({ name, kubeletVersion }) => ({ name, kubeletVersion }));

describe('fleet view (evolve)', () => {
  const nodes = provisioned(1, [
    { name: 'pp-1-cp-0', role: 'control-plane', kubeletVersion: 'v1.30.4' },
    { name: 'pp-1-w-0', role: 'worker', pool: 'workers', kubeletVersion: 'v1.27.3' },
  ]);

  it('given nodes then ready: a platform-provisioned cluster with its API server and pools', () => {
    const entry = replay([nodes, ready(2, 'v1.30.4')]);
    assert.equal(entry.model, 'platform-provisioned');
    assert.equal(entry.controlPlaneVersion, 'v1.30.4');
    assert.deepEqual(toFleetCluster(entry), {
      id: 'pp-1',
      model: 'platform-provisioned',
      controlPlaneVersion: 'v1.30.4',
      nodePools: [
        { name: 'control-plane', version: 'v1.30.4' },
        { name: 'workers', version: 'v1.27.3' },
      ],
    });
  });

  it('given the same facts in another order: the same entry', () => {
    const forward = replay([nodes, ready(2, 'v1.30.4'), versionChanged(3, 'v1.30.4', 'v1.31.0')]);
    const backward = replay([versionChanged(3, 'v1.30.4', 'v1.31.0'), ready(2, 'v1.30.4'), nodes]);
    assert.deepEqual(backward, forward);
    assert.equal(forward.controlPlaneVersion, 'v1.31.0', 'the newer fact wins whatever the arrival order');
  });

  it('given a fact twice: applying it again changes nothing (redelivery is harmless)', () => {
    const once = replay([nodes, ready(2, 'v1.30.4')]);
    assert.deepEqual(evolve(once, ready(2, 'v1.30.4')), once);
  });

  it('nodes only, no ready yet: known but not plannable (no API server version reported)', () => {
    const entry = replay([nodes]);
    assert.equal(entry.controlPlaneVersion, null);
    assert.equal(toFleetCluster(entry), undefined);
  });

  it('ClusterImported: a connected cluster with its distribution and no pools', () => {
    const imported = createEvent(ClusterImported, meta(0, 'eks-1'), {
      name: 'eks-1',
      distribution: 'eks',
      kubernetesVersion: 'v1.30.9-eks-113cf36',
      nodeCount: 3,
      capacity: { cpuCores: 12, memoryBytes: 48e9 },
      warnings: [],
    });
    assert.deepEqual(toFleetCluster(evolve(undefined, imported)), {
      id: 'eks-1',
      model: 'connected',
      controlPlaneVersion: 'v1.30.9-eks-113cf36',
      nodePools: [],
      distribution: 'eks',
    });
  });

  it('ClusterAdopted: an imported cloud cluster becomes public-cloud, planned like the clusters Flotilla created; a late import does not make it connected again', () => {
    const imported = (second: number) =>
      createEvent(ClusterImported, meta(second, 'eks-2'), { name: 'eks-2', distribution: 'eks', kubernetesVersion: 'v1.30.9-eks-113cf36', nodeCount: 3, capacity: { cpuCores: 12, memoryBytes: 48e9 }, warnings: [] });
    const adopted = createEvent(ClusterAdopted, meta(5, 'eks-2'), {
      model: 'public-cloud',
      provider: 'eks',
      region: 'eu-west-1',
      kubernetesVersion: '1.30',
      nodePools: [{ name: 'ng-1', count: 3, machineSize: 'm5.large', minCount: 1, maxCount: 5 }],
    });
    const expected = { id: 'eks-2', model: 'public-cloud', controlPlaneVersion: '1.30', nodePools: [], distribution: 'eks' };
    assert.deepEqual(toFleetCluster(replay([imported(0), adopted])), expected);
    assert.deepEqual(toFleetCluster(replay([adopted, imported(0)])), expected, 'the same whatever the order they arrive in');
    // Imported again later (after a deletion elsewhere, say): connected.
    assert.equal(replay([imported(0), adopted, imported(9)]).model, 'connected');
  });

  it('ClusterUpgraded: the control plane and every node on the new version', () => {
    const upgraded = createEvent(ClusterUpgraded, meta(5), { model: 'platform-provisioned', fromVersion: 'v1.30.4', toVersion: 'v1.31.2' });
    const entry = replay([nodes, ready(2, 'v1.30.4'), upgraded]);
    assert.equal(entry.controlPlaneVersion, 'v1.31.2');
    assert.deepEqual(liveNodes(entry), [
      { name: 'pp-1-cp-0', kubeletVersion: 'v1.31.2' },
      { name: 'pp-1-w-0', kubeletVersion: 'v1.31.2' },
    ]);
  });

  it('ClusterUpgraded before an older node fact: the nodes it knew of run the new version, whatever the order facts arrive in', () => {
    const upgraded = createEvent(ClusterUpgraded, meta(5), { model: 'platform-provisioned', fromVersion: 'v1.30.4', toVersion: 'v1.31.2' });
    const rolled = createEvent(MachineReplaced, meta(4), {
      model: 'platform-provisioned',
      role: 'worker',
      pool: 'workers',
      reason: 'upgrade',
      oldMachine: { name: 'pp-1-w-0' },
      newMachine: { name: 'pp-1-w-9' },
    });
    const inOrder = replay([nodes, ready(2, 'v1.30.4'), rolled, upgraded]);
    const upgradeFirst = replay([upgraded, rolled, ready(2, 'v1.30.4'), nodes]);
    assert.deepEqual(liveNodes(upgradeFirst), [
      { name: 'pp-1-cp-0', kubeletVersion: 'v1.31.2' },
      { name: 'pp-1-w-9', kubeletVersion: 'v1.31.2' },
    ]);
    assert.deepEqual(toFleetCluster(upgradeFirst), toFleetCluster(inOrder));
    // A node that joined after the upgrade reports its own version.
    const later = replay([upgraded, nodes, provisioned(7, [{ name: 'pp-1-w-1', role: 'worker', pool: 'workers', kubeletVersion: 'v1.30.9' }])]);
    assert.equal(later.nodes.find((node) => node.name === 'pp-1-w-1')?.kubeletVersion, 'v1.30.9');
    assert.equal(later.nodes.find((node) => node.name === 'pp-1-w-0')?.kubeletVersion, 'v1.31.2');
  });

  it('NodePoolScaled: removed nodes leave the view, new ones join it, and a late listing does not bring a removed one back', () => {
    const grown = provisioned(3, [{ name: 'pp-1-w-1', role: 'worker', pool: 'workers', kubeletVersion: 'v1.27.3' }]);
    const shrunk = createEvent(NodePoolScaled, meta(5), {
      model: 'platform-provisioned',
      pool: 'workers',
      from: 2,
      to: 1,
      requested: 1,
      nodes: [{ name: 'pp-1-w-1', role: 'worker', pool: 'workers', addresses: [] }],
      removed: ['pp-1-w-0'],
    });
    const entry = replay([nodes, ready(2, 'v1.30.4'), grown, shrunk, nodes]);
    assert.deepEqual(liveNodes(entry), [
      { name: 'pp-1-cp-0', kubeletVersion: 'v1.30.4' },
      { name: 'pp-1-w-1', kubeletVersion: 'v1.27.3' },
    ]);
  });

  it('MachineReplaced (unhealthy): the new machine runs what the old one ran, and a late listing of the old one does not bring it back', () => {
    const replaced = createEvent(MachineReplaced, meta(5), {
      model: 'platform-provisioned',
      role: 'worker',
      pool: 'workers',
      oldMachine: { name: 'pp-1-w-0' },
      newMachine: { name: 'pp-1-w-1' },
      reason: 'unhealthy',
    });
    const entry = replay([nodes, ready(2, 'v1.30.4'), replaced, nodes]);
    assert.deepEqual(liveNodes(entry), [
      { name: 'pp-1-cp-0', kubeletVersion: 'v1.30.4' },
      { name: 'pp-1-w-1', kubeletVersion: 'v1.27.3' },
    ]);
  });

  it('MachineReplaced (upgrade): the new kubelet version is unknown, so its pool is left out rather than guessed', () => {
    const replaced = createEvent(MachineReplaced, meta(5), {
      model: 'platform-provisioned',
      role: 'worker',
      pool: 'workers',
      oldMachine: { name: 'pp-1-w-0' },
      newMachine: { name: 'pp-1-w-1' },
      reason: 'upgrade',
    });
    const cluster = toFleetCluster(replay([nodes, ready(2, 'v1.30.4'), replaced]));
    assert.deepEqual(cluster?.nodePools, [{ name: 'control-plane', version: 'v1.30.4' }]);
  });

  it('MachineReplaced with the new kubelet version: the new machine runs that version, whatever the reason', () => {
    const replacement = (second: number, reason: 'upgrade' | 'unhealthy', oldName: string, newName: string, kubeletVersion: string) =>
      createEvent(MachineReplaced, meta(second), {
        model: 'platform-provisioned',
        role: 'worker',
        pool: 'workers',
        oldMachine: { name: oldName },
        newMachine: { name: newName, kubeletVersion },
        reason,
      });
    const upgraded = replay([nodes, ready(2, 'v1.30.4'), replacement(5, 'upgrade', 'pp-1-w-0', 'pp-1-w-1', 'v1.30.4')]);
    assert.deepEqual(liveNodes(upgraded), [
      { name: 'pp-1-cp-0', kubeletVersion: 'v1.30.4' },
      { name: 'pp-1-w-1', kubeletVersion: 'v1.30.4' },
    ]);
    assert.deepEqual(toFleetCluster(upgraded)?.nodePools, [
      { name: 'control-plane', version: 'v1.30.4' },
      { name: 'workers', version: 'v1.30.4' },
    ]);
    const healed = replay([replacement(7, 'unhealthy', 'pp-1-w-1', 'pp-1-w-2', 'v1.30.5')], upgraded);
    assert.deepEqual(liveNodes(healed).at(-1), { name: 'pp-1-w-2', kubeletVersion: 'v1.30.5' }, 'the event wins over the old machine\'s version');
  });

  it('ClusterDeleted: out of the plannable fleet; later-arriving older facts do not resurrect it', () => {
    const entry = replay([nodes, ready(2, 'v1.30.4'), deleted(9), versionChanged(4, 'v1.30.4', 'v1.31.0'), nodes]);
    assert.equal(entry.deletedAt, at(9).toISOString());
    assert.equal(toFleetCluster(entry), undefined);
  });

  it('a fact newer than the deletion: the id was reused for a new cluster', () => {
    const entry = replay([nodes, ready(2, 'v1.30.4'), deleted(9), ready(12, 'v1.34.1')]);
    assert.equal(entry.deletedAt, null);
    assert.equal(entry.controlPlaneVersion, 'v1.34.1');
    assert.deepEqual(entry.nodes, [], 'nothing of the deleted cluster carries over');
  });

  it('events that are not fleet facts leave the entry as it was', () => {
    const entry = replay([nodes, ready(2, 'v1.30.4')]);
    const requested = createEvent(ClusterRequested, meta(20), {
      name: 'pp-1',
      model: 'user-provisioned',
      kubernetesVersion: '1.34',
      controlPlane: { count: 1, machineSize: 'small' },
      nodePools: [],
      network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    });
    assert.equal(evolve(entry, requested), entry);
  });

  it('event times with offsets compare as instants', () => {
    const early = { ...versionChanged(0, 'v1.30.0', 'v1.31.0'), time: '2026-11-23T14:00:00+02:00' }; // 12:00Z
    const late = { ...versionChanged(0, 'v1.30.0', 'v1.30.9'), time: '2026-11-23T12:30:00Z' };
    assert.equal(replay([late, early]).controlPlaneVersion, 'v1.30.9');
  });
});

describe('node pools for the planner', () => {
  const node = (name: string, pool: string | null, kubeletVersion: string | null, role: FleetNode['role'] = 'worker'): FleetNode => ({
    name,
    role,
    pool,
    kubeletVersion,
    time: at(0).toISOString(),
    removed: false,
  });

  it('a pool mid-roll is represented by its oldest kubelet: the one skew can push out', () => {
    assert.deepEqual(nodePools([node('a', 'gpu', 'v1.29.1'), node('b', 'gpu', 'v1.28.7'), node('c', 'gpu', 'v1.29.3')], 'v1.30.1'), [{ name: 'gpu', version: 'v1.28.7' }]);
  });

  it('a kubelet newer than the API server wins, so the planner can refuse the cluster', () => {
    assert.deepEqual(nodePools([node('a', 'gpu', 'v1.28.7'), node('b', 'gpu', 'v1.31.0')], 'v1.30.1'), [{ name: 'gpu', version: 'v1.31.0' }]);
  });

  it('workers without a pool form "workers"; control-plane machines their own pool; nodes without a version are left out', () => {
    assert.deepEqual(nodePools([node('cp', null, 'v1.30.1', 'control-plane'), node('w', null, 'v1.30.0'), node('x', 'edge', null)], 'v1.30.1'), [
      { name: 'control-plane', version: 'v1.30.1' },
      { name: 'workers', version: 'v1.30.0' },
    ]);
  });
});
