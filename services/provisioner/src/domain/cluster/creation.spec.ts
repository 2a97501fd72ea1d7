import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterSpec } from '@flotilla/contracts';
import { assignApiServerEndpoint, decide, evolve, machineWork, needsReconcile, ProvisionerError, type ClusterEvent, type ClusterState, type MachineObservation, type ObserveMachine } from './index.js';
import { findCondition } from '../conditions.js';

const spec: ClusterSpec = {
  name: 'edge',
  model: 'platform-provisioned',
  kubernetesVersion: '1.34',
  controlPlane: { count: 1, machineSize: 'cp' },
  nodePools: [{ name: 'general', count: 2, machineSize: 'm', labels: {}, taints: [] }],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
};

const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString();
const TIMEOUT = 60_000;

const request = (overrides: Partial<ClusterSpec> = {}, second = 0) => ({ type: 'RequestCluster' as const, clusterId: 'c1', spec: { ...spec, ...overrides }, release: '4.3', providers: ['simulated'], at: at(second) });
const observe = (machine: string, observation: MachineObservation, second: number): ObserveMachine => ({ type: 'ObserveMachine', clusterId: 'c1', machine, observation, timeoutMs: TIMEOUT, at: at(second) });
const up = (n: number): MachineObservation => ({ kind: 'infrastructure-ready', providerId: `sim://m-${n}`, addresses: [`172.16.0.${n}`] });
const booting = (n: number): MachineObservation => ({ kind: 'infrastructure-pending', providerId: `sim://m-${n}`, addresses: [] });
const joined: MachineObservation = { kind: 'node-joined', kubeletVersion: 'v1.34.0' };

/** given: the state the events build. */
function given(...events: ClusterEvent[]): ClusterState | undefined {
  return events.reduce<ClusterState | undefined>((state, event) => evolve(state, event), undefined);
}

/** Runs commands one after another, as the handler and the reconciler do. */
function run(state: ClusterState | undefined, ...commands: Parameters<typeof decide>[0][]): { state: ClusterState | undefined; events: ClusterEvent[] } {
  const events: ClusterEvent[] = [];
  for (const command of commands) {
    const produced = decide(command, state);
    state = produced.reduce<ClusterState | undefined>((current, event) => evolve(current, event), state);
    events.push(...produced);
  }
  return { state, events };
}

const accepted = () => run(undefined, request()).state!;

