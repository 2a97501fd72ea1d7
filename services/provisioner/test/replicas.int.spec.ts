import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterReady, NodesProvisioned } from '@flotilla/contracts';
import { clusterSpec, eventually, Harness } from './support/harness.js';

const CLUSTERS = 12;
const MACHINES_EACH = 4;

describe('two replicas', () => {
  it('share the machines of many clusters: each machine is created once, each cluster is announced once', async () => {
    // Small claims and a short boot, so both replicas have turns while machines come up.
    const settings = { RECONCILE_BATCH_SIZE: '3', PROVIDER_CONCURRENCY: '2', SIM_BOOT_MS: '150' };
    const h = await Harness.start(settings);
    const second = await h.replica(settings);
    try {
      const ids = Array.from({ length: CLUSTERS }, (_, index) => `shared-${index}`);
      for (const id of ids) await h.request(id, clusterSpec({ nodePools: [{ name: 'workers', count: MACHINES_EACH - 1, machineSize: 'm', labels: {}, taints: [] }] }));
      await eventually(async () => ((await h.events(ClusterReady)).length >= CLUSTERS ? true : undefined), 90_000, `${CLUSTERS} clusters ready`);

      const cloud = await h.query<{ n: number; names: number; calls: number }>(`SELECT count(*)::int AS n, count(DISTINCT (cluster_id, name))::int AS names, sum(create_calls)::int AS calls FROM sim_machines`);
      assert.deepEqual(cloud[0], { n: CLUSTERS * MACHINES_EACH, names: CLUSTERS * MACHINES_EACH, calls: CLUSTERS * MACHINES_EACH }, 'every machine created once');
      const owners = await h.query<{ owner: string; n: number }>(`SELECT split_part(claimed_by, '/', 3) AS owner, count(*)::int AS n FROM machines GROUP BY 1`);
      assert.equal(owners.length, 2, `both replicas reconciled machines: ${JSON.stringify(owners)}`);

      // Let any late duplicate surface before counting announcements.
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const id of ids) {
        assert.equal((await h.events(ClusterReady, id)).length, 1, `${id}: ClusterReady once`);
        const nodes = await h.events(NodesProvisioned, id);
        assert.equal(nodes.length, 1, `${id}: NodesProvisioned once`);
        assert.equal(nodes[0]!.data.nodes.length, MACHINES_EACH);
      }
      const phases = await h.query<{ phase: string; n: number }>(`SELECT phase, count(*)::int AS n FROM clusters GROUP BY phase`);
      assert.deepEqual(phases, [{ phase: 'Running', n: CLUSTERS }]);
    } finally {
      await second.dispose({ keepSchema: true });
      await h.dispose();
    }
  });
});
