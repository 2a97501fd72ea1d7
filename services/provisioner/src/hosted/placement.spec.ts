import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { choosePlacement, type ManagementClusterLoad } from './placement.js';

const Gi = 1024 ** 3;

function cluster(name: string, used: { cpu: number; memoryGi: number; controlPlanes: number }, overrides: Partial<ManagementClusterLoad> = {}): ManagementClusterLoad {
  return {
    name,
    state: 'active',
    capacity: { cpuMillicores: 10_000, memoryBytes: 20 * Gi, maxControlPlanes: 10 },
    used: { cpuMillicores: used.cpu, memoryBytes: used.memoryGi * Gi, controlPlanes: used.controlPlanes },
    ...overrides,
  };
}

const need = { cpuMillicores: 1000, memoryBytes: 2 * Gi };

describe('placement', () => {
  it('none registered: no-management-cluster', () => {
    const decision = choosePlacement([], need);
    assert.equal(decision.ok, false);
    assert.equal(!decision.ok && decision.code, 'no-management-cluster');
  });

  it('spreads load: the cluster least used afterwards wins', () => {
    const decision = choosePlacement([cluster('a', { cpu: 6000, memoryGi: 2, controlPlanes: 2 }), cluster('b', { cpu: 2000, memoryGi: 4, controlPlanes: 2 }), cluster('c', { cpu: 1000, memoryGi: 14, controlPlanes: 1 })], need);
    // after: a -> cpu 0.7; b -> cpu 0.3, mem 0.3; c -> mem 0.8
    assert.deepEqual(decision, { ok: true, managementCluster: 'b', utilisationAfter: { cpu: 0.3, memory: 0.3, controlPlanes: 0.3 } });
  });

  it('the control-plane count counts as load too', () => {
    const decision = choosePlacement([cluster('a', { cpu: 0, memoryGi: 0, controlPlanes: 8 }), cluster('b', { cpu: 3000, memoryGi: 0, controlPlanes: 0 })], need);
    assert.equal(decision.ok && decision.managementCluster, 'b');
  });

  it('ties go to the first name, whatever the order given', () => {
    const loads = [cluster('zeta', { cpu: 0, memoryGi: 0, controlPlanes: 0 }), cluster('alpha', { cpu: 0, memoryGi: 0, controlPlanes: 0 }), cluster('mid', { cpu: 0, memoryGi: 0, controlPlanes: 0 })];
    assert.equal(choosePlacement(loads, need).ok && (choosePlacement(loads, need) as { managementCluster: string }).managementCluster, 'alpha');
    assert.deepEqual(choosePlacement([...loads].reverse(), need), choosePlacement(loads, need));
  });

  it('skips cordoned clusters and clusters without room for any one of cpu, memory or a slot', () => {
    const loads = [
      cluster('cordoned', { cpu: 0, memoryGi: 0, controlPlanes: 0 }, { state: 'cordoned' }),
      cluster('no-cpu', { cpu: 9500, memoryGi: 0, controlPlanes: 0 }),
      cluster('no-memory', { cpu: 0, memoryGi: 19, controlPlanes: 0 }),
      cluster('no-slot', { cpu: 0, memoryGi: 0, controlPlanes: 10 }),
      cluster('exact', { cpu: 9000, memoryGi: 18, controlPlanes: 9 }),
    ];
    assert.deepEqual(choosePlacement(loads, need), { ok: true, managementCluster: 'exact', utilisationAfter: { cpu: 1, memory: 1, controlPlanes: 1 } });
  });

  it('no room anywhere: management-capacity-exhausted, saying what was needed and the largest free room', () => {
    const decision = choosePlacement(
      [cluster('a', { cpu: 9500, memoryGi: 10, controlPlanes: 1 }), cluster('b', { cpu: 8000, memoryGi: 19, controlPlanes: 9 }), cluster('c', { cpu: 0, memoryGi: 0, controlPlanes: 0 }, { state: 'cordoned' })],
      need,
    );
    assert.equal(decision.ok, false);
    if (decision.ok) return;
    assert.equal(decision.code, 'management-capacity-exhausted');
    assert.equal(
      decision.message,
      'no management cluster has room: needed 1000m CPU, 2 GiB memory and 1 control-plane slot; the largest free room is 2000m CPU (b), 10 GiB memory (a), 9 control-plane slot(s) (a)',
    );
  });

  it('all cordoned: exhausted, and the message says so', () => {
    const decision = choosePlacement([cluster('a', { cpu: 0, memoryGi: 0, controlPlanes: 0 }, { state: 'cordoned' })], need);
    assert.deepEqual(decision, { ok: false, code: 'management-capacity-exhausted', message: 'no management cluster has room: all 1 are cordoned; needed 1000m CPU, 2 GiB memory and 1 control-plane slot' });
  });
});
