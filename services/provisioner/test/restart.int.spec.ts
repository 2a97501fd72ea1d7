import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterReady } from '@flotilla/contracts';
import { startTestService } from '@flotilla/service-kit/testing';
import { provisionerService } from '../src/service.js';
import { eventually, Harness } from './support/harness.js';

interface CloudRow {
  name: string;
  provider_id: string;
  create_calls: number;
}

const cloudOf = (h: Harness, clusterId: string) => h.query<CloudRow>(`SELECT name, provider_id, create_calls FROM sim_machines WHERE cluster_id = $1 ORDER BY name`, [clusterId]);

/** Waits until every machine of the cluster is at the provider but still booting. */
async function waitUntilBooting(h: Harness, clusterId: string, machines: number): Promise<void> {
  await eventually(
    async () => {
      const rows = await h.query<{ n: number }>(`SELECT count(*)::int AS n FROM machines WHERE cluster_id = $1 AND phase = 'Provisioning'`, [clusterId]);
      return rows[0]?.n === machines ? true : undefined;
    },
    60_000,
    `${clusterId}: every machine Provisioning`,
  );
}

describe('a reconciler restarted mid-way', () => {
  it('stopped while machines boot: the next process picks them up, nothing is created twice', async () => {
    const h = await Harness.start({ SIM_BOOT_MS: '3000' });
    try {
      await h.request('restarted-1');
      await waitUntilBooting(h, 'restarted-1', 3);
      const before = await cloudOf(h, 'restarted-1');
      await h.service.dispose({ keepSchema: true });
      assert.deepEqual(await h.events(ClusterReady, 'restarted-1'), [], 'not ready before the restart');
      // A clean stop records the round in hand: no machine is left under a claim (30 s lease).
      const stranded = await h.query<{ n: number }>(`SELECT count(*)::int AS n FROM machines WHERE cluster_id = 'restarted-1' AND next_reconcile_at > now() + interval '10 seconds'`);
      assert.equal(stranded[0]?.n, 0);

      const again = await startTestService(provisionerService, { ...h.service.env, PORT: '0' });
      try {
        await h.waitFor(ClusterReady, 'restarted-1', 60_000);
        const after = await cloudOf(h, 'restarted-1');
        assert.deepEqual(after, before, 'the same machines, each created once');
        assert.equal((await h.getCluster('restarted-1', again.url)).body['phase'], 'Running');
      } finally {
        await again.dispose({ keepSchema: true });
      }
    } finally {
      await h.dispose();
    }
  });

  it('killed between creating machines and recording them: the next process adopts them by name', async () => {
    const h = await Harness.start({ SIM_BOOT_MS: '3000' });
    try {
      await h.request('adopted-1');
      await waitUntilBooting(h, 'adopted-1', 3);
      const created = await cloudOf(h, 'adopted-1');
      await h.service.dispose({ keepSchema: true });
      // What a kill -9 right after the provider calls leaves behind: the cloud has the machines,
      // the provisioner's records still say Pending, and the claims have run out.
      await h.query(`UPDATE machines SET phase = 'Pending', provider_id = NULL, addresses = '[]', deadline = NULL, next_reconcile_at = now() WHERE cluster_id = 'adopted-1'`);

      const again = await startTestService(provisionerService, { ...h.service.env, PORT: '0' });
      try {
        const ready = await h.waitFor(ClusterReady, 'adopted-1', 60_000);
        assert.equal(ready.data.nodeCount, 3);
        assert.deepEqual(await cloudOf(h, 'adopted-1'), created, 'adopted: no create call reached an existing machine, no machine was made twice');
        const recorded = await h.query<{ name: string; provider_id: string }>(`SELECT name, provider_id FROM machines WHERE cluster_id = 'adopted-1' ORDER BY name`);
        assert.deepEqual(recorded, created.map(({ name, provider_id }) => ({ name, provider_id })));
      } finally {
        await again.dispose({ keepSchema: true });
      }
    } finally {
      await h.dispose();
    }
  });
});
