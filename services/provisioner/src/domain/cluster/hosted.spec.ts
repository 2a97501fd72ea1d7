import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCondition } from '../conditions.js';
import { decide, evolve, machineWork, type ClusterCommand, type ClusterEvent, type ClusterState } from './index.js';
import { approve, bringUp, byType, spec, types, when, RELEASE, at, refusedWith } from '../../../test/support/lifecycle.js';
import { controlPlaneReady, decideControlPlane, type ObserveControlPlane } from './hosted.js';

const hostedSpec = { ...spec, model: 'hosted-control-plane' as const, hosted: { workerModel: 'platform-provisioned' as const } };
const request: ClusterCommand = { type: 'RequestCluster', clusterId: 'c1', spec: hostedSpec, release: RELEASE, providers: ['simulated'], at: at(0) };
const ready = (second: number, endpoint = '203.0.113.7:6443'): ObserveControlPlane => ({ type: 'ObserveControlPlane', clusterId: 'c1', observation: { kind: 'ready', endpoint }, at: at(second) });
const failed = (code: 'control-plane-refused' | 'control-plane-timeout', second: number): ObserveControlPlane => ({ type: 'ObserveControlPlane', clusterId: 'c1', observation: { kind: 'failed', code, message: `${code}!` }, at: at(second) });

describe('hosted control plane in its management cluster', () => {
  it('a hosted cluster has no endpoint and a ControlPlaneReady False until its TenantControlPlane is Ready', () => {
    const { state } = when(undefined, request);
    assert.equal(state.apiServerEndpoint, null);
    assert.equal(controlPlaneReady(state), false);
    assert.equal(findCondition(state.conditions, 'ControlPlaneReady')?.reason, 'WaitingForHostedControlPlane');
    const events = decideControlPlane(ready(5), state);
    assert.deepEqual(types(events), ['ApiServerEndpointAssigned']);
    const placed = evolveAll(state, events);
    assert.equal(placed.apiServerEndpoint, '203.0.113.7:6443');
    assert.equal(controlPlaneReady(placed), true);
    assert.deepEqual([findCondition(placed.conditions, 'ControlPlaneReady')?.status, findCondition(placed.conditions, 'ControlPlaneReady')?.reason], ['True', 'Hosted']);
    assert.deepEqual(decideControlPlane(ready(6), placed), [], 'Ready again changes nothing');
    assert.throws(() => decideControlPlane(ready(7, '203.0.113.8:6443'), placed), refusedWith('endpoint-changed'));
  });

  it('an upgrade step is refused: the control plane goes first, and it is not upgraded in place', () => {
    const accepted = when(undefined, request).state;
    const placed = evolveAll(accepted, decideControlPlane(ready(5), accepted));
    const { state } = bringUp(placed, 6);
    assert.equal(state.phase, 'Running');
    const refused = decide(approve('1.31', 7), state);
    assert.deepEqual(types(refused), ['UpgradeStepRejected']);
    assert.deepEqual(byType(refused, 'UpgradeStepRejected')[0]!.reasons.map((item) => [item.code, item.field]), [['upgrade-unsupported', 'toVersion']]);
    assert.deepEqual(evolveAll(state, refused).machines.map((machine) => machine.kubernetesVersion), state.machines.map((machine) => machine.kubernetesVersion), 'no worker moves');
  });

  it('the cluster runs at the TenantControlPlane\'s endpoint once its workers joined', () => {
    const accepted = when(undefined, request).state;
    const placed = evolveAll(accepted, decideControlPlane(ready(5), accepted));
    const { events } = bringUp(placed, 6);
    const [running] = byType(events, 'ClusterRunning');
    assert.equal(running?.apiServerEndpoint, '203.0.113.7:6443');
  });

  it('a refusal or a deadline fails a cluster that is coming up, naming the code on the hosted field', () => {
    for (const code of ['control-plane-refused', 'control-plane-timeout'] as const) {
      const accepted: ClusterState = when(undefined, request).state;
      const events: ClusterEvent[] = decideControlPlane(failed(code, 9), accepted);
      assert.deepEqual(types(events), ['ClusterFailed']);
      const after = evolveAll(accepted, events);
      assert.equal(after.phase, 'Failed');
      assert.deepEqual(after.failureReasons, [{ code, message: `${code}!`, field: 'hosted' }]);
      assert.equal(machineWork(after, after.machines[0]!), 'none', 'the workers of a failed cluster are left alone');
    }
  });

  it('a Running cluster is not failed by what its control plane does later, nor is a cluster that is not hosted observed', () => {
    const accepted = when(undefined, request).state;
    const running = bringUp(evolveAll(accepted, decideControlPlane(ready(5), accepted)), 6).state;
    assert.equal(running.phase, 'Running');
    assert.deepEqual(decideControlPlane(failed('control-plane-timeout', 20), running), []);
    const platform = when(undefined, { ...request, spec }).state;
    assert.throws(() => decideControlPlane(ready(5), platform), refusedWith('cluster-not-hosted'));
  });
});

function evolveAll(state: ClusterState, events: ClusterEvent[]): ClusterState {
  return events.reduce<ClusterState>(evolve, state);
}
