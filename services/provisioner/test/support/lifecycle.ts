import assert from 'node:assert/strict';
import type { ClusterSpec } from '@flotilla/contracts';
import { decide, evolve, ProvisionerError, type ClusterCommand, type ClusterEvent, type ClusterState, type HealthPolicy, type MachineObservation } from '../../src/domain/cluster/index.js';

/*
 * Given/when/then for the lifecycle after creation (`src/domain/cluster/*.spec.ts`: scale, delete,
 * health checks, upgrades, hosted placement). `running` builds a Running cluster; `when` runs
 * commands as the handlers and the reconciler do; the specs look at the events and the state.
 */

export const spec: ClusterSpec = {
  name: 'edge',
  model: 'platform-provisioned',
  kubernetesVersion: '1.30',
  controlPlane: { count: 1, machineSize: 'cp' },
  nodePools: [{ name: 'general', count: 2, machineSize: 'm', labels: {}, taints: [] }],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
};
export const host = (address: string, role: 'control-plane' | 'worker', pool?: string) => ({ address, port: 22, user: 'core', sshKeyRef: 'key-1', role, ...(pool ? { pool } : {}) });
export const hostsSpec: ClusterSpec = {
  ...spec,
  model: 'user-provisioned',
  controlPlane: { count: 1, machineSize: 'cp', vip: '192.168.1.100' },
  nodePools: [{ name: 'general', count: 1, machineSize: 'm', labels: {}, taints: [] }],
  hosts: [host('192.168.1.10', 'control-plane'), host('192.168.1.11', 'worker', 'general')],
};

export const RELEASE = '4.0'; // creates 1.28-1.31: room for a minor upgrade
export const at = (second: number) => new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + second * 1000).toISOString();
export const health: HealthPolicy = { unhealthyTimeoutMs: 60_000, maxUnhealthy: { kind: 'percent', value: 40 } };

let providerIds = 0;
export const observe = (machine: string, observation: MachineObservation, second: number): ClusterCommand => ({ type: 'ObserveMachine', clusterId: 'c1', machine, observation, timeoutMs: 600_000, health, at: at(second) });
export const up = (): MachineObservation => ({ kind: 'infrastructure-ready', providerId: `sim://m-${++providerIds}`, addresses: [`172.16.0.${providerIds}`] });
export const joined = (version = 'v1.30.0'): MachineObservation => ({ kind: 'node-joined', kubeletVersion: version });
export const notReady: MachineObservation = { kind: 'node-not-ready', message: 'node is not Ready' };
export const gone: MachineObservation = { kind: 'machine-deleted' };

export function when(state: ClusterState | undefined, ...commands: ClusterCommand[]): { state: ClusterState; events: ClusterEvent[] } {
  const events: ClusterEvent[] = [];
  for (const command of commands) {
    const produced = decide(command, state);
    state = produced.reduce<ClusterState | undefined>((current, event) => evolve(current, event), state);
    events.push(...produced);
  }
  return { state: state!, events };
}

export const types = (events: ClusterEvent[]) => events.map((event) => event.type);
export const byType = <T extends ClusterEvent['type']>(events: ClusterEvent[], type: T) => events.filter((event): event is Extract<ClusterEvent, { type: T }> => event.type === type);

/** Brings every machine of the state that is coming up to Running. */
export function bringUp(state: ClusterState, second: number, version = 'v1.30.0'): { state: ClusterState; events: ClusterEvent[] } {
  const pending = state.machines.filter((machine) => machine.phase === 'Pending');
  return when(state, ...pending.flatMap((machine) => [observe(machine.name, up(), second), observe(machine.name, joined(version), second)]));
}

/** given: a Running cluster. */
export function running(clusterSpec: ClusterSpec = spec): ClusterState {
  const accepted = when(undefined, { type: 'RequestCluster', clusterId: 'c1', spec: clusterSpec, release: RELEASE, providers: ['simulated'], at: at(0) }).state;
  const { state } = bringUp(accepted, 1);
  assert.equal(state.phase, 'Running');
  return state;
}

export const scale = (pool: string, count: number, second: number, hosts?: ReturnType<typeof host>[]): ClusterCommand => ({ type: 'ScaleNodePool', clusterId: 'c1', pool, count, ...(hosts ? { hosts } : {}), at: at(second) });
export const remove = (second: number): ClusterCommand => ({ type: 'RequestDeletion', clusterId: 'c1', reason: 'done', at: at(second) });
export const approve = (toVersion: string, second: number, planId = 'plan-1'): ClusterCommand => ({ type: 'ApproveUpgradeStep', clusterId: 'c1', planId, toVersion, release: RELEASE, at: at(second) });
export const refusedWith = (code: string, field?: string) => (error: unknown) => error instanceof ProvisionerError && error.code === code && (field === undefined || error.field === field);
