import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterSpec } from '@flotilla/contracts';
import { decide, evolve, type ClusterEvent, type ClusterState } from './cluster/index.js';
import { progressOf, sameProgress } from './progress.js';

const spec: ClusterSpec = {
  name: 'prod',
  model: 'platform-provisioned',
  kubernetesVersion: '1.34',
  controlPlane: { count: 1, machineSize: 'small' },
  nodePools: [{ name: 'w', count: 2, machineSize: 'small', labels: {}, taints: [] }],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  infrastructure: { provider: 'simulated', parameters: {} },
};
const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second)).toISOString();

function apply(state: ClusterState | undefined, events: ClusterEvent[]): ClusterState {
  return events.reduce<ClusterState | undefined>(evolve, state)!;
}

describe('progress of a cluster (ClusterProgress)', () => {
  it('counts machines ready of total for the control plane and each pool, and follows them', () => {
    let state = apply(undefined, decide({ type: 'RequestCluster', clusterId: 'prod-1', spec, release: '4.3', providers: ['simulated'], at: at(0) }, undefined));
    const accepted = progressOf(state);
    assert.deepEqual(accepted, { model: 'platform-provisioned', phase: 'Pending', controlPlane: { ready: 0, total: 1 }, nodePools: [{ pool: 'w', ready: 0, total: 2 }], operation: null });

    const observe = (machine: string, observation: Parameters<typeof decide>[0] extends infer C ? (C extends { type: 'ObserveMachine'; observation: infer O } ? O : never) : never, second: number) => {
      state = apply(state, decide({ type: 'ObserveMachine', clusterId: 'prod-1', machine, observation, timeoutMs: 600_000, at: at(second) }, state));
    };
    for (const [index, machine] of state.machines.map((candidate) => candidate.name).entries()) {
      observe(machine, { kind: 'infrastructure-ready', providerId: `sim://${machine}`, addresses: [`10.0.0.${index + 1}`] }, 1);
    }
    const cp = state.machines.find((machine) => machine.role === 'control-plane')!.name;
    observe(cp, { kind: 'node-joined', kubeletVersion: 'v1.34.1' }, 2);
    const oneReady = progressOf(state);
    assert.deepEqual(oneReady.controlPlane, { ready: 1, total: 1 });
    assert.deepEqual(oneReady.nodePools, [{ pool: 'w', ready: 0, total: 2 }]);
    assert.ok(!sameProgress(accepted, oneReady), 'a machine ready is a change worth reporting');
    assert.ok(sameProgress(oneReady, progressOf(state)));
  });
});
