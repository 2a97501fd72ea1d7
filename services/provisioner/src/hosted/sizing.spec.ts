import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterSpec } from '@flotilla/contracts';
import { CONTROL_PLANE_SIZES, DEDICATED_CONTROL_PLANE_MACHINE, SIZE_PROFILES, sizeControlPlane, sizeFor, sumRequests, workerCount } from './sizing.js';

const Mi = 1024 ** 2;

function hosted(workers: number, count: 1 | 3 | 5 = 1): ClusterSpec {
  return {
    name: 'tenant',
    model: 'hosted-control-plane',
    kubernetesVersion: '1.34',
    controlPlane: { count, machineSize: 'hosted' },
    nodePools: [
      { name: 'a', count: Math.ceil(workers / 2), machineSize: 'm', labels: {}, taints: [] },
      { name: 'b', count: Math.floor(workers / 2), machineSize: 'm', labels: {}, taints: [] },
    ],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    hosted: { workerModel: 'platform-provisioned' },
  };
}

const host = (address: string, role: 'control-plane' | 'worker') => ({ address, port: 22, user: 'core', sshKeyRef: 'key-1', role });

describe('control-plane sizing', () => {
  // workers -> size: the edges of each band.
  const table: [number, 'small' | 'medium' | 'large'][] = [
    [0, 'small'],
    [1, 'small'],
    [10, 'small'],
    [11, 'medium'],
    [50, 'medium'],
    [51, 'large'],
    [1000, 'large'],
  ];
  for (const [workers, size] of table) {
    it(`${workers} workers: ${size}`, () => {
      assert.equal(sizeFor(workers), size);
      assert.equal(sizeControlPlane(hosted(workers)).size, size);
    });
  }

  it('workers are the node pools summed, or the worker hosts users bring', () => {
    assert.equal(workerCount(hosted(7)), 7);
    const onHosts: ClusterSpec = { ...hosted(0), nodePools: [], hosted: { workerModel: 'user-provisioned' }, hosts: [host('10.0.0.1', 'worker'), host('10.0.0.2', 'worker'), host('10.0.0.3', 'control-plane')] };
    assert.equal(workerCount(onHosts), 2);
    assert.equal(workerCount({ ...onHosts, hosts: undefined }), 0);
  });

  it('controlPlane.count gives the replicas and multiplies the requests', () => {
    const one = sizeControlPlane(hosted(4, 1));
    assert.deepEqual([one.replicas, one.total], [1, { cpuMillicores: 450, memoryBytes: 960 * Mi }]);
    for (const count of [3, 5] as const) {
      const many = sizeControlPlane(hosted(4, count));
      assert.equal(many.replicas, count);
      assert.deepEqual(many.perReplica, one.perReplica);
      assert.deepEqual(many.total, { cpuMillicores: 450 * count, memoryBytes: 960 * Mi * count });
    }
    assert.deepEqual(sizeControlPlane(hosted(20, 3)).total, { cpuMillicores: 900 * 3, memoryBytes: 1920 * Mi * 3 });
    assert.deepEqual(sizeControlPlane(hosted(80, 5)).total, { cpuMillicores: 1600 * 5, memoryBytes: 3328 * Mi * 5 });
  });

  it('sizes grow with the band and each stays below a dedicated control-plane machine', () => {
    const totals = CONTROL_PLANE_SIZES.map((size) => sumRequests(SIZE_PROFILES[size].perReplica));
    for (let index = 1; index < totals.length; index++) {
      assert.ok(totals[index]!.cpuMillicores > totals[index - 1]!.cpuMillicores);
      assert.ok(totals[index]!.memoryBytes > totals[index - 1]!.memoryBytes);
    }
    for (const total of totals) {
      assert.ok(total.cpuMillicores < DEDICATED_CONTROL_PLANE_MACHINE.cpuMillicores);
      assert.ok(total.memoryBytes < DEDICATED_CONTROL_PLANE_MACHINE.memoryBytes);
    }
  });
});
