import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManagementClusterLoad } from './placement.js';
import { savingsReport } from './savings.js';

const Mi = 1024 ** 2;
const Gi = 1024 ** 3;

const load = (name: string, cpu: number, memory: number, controlPlanes: number): ManagementClusterLoad => ({
  name,
  state: 'active',
  capacity: { cpuMillicores: 10_000, memoryBytes: 40 * Gi, maxControlPlanes: 20 },
  used: { cpuMillicores: cpu, memoryBytes: memory, controlPlanes },
});

describe('savings report', () => {
  it('per control plane: replicas x a dedicated 2 vCPU / 4 GiB machine, minus what the hosted one reserves; summed per management cluster and in total', () => {
    const report = savingsReport(
      [load('a', 1350 + 450, 2880 * Mi + 960 * Mi, 2), load('b', 0, 0, 0)],
      [
        { clusterId: 'one', managementCluster: 'a', replicas: 3, reserved: { cpuMillicores: 1350, memoryBytes: 2880 * Mi } },
        { clusterId: 'two', managementCluster: 'a', replicas: 1, reserved: { cpuMillicores: 450, memoryBytes: 960 * Mi } },
      ],
    );
    assert.deepEqual(report.dedicatedMachine, { cpuMillicores: 2000, memoryBytes: 4 * Gi });
    assert.deepEqual(report.controlPlanes[0], {
      clusterId: 'one',
      managementCluster: 'a',
      controlPlanes: 1,
      replicas: 3,
      dedicated: { cpuMillicores: 6000, memoryBytes: 12 * Gi },
      hosted: { cpuMillicores: 1350, memoryBytes: 2880 * Mi },
      saved: { cpuMillicores: 4650, memoryBytes: 12 * Gi - 2880 * Mi },
    });
    const expectedTotals = {
      controlPlanes: 2,
      replicas: 4,
      dedicated: { cpuMillicores: 8000, memoryBytes: 16 * Gi },
      hosted: { cpuMillicores: 1800, memoryBytes: 3840 * Mi },
      saved: { cpuMillicores: 6200, memoryBytes: 16 * Gi - 3840 * Mi },
    };
    assert.deepEqual(report.totals, expectedTotals);
    const [a, b] = report.managementClusters;
    assert.deepEqual({ ...a, capacity: undefined, used: undefined }, { name: 'a', state: 'active', capacity: undefined, used: undefined, utilisation: { cpu: 0.18, memory: 3840 / 40960, controlPlanes: 0.1 }, ...expectedTotals });
    assert.deepEqual(b, {
      name: 'b',
      state: 'active',
      capacity: { cpuMillicores: 10_000, memoryBytes: 40 * Gi, maxControlPlanes: 20 },
      used: { cpuMillicores: 0, memoryBytes: 0, controlPlanes: 0 },
      utilisation: { cpu: 0, memory: 0, controlPlanes: 0 },
      controlPlanes: 0,
      replicas: 0,
      dedicated: { cpuMillicores: 0, memoryBytes: 0 },
      hosted: { cpuMillicores: 0, memoryBytes: 0 },
      saved: { cpuMillicores: 0, memoryBytes: 0 },
    });
  });

  it('nothing hosted: zero totals', () => {
    const report = savingsReport([], []);
    assert.deepEqual(report.totals, { controlPlanes: 0, replicas: 0, dedicated: { cpuMillicores: 0, memoryBytes: 0 }, hosted: { cpuMillicores: 0, memoryBytes: 0 }, saved: { cpuMillicores: 0, memoryBytes: 0 } });
    assert.deepEqual(report.managementClusters, []);
  });
});
