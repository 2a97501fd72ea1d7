import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, machineWork } from './index.js';
import { spec, RELEASE, at, observe, up, gone, when, types, running, remove, refusedWith } from '../../../test/support/lifecycle.js';

describe('deleting a cluster', () => {
  it('given a Running cluster, when it is deleted, then every machine is released and ClusterDeleted follows the last one', () => {
    const { state, events } = when(running(), remove(10));
    assert.deepEqual(types(events), ['ClusterDeletionStarted', 'MachineRemovalStarted', 'MachineRemovalStarted', 'MachineRemovalStarted']);
    assert.equal(state.phase, 'Deleting');
    assert.ok(state.machines.every((machine) => machine.phase === 'Deleting' && machineWork(state, machine) === 'remove'));
    assert.deepEqual(decide(remove(11), state), [], 'asked again: nothing more');
    const half = when(state, observe('c1-cp-0', gone, 12), observe('c1-general-0', gone, 12));
    assert.deepEqual(types(half.events), ['MachineDeleted', 'MachineDeleted']);
    const done = when(half.state, observe('c1-general-1', gone, 13));
    assert.deepEqual(types(done.events), ['MachineDeleted', 'ClusterDeleted']);
    assert.equal(done.state.phase, 'Deleted');
    // A late report about a machine that is gone is refused (the reconciler logs and drops it).
    assert.throws(() => decide(observe('c1-general-1', gone, 14), done.state), refusedWith('machine-not-found'));
    assert.deepEqual(decide(remove(14), done.state), []);
  });

  it('mid-provisioning: Pending and Provisioning machines are released too, and late news of them changes nothing', () => {
    const accepted = when(undefined, { type: 'RequestCluster', clusterId: 'c1', spec, release: RELEASE, providers: ['simulated'], at: at(0) }).state;
    const booting = when(accepted, observe('c1-cp-0', { kind: 'infrastructure-pending', providerId: 'sim://1', addresses: [] }, 1)).state;
    const { state } = when(booting, remove(2));
    assert.deepEqual(state.machines.map((machine) => [machine.name, machine.phase]), [['c1-cp-0', 'Deleting'], ['c1-general-0', 'Deleting'], ['c1-general-1', 'Deleting']]);
    assert.deepEqual(decide(observe('c1-general-0', up(), 3), state), []);
    assert.equal(when(state, ...state.machines.map((machine) => observe(machine.name, gone, 4))).state.phase, 'Deleted');
  });

  it('a cluster with no machines (refused) is deleted at once; an unknown one is refused', () => {
    const rejected = when(undefined, { type: 'RequestCluster', clusterId: 'c1', spec: { ...spec, kubernetesVersion: '1.20' }, release: RELEASE, providers: ['simulated'], at: at(0) }).state;
    assert.deepEqual(types(decide(remove(1), rejected)), ['ClusterDeletionStarted', 'ClusterDeleted']);
    assert.throws(() => decide(remove(1), undefined), refusedWith('cluster-not-found'));
  });
});
