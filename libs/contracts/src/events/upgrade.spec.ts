import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSupportMatrix } from '../policy/support-matrix.data.js';
import { planGlobalUpgrade } from '../policy/planner.js';
import { MachineReplaced } from './cluster.js';
import { UpgradePlanned } from './upgrade.js';

describe('UpgradePlanned', () => {
  const released = {
    fromRelease: '4.2',
    toRelease: '4.3',
    policyRevision: 'r1',
    satisfiable: true,
    clusters: [{ clusterId: 'pp-1', model: 'platform-provisioned', currentVersion: 'v1.30.4', action: 'upgrade-before-global', path: ['1.30', '1.31'], wave: 1, reason: 'r' }],
  };

  it('still accepts an event as first released, filling the new defaults', () => {
    const data = UpgradePlanned.data.parse(released);
    assert.deepEqual(data.issues, []);
    assert.deepEqual(data.clusters[0]?.nodePoolMoves, []);
    assert.equal(data.revision, undefined);
    assert.equal(data.clusterCount, undefined);
    assert.equal(data.steps, undefined);
  });

  it('takes what the planner computes as it is: issues, steps, target, code and node-pool moves', () => {
    const plan = planGlobalUpgrade({
      fleet: [
        { id: 'pp-1', model: 'platform-provisioned', controlPlaneVersion: 'v1.30.4', nodePools: [{ name: 'workers', version: 'v1.27.3' }] },
        { id: 'old-1', model: 'user-provisioned', controlPlaneVersion: 'v1.27.2', nodePools: [] },
      ],
      fromRelease: '4.2',
      toRelease: '4.3',
      matrix: defaultSupportMatrix,
      maxConcurrency: 10,
    });
    const data = UpgradePlanned.data.parse({
      ...released,
      revision: 3,
      clusterCount: plan.clusters.length,
      satisfiable: plan.satisfiable,
      route: plan.route,
      violations: plan.violations,
      issues: plan.issues,
      steps: plan.steps,
      clusters: plan.clusters.map(({ distribution: _distribution, wave, ...cluster }) => ({ ...cluster, ...(wave === null ? {} : { wave }) })),
    });
    assert.equal(data.revision, 3);
    assert.deepEqual(data.issues.map((i) => [i.code, i.clusterIds]), [['older-than-supported-path', ['old-1']]]);
    assert.deepEqual(data.steps, [{ type: 'workload-wave', phase: 'pre-global', wave: 1, globalRelease: '4.2', clusterIds: ['pp-1'] }]);
    assert.deepEqual(data.route, ['4.2', '4.3']);
    assert.deepEqual(data.violations?.map((v) => [v.code, v.clusterIds]), [['incompatible', ['old-1']]]);
    const old = data.clusters.find((c) => c.clusterId === 'old-1');
    assert.deepEqual(old?.violations?.map((v) => [v.code, v.pool, v.repair.map((m) => m.to)]), [['incompatible', null, ['1.28', '1.29', '1.30']]]);
    const pp = data.clusters.find((c) => c.clusterId === 'pp-1');
    // Into 4.3's range before the global upgrade, then on to its newest minor after it.
    assert.equal(pp?.target, '1.34');
    assert.equal(pp?.code, 'outside-compatible-range');
    assert.deepEqual(pp?.nodePoolMoves.map((m) => [m.pool, m.fromVersion, m.to, m.beforeControlPlane]), [
      ['workers', 'v1.27.3', '1.30', '1.31'],
      ['workers', 'v1.27.3', '1.33', '1.34'],
    ]);
    assert.deepEqual(pp?.steps?.map((step) => [step.from, step.to, step.release, step.beforeGlobal]), [
      ['1.30', '1.31', '4.2', '4.3'],
      ['1.31', '1.32', '4.3', null],
      ['1.32', '1.33', '4.3', null],
      ['1.33', '1.34', '4.3', null],
    ]);
    assert.equal(data.clusters.find((c) => c.clusterId === 'old-1')?.target, null);
  });

  it('refuses a revision below 1 and a target that is not a minor', () => {
    assert.equal(UpgradePlanned.data.safeParse({ ...released, revision: 0 }).success, false);
    assert.equal(UpgradePlanned.data.safeParse({ ...released, clusters: [{ ...released.clusters[0], target: 'v1.31.2' }] }).success, false);
  });
});

describe('MachineReplaced', () => {
  it('may carry the new machine\'s kubelet version', () => {
    const data = MachineReplaced.data.parse({
      model: 'platform-provisioned',
      role: 'worker',
      oldMachine: { name: 'w-0' },
      newMachine: { name: 'w-1', kubeletVersion: 'v1.31.2' },
      reason: 'upgrade',
    });
    assert.equal(data.newMachine.kubeletVersion, 'v1.31.2');
    assert.ok(MachineReplaced.consumers.includes('upgrade-planner'));
  });
});
