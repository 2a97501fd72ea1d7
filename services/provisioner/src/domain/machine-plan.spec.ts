import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterSpec } from '@flotilla/contracts';
import { planMachines } from './machine-plan.js';

const base: ClusterSpec = {
  name: 'edge',
  model: 'platform-provisioned',
  kubernetesVersion: '1.34',
  controlPlane: { count: 3, machineSize: 'cp' },
  nodePools: [
    { name: 'general', count: 2, machineSize: 'm', labels: {}, taints: [] },
    { name: 'gpu', count: 1, machineSize: 'g', labels: {}, taints: [] },
  ],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
};

const host = (address: string, role: 'control-plane' | 'worker', pool?: string) => ({ address, port: 22, user: 'core', sshKeyRef: 'key-1', role, ...(pool ? { pool } : {}) });

describe('machine plan', () => {
  it('platform-provisioned: the control plane, then every pool, with stable names', () => {
    const plan = planMachines('c1', base);
    assert.deepEqual(
      plan.map((machine) => [machine.name, machine.role, machine.pool, machine.machineSize]),
      [
        ['c1-cp-0', 'control-plane', null, 'cp'],
        ['c1-cp-1', 'control-plane', null, 'cp'],
        ['c1-cp-2', 'control-plane', null, 'cp'],
        ['c1-general-0', 'worker', 'general', 'm'],
        ['c1-general-1', 'worker', 'general', 'm'],
        ['c1-gpu-0', 'worker', 'gpu', 'g'],
      ],
    );
  });

  it('user-provisioned: one machine per host, numbered per role and pool, with where to reach it', () => {
    const plan = planMachines('c1', {
      ...base,
      model: 'user-provisioned',
      controlPlane: { count: 1, machineSize: 'cp' },
      nodePools: [{ name: 'general', count: 1, machineSize: 'm', labels: {}, taints: [] }],
      hosts: [host('192.168.1.10', 'control-plane'), host('192.168.1.11', 'worker', 'general'), host('192.168.1.12', 'worker'), host('192.168.1.13', 'worker')],
    });
    assert.deepEqual(
      plan.map((machine) => [machine.name, machine.role, machine.pool, machine.host?.address]),
      [
        ['c1-cp-0', 'control-plane', null, '192.168.1.10'],
        ['c1-general-0', 'worker', 'general', '192.168.1.11'],
        ['c1-worker-0', 'worker', null, '192.168.1.12'],
        ['c1-worker-1', 'worker', null, '192.168.1.13'],
      ],
    );
  });

  it('a host\'s expected host key travels with its machine', () => {
    const fingerprint = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
    const spec: ClusterSpec = { ...base, model: 'user-provisioned', nodePools: [], hosts: [{ ...host('10.0.0.1', 'control-plane'), hostKeyFingerprint: fingerprint }] };
    assert.deepEqual(planMachines('c', spec).map((machine) => machine.host?.hostKeyFingerprint), [fingerprint]);
  });

  it('hosted control plane: workers only, from pools or from hosts', () => {
    const fromPools = planMachines('c1', { ...base, model: 'hosted-control-plane', hosted: { workerModel: 'platform-provisioned' } });
    assert.deepEqual(fromPools.map((machine) => machine.name), ['c1-general-0', 'c1-general-1', 'c1-gpu-0']);
    const fromHosts = planMachines('c1', { ...base, model: 'hosted-control-plane', nodePools: [], hosted: { workerModel: 'user-provisioned' }, hosts: [host('192.168.1.12', 'worker')] });
    assert.deepEqual(fromHosts.map((machine) => [machine.name, machine.role]), [['c1-worker-0', 'worker']]);
  });
});