describe('cluster lifecycle (decide/evolve)', () => {
  it('given nothing, when a valid cluster is requested, then it is accepted with its Pending machines', () => {
    const events = decide(request(), undefined);
    assert.deepEqual(events.map((event) => event.type), ['ClusterAccepted']);
    const state = given(...events)!;
    assert.equal(state.phase, 'Pending');
    assert.deepEqual(state.machines.map((machine) => [machine.name, machine.role, machine.pool, machine.phase]), [
      ['c1-cp-0', 'control-plane', null, 'Pending'],
      ['c1-general-0', 'worker', 'general', 'Pending'],
      ['c1-general-1', 'worker', 'general', 'Pending'],
    ]);
    assert.equal(findCondition(state.conditions, 'SpecValid')?.status, 'True');
    assert.equal(findCondition(state.conditions, 'InfrastructureReady')?.message, '0 of 3 machine(s) provisioned');
    assert.ok(state.machines.every((machine) => needsReconcile(state, machine)));
  });

  it('given nothing, when an invalid cluster is requested, then it is rejected with every reason and has no machines', () => {
    const events = decide(request({ kubernetesVersion: '1.31', network: { podCidr: '10.96.0.0/16', serviceCidr: '10.96.0.0/12' } }), undefined);
    assert.equal(events.length, 1);
    const rejected = events[0]!;
    assert.equal(rejected.type, 'ClusterRejected');
    assert.deepEqual(rejected.type === 'ClusterRejected' && rejected.reasons.map((reason) => reason.code), ['creation-unsupported', 'cidr-overlap']);
    const state = given(...events)!;
    assert.equal(state.phase, 'Failed');
    assert.equal(state.machines.length, 0);
    assert.equal(state.failureReasons.length, 2);
    assert.equal(findCondition(state.conditions, 'SpecValid')?.reason, 'InvalidSpec');
  });

  it('given a requested cluster, when the same request comes again (keys in another order), then nothing happens', () => {
    const reordered = JSON.parse(JSON.stringify({ network: spec.network, nodePools: spec.nodePools, controlPlane: spec.controlPlane, kubernetesVersion: spec.kubernetesVersion, model: spec.model, name: spec.name })) as ClusterSpec;
    assert.deepEqual(decide({ ...request(), spec: reordered, at: at(30) }, accepted()), []);
  });

  it('given a requested cluster, when a different request for the same id comes, then it is refused as a conflict', () => {
    assert.throws(
      () => decide(request({ controlPlane: { count: 3, machineSize: 'cp' } }), accepted()),
      (error: unknown) => error instanceof ProvisionerError && error.code === 'cluster-exists',
    );
  });

  it('when a machine is still booting at the provider, then provisioning starts with a deadline and the cluster is Provisioning', () => {
    const { state, events } = run(accepted(), observe('c1-cp-0', booting(1), 1));
    assert.deepEqual(events.map((event) => event.type), ['MachineProvisioningStarted']);
    const machine = state!.machines[0]!;
    assert.equal(machine.phase, 'Provisioning');
    assert.equal(machine.providerId, 'sim://m-1');
    assert.equal(machine.deadline, at(61));
    assert.equal(state!.phase, 'Provisioning');
    // Seen booting again: nothing new.
    assert.deepEqual(decide(observe('c1-cp-0', booting(1), 2), state), []);
  });

  it('when every machine is up and joined, then the cluster is Provisioned, then Running, with every node', () => {
    const { state, events } = run(
      accepted(),
      observe('c1-cp-0', up(1), 1),
      observe('c1-general-0', up(2), 1),
      observe('c1-general-1', booting(3), 1),
      observe('c1-general-1', up(3), 2),
      observe('c1-cp-0', joined, 3),
      observe('c1-general-0', joined, 3),
      observe('c1-general-1', joined, 4),
    );
    assert.deepEqual(events.map((event) => event.type), [
      'MachineProvisioningStarted',
      'MachineProvisioned',
      'MachineProvisioningStarted',
      'MachineProvisioned',
      'MachineProvisioningStarted',
      'MachineProvisioned',
      'ClusterInfrastructureReady',
      'MachineRunning',
      'MachineRunning',
      'MachineRunning',
      'ClusterRunning',
    ]);
    const running = events.at(-1)!;
    assert.ok(running.type === 'ClusterRunning');
    assert.equal(running.kubernetesVersion, 'v1.34.0');
    assert.deepEqual(running.nodes, [
      { name: 'c1-cp-0', role: 'control-plane', providerId: 'sim://m-1', addresses: ['172.16.0.1'], kubeletVersion: 'v1.34.0', machineSize: 'cp' },
      { name: 'c1-general-0', role: 'worker', pool: 'general', providerId: 'sim://m-2', addresses: ['172.16.0.2'], kubeletVersion: 'v1.34.0', machineSize: 'm' },
      { name: 'c1-general-1', role: 'worker', pool: 'general', providerId: 'sim://m-3', addresses: ['172.16.0.3'], kubeletVersion: 'v1.34.0', machineSize: 'm' },
    ]);
    assert.equal(state!.phase, 'Running');
    assert.equal(findCondition(state!.conditions, 'Ready')?.status, 'True');
    assert.equal(findCondition(state!.conditions, 'ControlPlaneReady')?.reason, 'ControlPlaneRunning');
    // Running nodes stay in the reconciler's queue for their health checks.
    assert.ok(state!.machines.every((machine) => machine.phase === 'Running' && machineWork(state!, machine) === 'health-check'));
  });

  it('an observation that says nothing new (redelivered, or from a replica whose claim expired) changes nothing', () => {
    const { state } = run(accepted(), observe('c1-cp-0', up(1), 1), observe('c1-cp-0', joined, 2));
    assert.deepEqual(decide(observe('c1-cp-0', up(1), 3), state), []);
    assert.deepEqual(decide(observe('c1-cp-0', joined, 3), state), []);
    assert.deepEqual(decide(observe('c1-cp-0', booting(1), 3), state), []);
  });

  it('a node cannot join before its machine is up', () => {
    assert.deepEqual(decide(observe('c1-cp-0', joined, 1), accepted()), []);
  });

  it('when a machine fails, then the cluster fails with the reason, and the other machines stop', () => {
    const { state, events } = run(accepted(), observe('c1-general-0', { kind: 'failed', code: 'machine-failed', message: 'instance never became reachable' }, 5));
    assert.deepEqual(events.map((event) => event.type), ['MachineFailed', 'ClusterFailed']);
    const failed = events[1]!;
    assert.ok(failed.type === 'ClusterFailed');
    assert.deepEqual(failed.reasons, [{ code: 'machine-failed', message: 'machine c1-general-0 (worker, pool general): instance never became reachable' }]);
    assert.equal(state!.phase, 'Failed');
    assert.equal(findCondition(state!.conditions, 'InfrastructureReady')?.reason, 'MachineFailed');
    assert.ok(state!.machines.every((machine) => !needsReconcile(state!, machine)));
    // Later news of another machine: recorded if it failed too, otherwise nothing moves.
    assert.deepEqual(decide(observe('c1-cp-0', up(1), 6), state), []);
    assert.deepEqual(decide(observe('c1-cp-0', { kind: 'failed', code: 'provider-error', message: 'quota' }, 6), state).map((event) => event.type), ['MachineFailed']);
  });

  it('when a machine is still booting after its deadline, then it fails with machine-timeout', () => {
    const { state } = run(accepted(), observe('c1-cp-0', booting(1), 0));
    assert.deepEqual(decide(observe('c1-cp-0', booting(1), 59), state), []);
    const events = decide(observe('c1-cp-0', booting(1), 61), state);
    assert.deepEqual(events.map((event) => event.type), ['MachineFailed', 'ClusterFailed']);
    assert.ok(events[0]?.type === 'MachineFailed' && events[0].reason.code === 'machine-timeout');
  });

  it('a node that never joins also times out', () => {
    const { state } = run(accepted(), observe('c1-cp-0', up(1), 0));
    assert.deepEqual(decide(observe('c1-cp-0', { kind: 'node-joining' }, 30), state), []);
    assert.deepEqual(decide(observe('c1-cp-0', { kind: 'node-joining' }, 61), state).map((event) => event.type), ['MachineFailed', 'ClusterFailed']);
  });

  it('observations about unknown clusters or machines are refused', () => {
    assert.throws(() => decide(observe('c1-cp-0', joined, 1), undefined), (error: unknown) => error instanceof ProvisionerError && error.code === 'cluster-not-found');
    assert.throws(() => decide(observe('c1-cp-9', joined, 1), accepted()), (error: unknown) => error instanceof ProvisionerError && error.code === 'machine-not-found');
  });

  it('a hosted control plane: only workers are machines; the API server runs the requested version', () => {
    const hosted = run(undefined, request({ model: 'hosted-control-plane', hosted: { workerModel: 'platform-provisioned' }, kubernetesVersion: '1.34' })).state!;
    assert.deepEqual(hosted.machines.map((machine) => machine.name), ['c1-general-0', 'c1-general-1']);
    assert.equal(findCondition(hosted.conditions, 'ControlPlaneReady')?.reason, 'WaitingForHostedControlPlane', 'until its TenantControlPlane is Ready (hosted.spec.ts)');
    const { events } = run(hosted, observe('c1-general-0', up(1), 1), observe('c1-general-1', up(2), 1), observe('c1-general-0', joined, 2), observe('c1-general-1', joined, 2));
    const running = events.at(-1)!;
    assert.ok(running.type === 'ClusterRunning');
    assert.equal(running.kubernetesVersion, 'v1.34');
    assert.equal(running.nodes.length, 2);
  });

  it('the API endpoint: the provider\'s is recorded once and goes out with ClusterRunning; another one later is refused', () => {
    const fresh = accepted();
    assert.equal(fresh.apiServerEndpoint, null, 'a platform cluster has none before the provider gives one');
    const assigned = assignApiServerEndpoint(fresh, '198.18.0.1:6443', at(1));
    assert.deepEqual(assigned, [{ type: 'ApiServerEndpointAssigned', clusterId: 'c1', endpoint: '198.18.0.1:6443', at: at(1) }]);
    const withEndpoint = assigned.reduce<ClusterState>(evolve, fresh);
    assert.deepEqual(assignApiServerEndpoint(withEndpoint, '198.18.0.1:6443', at(2)), [], 'the same again changes nothing');
    assert.throws(() => assignApiServerEndpoint(withEndpoint, '198.18.0.2:6443', at(2)), (error: unknown) => error instanceof ProvisionerError && error.code === 'endpoint-changed');
    const { events } = run(withEndpoint, ...['c1-cp-0', 'c1-general-0', 'c1-general-1'].flatMap((name, index) => [observe(name, up(index + 1), 3), observe(name, joined, 4)]));
    const running = events.at(-1)!;
    assert.ok(running.type === 'ClusterRunning');
    assert.equal(running.apiServerEndpoint, '198.18.0.1:6443');
  });

  it('the API endpoint of users\' hosts is their virtual IP from the request; a hosted one is not known before its control plane is Ready', () => {
    const hosts = [
      { address: '192.168.1.10', port: 22, user: 'core', sshKeyRef: 'key-1', role: 'control-plane' as const },
      { address: '192.168.1.11', port: 22, user: 'core', sshKeyRef: 'key-1', role: 'worker' as const, pool: 'general' },
      { address: '192.168.1.12', port: 22, user: 'core', sshKeyRef: 'key-1', role: 'worker' as const, pool: 'general' },
    ];
    const onHosts = run(undefined, request({ model: 'user-provisioned', controlPlane: { count: 1, machineSize: 'cp', vip: '192.168.1.100' }, hosts })).state!;
    assert.equal(onHosts.apiServerEndpoint, '192.168.1.100:6443');
    const ipv6 = run(undefined, request({ model: 'user-provisioned', controlPlane: { count: 1, machineSize: 'cp', vip: 'fd00::100' }, hosts: hosts.map((host, index) => ({ ...host, address: `fd00::${index + 10}` })), network: { podCidr: 'fd00:10::/56', serviceCidr: 'fd00:20::/108' } })).state!;
    assert.equal(ipv6.apiServerEndpoint, '[fd00::100]:6443');
    const hostedRequest = decide(request({ model: 'hosted-control-plane', hosted: { workerModel: 'platform-provisioned' } }), undefined)[0]!;
    assert.ok(hostedRequest.type === 'ClusterAccepted');
    assert.equal(evolve(undefined, hostedRequest).apiServerEndpoint, null);
  });

  it('a condition keeps its transition time while its status holds', () => {
    const first = run(accepted(), observe('c1-cp-0', up(1), 10)).state!;
    const second = run(first, observe('c1-general-0', up(2), 20)).state!;
    const before = findCondition(first.conditions, 'InfrastructureReady')!;
    const after = findCondition(second.conditions, 'InfrastructureReady')!;
    assert.equal(after.message, '2 of 3 machine(s) provisioned');
    assert.equal(after.lastTransitionTime, before.lastTransitionTime);
  });
});
