import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterSpec } from '@flotilla/contracts';
import { decide, evolve, machineWork, ProvisionerError, refuseForPlacement, type ClusterCommand, type ClusterEvent, type ClusterState, type HealthPolicy, type MachineObservation } from './cluster.js';
import { findCondition } from './conditions.js';

/*
 * Given/when/then for the lifecycle after creation: scale, delete, health checks, upgrades, and
 * hosted placement. `given` builds the state from events; `when` runs commands as the handlers
 * and the reconciler do; `then` looks at the events and the state.
 */

const spec: ClusterSpec = {
  name: 'edge',
  model: 'platform-provisioned',
  kubernetesVersion: '1.30',
  controlPlane: { count: 1, machineSize: 'cp' },
  nodePools: [{ name: 'general', count: 2, machineSize: 'm', labels: {}, taints: [] }],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
};
const host = (address: string, role: 'control-plane' | 'worker', pool?: string) => ({ address, port: 22, user: 'core', sshKeyRef: 'key-1', role, ...(pool ? { pool } : {}) });
const hostsSpec: ClusterSpec = {
  ...spec,
  model: 'user-provisioned',
  nodePools: [{ name: 'general', count: 1, machineSize: 'm', labels: {}, taints: [] }],
  hosts: [host('192.168.1.10', 'control-plane'), host('192.168.1.11', 'worker', 'general')],
};

const RELEASE = '4.0'; // creates 1.28-1.31: room for a minor upgrade
const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + second * 1000).toISOString();
const health: HealthPolicy = { unhealthyTimeoutMs: 60_000, maxUnhealthy: { kind: 'percent', value: 40 } };

let providerIds = 0;
const observe = (machine: string, observation: MachineObservation, second: number): ClusterCommand => ({ type: 'ObserveMachine', clusterId: 'c1', machine, observation, timeoutMs: 600_000, health, at: at(second) });
const up = (): MachineObservation => ({ kind: 'infrastructure-ready', providerId: `sim://m-${++providerIds}`, addresses: [`172.16.0.${providerIds}`] });
const joined = (version = 'v1.30.0'): MachineObservation => ({ kind: 'node-joined', kubeletVersion: version });
const notReady: MachineObservation = { kind: 'node-not-ready', message: 'node is not Ready' };
const gone: MachineObservation = { kind: 'machine-deleted' };

function when(state: ClusterState | undefined, ...commands: ClusterCommand[]): { state: ClusterState; events: ClusterEvent[] } {
  const events: ClusterEvent[] = [];
  for (const command of commands) {
    const produced = decide(command, state);
    state = produced.reduce<ClusterState | undefined>((current, event) => evolve(current, event), state);
    events.push(...produced);
  }
  return { state: state!, events };
}

const types = (events: ClusterEvent[]) => events.map((event) => event.type);
const byType = <T extends ClusterEvent['type']>(events: ClusterEvent[], type: T) => events.filter((event): event is Extract<ClusterEvent, { type: T }> => event.type === type);

/** Brings every machine of the state that is coming up to Running. */
function bringUp(state: ClusterState, second: number, version = 'v1.30.0'): { state: ClusterState; events: ClusterEvent[] } {
  const pending = state.machines.filter((machine) => machine.phase === 'Pending');
  return when(state, ...pending.flatMap((machine) => [observe(machine.name, up(), second), observe(machine.name, joined(version), second)]));
}

/** given: a Running cluster. */
function running(clusterSpec: ClusterSpec = spec): ClusterState {
  const accepted = when(undefined, { type: 'RequestCluster', clusterId: 'c1', spec: clusterSpec, release: RELEASE, providers: ['simulated'], at: at(0) }).state;
  const { state } = bringUp(accepted, 1);
  assert.equal(state.phase, 'Running');
  return state;
}

const scale = (pool: string, count: number, second: number, hosts?: ReturnType<typeof host>[]): ClusterCommand => ({ type: 'ScaleNodePool', clusterId: 'c1', pool, count, ...(hosts ? { hosts } : {}), at: at(second) });
const remove = (second: number): ClusterCommand => ({ type: 'RequestDeletion', clusterId: 'c1', reason: 'done', at: at(second) });
const approve = (toVersion: string, second: number, planId = 'plan-1'): ClusterCommand => ({ type: 'ApproveUpgradeStep', clusterId: 'c1', planId, toVersion, release: RELEASE, at: at(second) });
const refusedWith = (code: string, field?: string) => (error: unknown) => error instanceof ProvisionerError && error.code === code && (field === undefined || error.field === field);

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
});

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

