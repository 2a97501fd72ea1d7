import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterDeleted, ClusterDeletionRequested, ClusterReady, MachineReplaced, NodePoolScaled, NodePoolScaleRequested } from '@flotilla/contracts';
import { SimulatedProvider, type EndpointRoute } from '../src/infrastructure/simulated/simulated.provider.js';
import { clusterSpec, eventually, Harness } from './support/harness.js';

const WAIT_MS = 60_000;
const pool = (count: number) => [{ name: 'workers', count, machineSize: 'm', labels: {}, taints: [] }];

/** Where the simulated cloud's load balancer of a cluster routes now. */
function route(h: Harness, clusterId: string): Promise<EndpointRoute | undefined> {
  return new SimulatedProvider(h.db, { bootMs: 0, failureRate: 0, apiErrorRate: 0, seed: 'test' }).endpointRoute(clusterId);
}

describe('provisioner: a cluster\'s API endpoint outlives its first control plane', () => {
  it('platform: the provider\'s load balancer is the endpoint; replacing the first control plane keeps it, and it still answers', async () => {
    const h = await Harness.start({ MHC_CHECK_INTERVAL_MS: '100', MHC_UNHEALTHY_TIMEOUT_MS: '300' });
    try {
      await h.request('vip-1', clusterSpec({ nodePools: pool(2) }));
      const ready = await h.waitFor(ClusterReady, 'vip-1', WAIT_MS);
      const before = await route(h, 'vip-1');
      assert.ok(before, 'the provider allocated an endpoint');
      assert.match(before.endpoint, /^198\.1[89]\.\d+\.\d+:6443$/, 'the load balancer\'s address, not a machine\'s (172.16.0.0/12)');
      assert.equal(ready.data.apiServerEndpoint, `https://${before.endpoint}`);
      assert.equal(before.routesTo, 'vip-1-cp-0');

      // The first control plane's node goes NotReady: a new control plane joins (through the
      // endpoint), then the first one is drained and released.
      await h.query(`UPDATE sim_machines SET healthy = false WHERE cluster_id = 'vip-1' AND name = 'vip-1-cp-0'`);
      const replaced = await h.waitFor(MachineReplaced, 'vip-1', WAIT_MS);
      assert.deepEqual([replaced.data.role, replaced.data.oldMachine.name, replaced.data.newMachine.name], ['control-plane', 'vip-1-cp-0', 'vip-1-cp-1']);
      await eventually(async () => ((await h.query(`SELECT 1 FROM sim_machines WHERE cluster_id = 'vip-1' AND name = 'vip-1-cp-0'`)).length === 0 ? true : undefined), WAIT_MS, 'vip-1-cp-0 released');
      assert.deepEqual(await route(h, 'vip-1'), { endpoint: before.endpoint, routesTo: 'vip-1-cp-1' }, 'same address, now in front of the new control plane');

      // Still answering: a worker added now joins through it.
      await h.publish(NodePoolScaleRequested, 'vip-1', { pool: 'workers', count: 3 });
      const scaled = await h.waitFor(NodePoolScaled, 'vip-1', WAIT_MS);
      assert.equal(scaled.data.to, 3);

      // Released with the cluster.
      await h.publish(ClusterDeletionRequested, 'vip-1', {});
      await h.waitFor(ClusterDeleted, 'vip-1', WAIT_MS);
      assert.equal(await route(h, 'vip-1'), undefined);
    } finally {
      await h.dispose();
    }
  });

  it('platform: a request that names its own load balancer keeps it, and the provider allocates none', async () => {
    const h = await Harness.start();
    try {
      await h.request('own-lb-1', clusterSpec({ nodePools: pool(1), infrastructure: { provider: 'simulated', parameters: { controlPlaneEndpoint: 'api.own-lb.example.com:6443' } } }));
      const ready = await h.waitFor(ClusterReady, 'own-lb-1', WAIT_MS);
      assert.equal(ready.data.apiServerEndpoint, 'https://api.own-lb.example.com:6443');
      assert.equal(await route(h, 'own-lb-1'), undefined);
    } finally {
      await h.dispose();
    }
  });
});
