import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLUSTER_LIMITS, ClusterReady, ClusterRequested, createEvent, EventRejected, eventsSubject, NodePoolScaleRequested, type CloudEvent, type EventData, type EventDefinition } from '@flotilla/contracts';
import { publishEvent } from '@flotilla/messaging';
import { clusterSpec, Harness } from './support/harness.js';

const WAIT_MS = 30_000;
const pool = (index: number, count = 1) => ({ name: `pool-${index}`, count, machineSize: 'm', labels: {}, taints: [] });

/** Publishes `data` the contract refuses, as a publisher that does not check it would: the envelope is a valid event's. */
async function publishOverBound<D extends EventDefinition>(h: Harness, definition: D, clusterId: string, valid: EventData<D>, data: unknown): Promise<void> {
  const event = { ...createEvent(definition, { subject: clusterId, source: '/tests/provisioner' }, valid), data } as CloudEvent;
  await publishEvent(h.bus.js, eventsSubject({ prefix: h.prefix }, definition.channel), event);
}

describe('requests over the contract\'s bounds', () => {
  it('a cluster request with too many node pools, or a pool of too many machines, is dead-lettered with the field and nothing is recorded', async () => {
    const h = await Harness.start();
    try {
      const tooMany = Array.from({ length: CLUSTER_LIMITS.nodePools + 1 }, (_, index) => pool(index));
      await publishOverBound(h, ClusterRequested, 'bounds-pools', clusterSpec(), clusterSpec({ nodePools: tooMany }));
      await publishOverBound(h, ClusterRequested, 'bounds-count', clusterSpec(), clusterSpec({ nodePools: [pool(0), pool(1), pool(2), pool(3, CLUSTER_LIMITS.machinesPerPool + 1)] }));

      const pools = await h.waitFor(EventRejected, 'bounds-pools', WAIT_MS);
      assert.match(pools.data.reason, new RegExp(`data\\.nodePools: must have at most ${CLUSTER_LIMITS.nodePools} node pools, has ${CLUSTER_LIMITS.nodePools + 1}`));
      const count = await h.waitFor(EventRejected, 'bounds-count', WAIT_MS);
      assert.match(count.data.reason, new RegExp(`data\\.nodePools\\.3\\.count: must be at most ${CLUSTER_LIMITS.machinesPerPool}`));
      for (const id of ['bounds-pools', 'bounds-count']) assert.equal((await h.getCluster(id)).status, 404, `${id} is not recorded`);
      assert.deepEqual(await h.query(`SELECT name FROM sim_machines WHERE cluster_id LIKE 'bounds-%'`), []);
    } finally {
      await h.dispose();
    }
  });

  it('a scale request over the bound is dead-lettered naming count, and the pool is left alone', async () => {
    const h = await Harness.start();
    try {
      await h.request('bounds-scale', clusterSpec());
      await h.waitFor(ClusterReady, 'bounds-scale', WAIT_MS);
      await publishOverBound(h, NodePoolScaleRequested, 'bounds-scale', { pool: 'workers', count: 3 }, { pool: 'workers', count: CLUSTER_LIMITS.machinesPerPool + 1 });
      const rejected = await h.waitFor(EventRejected, 'bounds-scale', WAIT_MS);
      assert.match(rejected.data.reason, new RegExp(`data\\.count: must be at most ${CLUSTER_LIMITS.machinesPerPool}`));
      const { body } = await h.getCluster('bounds-scale');
      assert.equal((body['machines'] as unknown[]).length, 3);
      assert.equal(body['operation'], null);
    } finally {
      await h.dispose();
    }
  });
});
