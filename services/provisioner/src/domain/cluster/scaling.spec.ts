import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCondition } from '../conditions.js';
import { CLUSTER_LIMITS } from '@flotilla/contracts';
import { decide, machineWork, type ClusterState } from './index.js';
import { spec, host, hostsSpec, RELEASE, at, observe, gone, when, types, byType, bringUp, running, scale, refusedWith } from '../../../test/support/lifecycle.js';

describe('scaling a node pool', () => {
  it('given a Running cluster, when a pool scales up, then new machines come up, join (NodesProvisioned) and the pool is scaled', () => {
    const { state, events } = when(running(), scale('general', 4, 10));
    assert.deepEqual(types(events), ['NodePoolScalingStarted', 'MachinesAdded']);
    assert.deepEqual(byType(events, 'MachinesAdded')[0]!.machines.map((machine) => [machine.name, machine.kubernetesVersion, machine.machineSize]), [
      ['c1-general-2', '1.30', 'm'],
      ['c1-general-3', '1.30', 'm'],
    ]);
    assert.equal(state.operation?.kind, 'scale');
    assert.equal(findCondition(state.conditions, 'Scaling')?.status, 'True');
    assert.deepEqual(state.machines.map((machine) => machineWork(state, machine)), ['health-check', 'health-check', 'health-check', 'provision', 'provision']);

    const done = bringUp(state, 20);
    assert.deepEqual(types(done.events), ['MachineProvisioningStarted', 'MachineProvisioned', 'MachineRunning', 'NodesJoined', 'MachineProvisioningStarted', 'MachineProvisioned', 'MachineRunning', 'NodesJoined', 'NodePoolScaled']);
    const scaled = byType(done.events, 'NodePoolScaled')[0]!;
    assert.deepEqual([scaled.from, scaled.to, scaled.requested, scaled.nodes.length, scaled.removed], [2, 4, 4, 4, []]);
    assert.equal(done.state.operation, null);
    assert.equal(findCondition(done.state.conditions, 'Scaling')?.reason, 'Scaled');
  });

  it('when a pool scales down, then its newest machines are drained and released, and the pool is scaled once they are gone', () => {
    const { state, events } = when(running(), scale('general', 1, 10));
    assert.deepEqual(types(events), ['NodePoolScalingStarted', 'MachineRemovalStarted']);
    const removing = state.machines.find((machine) => machine.name === 'c1-general-1')!;
    assert.deepEqual([removing.phase, removing.removal, machineWork(state, removing)], ['Deleting', { reason: 'scale-down' }, 'remove']);
    const done = when(state, observe('c1-general-1', gone, 11));
    assert.deepEqual(types(done.events), ['MachineDeleted', 'NodePoolScaled']);
    assert.deepEqual(byType(done.events, 'NodePoolScaled')[0]!.removed, ['c1-general-1']);
    assert.deepEqual(done.state.machines.map((machine) => machine.name), ['c1-cp-0', 'c1-general-0']);
  });

  it('the same request again, or the size the pool has, changes nothing', () => {
    const { state } = when(running(), scale('general', 4, 10));
    assert.deepEqual(decide(scale('general', 4, 11), state), []);
    assert.deepEqual(decide(scale('general', 2, 11), running()), []);
  });

  it('is refused for an unknown pool, a cluster that is not Running, and a cluster busy with something else', () => {
    assert.throws(() => decide(scale('gpu', 3, 10), running()), refusedWith('node-pool-unknown', 'pool'));
    const provisioning = when(undefined, { type: 'RequestCluster', clusterId: 'c1', spec, release: RELEASE, providers: ['simulated'], at: at(0) }).state;
    assert.throws(() => decide(scale('general', 3, 10), provisioning), refusedWith('cluster-not-running'));
    const busy = when(running(), scale('general', 4, 10)).state;
    assert.throws(() => decide(scale('general', 1, 11), busy), refusedWith('cluster-busy'));
    assert.throws(() => decide(scale('general', 3, 10), undefined), refusedWith('cluster-not-found'));
    assert.throws(() => decide(scale('general', 3, 10, [host('192.168.1.20', 'worker')]), running()), refusedWith('scale-hosts-not-allowed', 'hosts'));
  });

  it('a pool on users\' hosts scales up only with as many new hosts as machines asked for; the refusal names count', () => {
    const cluster = running(hostsSpec);
    assert.throws(() => decide(scale('general', 3, 10), cluster), (error: unknown) => refusedWith('scale-hosts-mismatch', 'count')(error) && /count 3 needs 2 new host\(s\)/.test((error as Error).message));
    assert.throws(() => decide(scale('general', 2, 10, [host('192.168.1.11', 'worker', 'general')]), cluster), refusedWith('host-duplicate', 'hosts.0.address'));
    const { state, events } = when(cluster, scale('general', 2, 10, [host('192.168.1.12', 'worker', 'general')]));
    const [added] = byType(events, 'MachinesAdded')[0]!.machines;
    assert.deepEqual([added?.name, added?.host?.address, added?.machineSize], ['c1-general-1', '192.168.1.12', null]);
    assert.equal(bringUp(state, 20).state.operation, null);
  });

  it('a new machine that fails does not fail the Running cluster: it is released and the pool ends smaller', () => {
    const { state } = when(running(), scale('general', 3, 10));
    const failed = when(state, observe('c1-general-2', { kind: 'failed', code: 'machine-failed', message: 'boot failure' }, 11));
    assert.deepEqual(types(failed.events), ['MachineFailed', 'MachineRemovalStarted']);
    assert.equal(failed.state.phase, 'Running');
    const done = when(failed.state, observe('c1-general-2', gone, 12));
    const scaled = byType(done.events, 'NodePoolScaled')[0]!;
    assert.deepEqual([scaled.to, scaled.requested], [2, 3]);
    assert.equal(findCondition(done.state.conditions, 'Scaling')?.reason, 'MachineFailed');
  });

  it('may not take the cluster past the workers a cluster may have, all pools together; the refusal names count', () => {
    // given: a Running cluster one machine short of the bound (its pool grown machine by machine).
    const cluster = running({ ...spec, nodePools: [...spec.nodePools, { name: 'batch', count: 1, machineSize: 'm', labels: {}, taints: [] }] });
    const template = cluster.machines.find((machine) => machine.pool === 'general')!;
    const grown = Array.from({ length: CLUSTER_LIMITS.workers - 4 }, (_, index) => ({ ...template, name: `c1-general-${index + 2}` }));
    const state: ClusterState = { ...cluster, machines: [...cluster.machines, ...grown] };
    assert.equal(state.machines.filter((machine) => machine.role === 'worker').length, CLUSTER_LIMITS.workers - 1);

    assert.deepEqual(types(decide(scale('batch', 2, 10), state)), ['NodePoolScalingStarted', 'MachinesAdded']);
    assert.throws(() => decide(scale('batch', 3, 10), state), refusedWith('cluster-too-large', 'count'));
    assert.throws(() => decide(scale('general', CLUSTER_LIMITS.workers, 10), state), refusedWith('cluster-too-large', 'count'));
    // Shrinking is always allowed.
    assert.deepEqual(types(decide(scale('batch', 0, 10), state)), ['NodePoolScalingStarted', 'MachineRemovalStarted']);
  });
});