describe('machine health checks', () => {
  it('a node not Ready past the timeout is replaced: the new machine first, then the old one goes, then MachineReplaced', () => {
    const first = when(running(), observe('c1-general-0', notReady, 10));
    assert.deepEqual(types(first.events), ['MachineUnhealthy']);
    assert.equal(findCondition(first.state.conditions, 'MachinesHealthy')?.status, 'False');
    assert.deepEqual(decide(observe('c1-general-0', notReady, 69), first.state), [], 'not yet past the timeout');
    const remediated = when(first.state, observe('c1-general-0', notReady, 71));
    const [replacement] = byType(remediated.events, 'MachinesAdded')[0]!.machines;
    assert.deepEqual([replacement?.name, replacement?.replaces], ['c1-general-2', { machine: 'c1-general-0', reason: 'unhealthy' }]);
    assert.deepEqual(decide(observe('c1-general-0', notReady, 80), remediated.state), [], 'one replacement at a time');

    const joinedNew = bringUp(remediated.state, 90);
    assert.deepEqual(types(joinedNew.events).slice(-2), ['NodesJoined', 'MachineRemovalStarted']);
    const old = joinedNew.state.machines.find((machine) => machine.name === 'c1-general-0')!;
    assert.deepEqual(old.removal, { reason: 'replaced', replacedBy: 'c1-general-2', replaceReason: 'unhealthy' });
    const done = when(joinedNew.state, observe('c1-general-0', gone, 95));
    assert.deepEqual(types(done.events), ['MachineDeleted', 'MachineReplaced']);
    const replaced = byType(done.events, 'MachineReplaced')[0]!;
    assert.deepEqual([replaced.reason, replaced.oldMachine.name, replaced.newMachine.name, replaced.pool], ['unhealthy', 'c1-general-0', 'c1-general-2', 'general']);
    assert.equal(findCondition(done.state.conditions, 'MachinesHealthy')?.status, 'True');
  });

  it('a node that becomes Ready again before the timeout is healthy again', () => {
    const { state } = when(running(), observe('c1-general-0', notReady, 10));
    const { state: healthy, events } = when(state, observe('c1-general-0', { kind: 'node-ready' }, 20));
    assert.deepEqual(types(events), ['MachineHealthy']);
    assert.equal(healthy.machines[1]?.unhealthySince, null);
  });

  it('more unhealthy machines than maxUnhealthy (40% of 3 is 1): nothing is replaced and a condition says why, until enough recover', () => {
    const { state } = when(running(), observe('c1-general-0', notReady, 10), observe('c1-general-1', notReady, 10));
    const blocked = when(state, observe('c1-general-0', notReady, 80));
    assert.deepEqual(types(blocked.events), ['RemediationBlocked']);
    const condition = findCondition(blocked.state.conditions, 'RemediationAllowed');
    assert.deepEqual([condition?.status, condition?.reason], ['False', 'TooManyUnhealthy']);
    assert.match(condition?.message ?? '', /2 of 3 machine\(s\) are unhealthy, more than the 1 allowed/);
    assert.deepEqual(decide(observe('c1-general-1', notReady, 81), blocked.state), [], 'still blocked: no replacement, no repeat');
    const recovered = when(blocked.state, observe('c1-general-1', { kind: 'node-ready' }, 90));
    assert.deepEqual(types(recovered.events), ['MachineHealthy', 'RemediationAllowed']);
    assert.deepEqual(types(when(recovered.state, observe('c1-general-0', notReady, 91)).events), ['MachinesAdded']);
  });

  it('a count works as well, and without a health policy an unhealthy node is only recorded', () => {
    const { state } = when(running(), observe('c1-general-0', notReady, 10));
    const strict: ClusterCommand = { type: 'ObserveMachine', clusterId: 'c1', machine: 'c1-general-0', observation: notReady, timeoutMs: 1, health: { ...health, maxUnhealthy: { kind: 'count', value: 0 } }, at: at(80) };
    assert.deepEqual(types(decide(strict, state)), ['RemediationBlocked']);
    const none: ClusterCommand = { type: 'ObserveMachine', clusterId: 'c1', machine: 'c1-general-0', observation: notReady, timeoutMs: 1, at: at(80) };
    assert.deepEqual(decide(none, state), []);
  });
});

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

describe('hosted control plane placement', () => {
  it('no room for the control plane: the request is refused with the placement\'s reason', () => {
    const [accepted] = decide({ type: 'RequestCluster', clusterId: 'c1', spec: { ...spec, model: 'hosted-control-plane', hosted: { workerModel: 'platform-provisioned' } }, release: RELEASE, providers: ['simulated'], at: at(0) }, undefined);
    assert.ok(accepted?.type === 'ClusterAccepted');
    const refused = refuseForPlacement(accepted, 'no-management-cluster', 'no management cluster is registered');
    const state = evolve(undefined, refused);
    assert.deepEqual([state.phase, state.machines.length, state.failureReasons], ['Failed', 0, [{ code: 'no-management-cluster', message: 'no management cluster is registered', field: 'hosted' }]]);
    assert.equal(findCondition(state.conditions, 'Ready')?.reason, 'NoControlPlanePlacement');
  });
});
