import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCondition } from '../conditions.js';
import { decide, machineWork, type ClusterCommand } from './index.js';
import { spec, hostsSpec, RELEASE, at, observe, gone, when, types, byType, bringUp, running, scale, approve } from '../../../test/support/lifecycle.js';

describe('upgrade steps', () => {
  it('platform machines are replaced one at a time, control plane first, then ClusterUpgraded', () => {
    let { state, events } = when(running(), approve('1.31', 10));
    assert.deepEqual(types(events), ['UpgradeStarted', 'MachinesAdded']);
    assert.deepEqual(byType(events, 'MachinesAdded')[0]!.machines.map((machine) => [machine.name, machine.kubernetesVersion, machine.replaces?.machine]), [['c1-cp-1', '1.31', 'c1-cp-0']]);
    assert.deepEqual(decide(approve('1.31', 11), state), [], 'redelivered: nothing more');
    assert.equal(findCondition(state.conditions, 'Upgrading')?.status, 'True');

    const replaced: string[] = [];
    for (let second = 20; state.operation !== null && second < 200; second += 10) {
      const newcomer = state.machines.find((machine) => machine.phase === 'Pending')!;
      ({ state } = bringUp(state, second, 'v1.31.0'));
      const old = state.machines.find((machine) => machine.phase === 'Deleting')!;
      ({ state, events } = when(state, observe(old.name, gone, second + 5)));
      replaced.push(`${old.name}->${newcomer.name}`);
      assert.equal(byType(events, 'MachineReplaced')[0]?.reason, 'upgrade');
    }
    assert.deepEqual(replaced, ['c1-cp-0->c1-cp-1', 'c1-general-0->c1-general-2', 'c1-general-1->c1-general-3']);
    const upgraded = byType(events, 'ClusterUpgraded')[0]!;
    assert.deepEqual([upgraded.fromVersion, upgraded.toVersion, upgraded.planId], ['v1.30.0', 'v1.31.0', 'plan-1']);
    assert.equal(state.kubernetesVersion, '1.31');
    assert.ok(state.machines.every((machine) => machine.kubeletVersion === 'v1.31.0'));
    assert.deepEqual(decide(approve('1.31', 300), state), [], 'done already');
  });

  it('users\' hosts are upgraded in place, the first control-plane node first', () => {
    let { state, events } = when(running(hostsSpec), approve('1.31', 10));
    assert.deepEqual(byType(events, 'MachineUpgradeStarted').map((event) => [event.machine, event.first]), [['c1-cp-0', true]]);
    assert.equal(machineWork(state, state.machines[0]!), 'upgrade');
    ({ state, events } = when(state, observe('c1-cp-0', { kind: 'node-upgrading' }, 11), observe('c1-cp-0', { kind: 'node-upgraded', kubeletVersion: 'v1.31.0' }, 12)));
    assert.deepEqual(types(events), ['MachineUpgraded', 'MachineUpgradeStarted']);
    assert.deepEqual(byType(events, 'MachineUpgradeStarted').map((event) => [event.machine, event.first]), [['c1-general-0', false]]);
    ({ state, events } = when(state, observe('c1-general-0', { kind: 'node-upgraded', kubeletVersion: 'v1.31.0' }, 13)));
    assert.deepEqual(types(events), ['MachineUpgraded', 'ClusterUpgraded']);
    assert.equal(state.operation, null);
  });

  it('a step the version policy does not allow is refused with its reason', () => {
    const cluster = running();
    const skip = decide(approve('1.32', 10), cluster);
    assert.deepEqual(types(skip), ['UpgradeStepRejected']);
    assert.deepEqual(byType(skip, 'UpgradeStepRejected')[0]!.reasons.map((item) => item.code), ['control-plane-skips-minor', 'incompatible']);
    assert.deepEqual(byType(decide(approve('1.29', 10), cluster), 'UpgradeStepRejected')[0]!.reasons.map((item) => item.code), ['control-plane-downgrade']);
    assert.deepEqual(byType(decide({ ...approve('1.31', 10), release: '3.18' } as ClusterCommand, cluster), 'UpgradeStepRejected')[0]!.reasons.map((item) => item.code), ['incompatible']);
    const refused = when(cluster, approve('1.32', 10)).state;
    assert.equal(findCondition(refused.conditions, 'Upgrading')?.reason, 'StepRejected');
  });

  it('a cluster that is not Running, or busy, refuses the step with a reason', () => {
    const accepted = when(undefined, { type: 'RequestCluster', clusterId: 'c1', spec, release: RELEASE, providers: ['simulated'], at: at(0) }).state;
    assert.deepEqual(byType(decide(approve('1.31', 10), accepted), 'UpgradeStepRejected')[0]!.reasons.map((item) => item.code), ['cluster-not-running']);
    const scaling = when(running(), scale('general', 3, 10)).state;
    assert.deepEqual(byType(decide(approve('1.31', 11), scaling), 'UpgradeStepRejected')[0]!.reasons.map((item) => item.code), ['cluster-busy']);
  });

  it('a replacement that fails stops the upgrade with UpgradeFailed; the cluster keeps running', () => {
    const { state } = when(running(), approve('1.31', 10));
    const { state: after, events } = when(state, observe('c1-cp-1', { kind: 'failed', code: 'machine-failed', message: 'boot failure' }, 11));
    assert.deepEqual(types(events), ['MachineFailed', 'MachineRemovalStarted', 'UpgradeFailed']);
    assert.deepEqual([after.phase, after.operation, findCondition(after.conditions, 'Upgrading')?.reason], ['Running', null, 'UpgradeFailed']);
  });
});
