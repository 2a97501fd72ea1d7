import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterProgress,
  ClusterProvisioningFailed,
  ClusterReady,
  ClusterRequested,
  createEvent,
  eventsSubject,
  findDefinition,
  NodesProvisioned,
  type CloudEvent,
} from '@flotilla/contracts';
import { BusConnection, busOptions, ensureStreams, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, randomSuffix, testBusPrefix, TEST_NATS_URL, TEST_STREAM_MAX_BYTES } from '@flotilla/messaging/testing';
import { startTestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { FleetCounts } from '../src/repositories/fleet-counts.js';
import { inventoryService } from '../src/service.js';

const CLUSTERS = 40;
const PROVISIONER = '/flotilla/provisioner';
const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));

/** Cluster `index`'s life: requested, nodes, progress, then Running, Failed or deleted. */
function life(id: string, index: number): CloudEvent[] {
  const meta = (second: number, source = PROVISIONER) => ({ subject: id, source, time: at(second) });
  const requested = createEvent(ClusterRequested, meta(0, '/flotilla/inventory'), {
    name: id,
    model: 'platform-provisioned',
    kubernetesVersion: index % 2 === 0 ? '1.33' : '1.34',
    labels: { team: index % 3 === 0 ? 'a' : 'b' },
    controlPlane: { count: 1, machineSize: 'small' },
    nodePools: [{ name: 'w', count: 2, machineSize: 'small' }],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    infrastructure: { provider: index % 4 === 0 ? 'aws' : 'openstack', parameters: {} },
  } as never);
  const nodes = createEvent(NodesProvisioned, meta(1), {
    model: 'platform-provisioned',
    nodes: [`${id}-cp-0`, `${id}-w-0`, `${id}-w-1`].map((name, n) => ({ name, role: n === 0 ? ('control-plane' as const) : ('worker' as const), pool: n === 0 ? undefined : 'w', addresses: [] })),
  });
  const progress = createEvent(ClusterProgress, meta(2), { model: 'platform-provisioned', phase: 'Provisioning', controlPlane: { ready: 1, total: 1 }, nodePools: [{ pool: 'w', ready: 1, total: 2 }], operation: null });
  const end =
    index % 5 === 0
      ? createEvent(ClusterProvisioningFailed, meta(3), { model: 'platform-provisioned', reasons: [{ code: 'quota-exceeded', message: 'none left' }] })
      : index % 7 === 0
        ? createEvent(ClusterDeleted, meta(3), { model: 'platform-provisioned' })
        : createEvent(ClusterReady, meta(3), { model: 'platform-provisioned', kubernetesVersion: index % 2 === 0 ? '1.33.5' : '1.34.2', nodeCount: 3 });
  return [requested, nodes, progress, end];
}

/** The counts as maintained (folded and not yet), and as counted from the clusters themselves, by group. */
const GROUP = 'labels, model, status, provider, kubernetes_version, access, tunnel, attention';
const MAINTAINED = `
  SELECT labels, model, status, provider, kubernetes_version, access, tunnel, attention, sum(clusters)::int AS clusters, sum(nodes)::int AS nodes, sum(nodes_ready)::int AS ready
    FROM (SELECT ${GROUP}, clusters, nodes, nodes_ready FROM cluster_counts UNION ALL SELECT ${GROUP}, clusters, nodes, nodes_ready FROM cluster_count_changes) AS counted
   GROUP BY labels, model, status, provider, kubernetes_version, access, tunnel, attention
  HAVING sum(clusters) <> 0 OR sum(nodes) <> 0 OR sum(nodes_ready) <> 0
   ORDER BY 1, 2, 3, 4, 5, 6, 7, 8`;
const COUNTED = `
  SELECT labels, coalesce(model, '') AS model, status, coalesce(provider, '') AS provider, coalesce(kubernetes_version, '') AS kubernetes_version, coalesce(access, '') AS access,
         coalesce(tunnel, '') AS tunnel, attention, count(*)::int AS clusters, sum(node_count)::int AS nodes, sum(nodes_ready)::int AS ready
    FROM clusters GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8`;

/** The same without labels: the fleet's counts, as callers who filter on no label read them. */
const FLEET_GROUP = 'model, status, provider, kubernetes_version, access, tunnel, attention';
const MAINTAINED_FLEET = `
  SELECT ${FLEET_GROUP}, sum(clusters)::int AS clusters, sum(nodes)::int AS nodes, sum(nodes_ready)::int AS ready
    FROM (SELECT ${FLEET_GROUP}, clusters, nodes, nodes_ready FROM cluster_counts_fleet UNION ALL SELECT ${FLEET_GROUP}, clusters, nodes, nodes_ready FROM cluster_count_changes) AS counted
   GROUP BY ${FLEET_GROUP}
  HAVING sum(clusters) <> 0 OR sum(nodes) <> 0 OR sum(nodes_ready) <> 0
   ORDER BY 1, 2, 3, 4, 5, 6, 7`;
const COUNTED_FLEET = `
  SELECT coalesce(model, '') AS model, status, coalesce(provider, '') AS provider, coalesce(kubernetes_version, '') AS kubernetes_version, coalesce(access, '') AS access,
         coalesce(tunnel, '') AS tunnel, attention, count(*)::int AS clusters, sum(node_count)::int AS nodes, sum(nodes_ready)::int AS ready
    FROM clusters GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7`;

describe('the fleet counts, maintained by two replicas', () => {
  it('equal the clusters counted, whatever the replicas projected and folded at once', async () => {
    const prefix = testBusPrefix();
    const bus = await BusConnection.open(TEST_NATS_URL, 'inventory-counts-test');
    await ensureStreams(bus.jsm, busOptions({ service: 'test', prefix, natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES }));
    const env = { BUS_PREFIX: prefix, DATABASE_SCHEMA: `inventory_${randomSuffix()}`, BUS_BATCH_SIZE: '5' };
    const first = await startTestService(inventoryService, env);
    const second = await startTestService(inventoryService, env).catch(async (error: unknown) => {
      await first.dispose();
      throw error;
    });
    const db = await new DataSource({ type: 'postgres', url: first.env['DATABASE_URL']!, extra: { options: `-c search_path=${env.DATABASE_SCHEMA}`, max: 2 } }).initialize();
    let folding = true;
    try {
      // Both replicas fold changes as fast as they can while both project: the folds race each other and the writes.
      const folds = [first, second].map(async (replica) => {
        let folded = 0;
        while (folding) folded += await replica.app.get(FleetCounts).compact();
        return folded;
      });
      const lives = Array.from({ length: CLUSTERS }, (_, index) => life(`counted-${index}`, index));
      // Interleaved across clusters: every batch moves several clusters between groups.
      for (let step = 0; step < 4; step++) for (const events of lives) await publishEvent(bus.js, eventsSubject({ prefix }, findDefinition(events[step]!.type)!.channel), events[step]!);
      await eventually(
        async () => {
          const [row] = await db.query<{ history: number }[]>(`SELECT count(*)::int AS history FROM cluster_events`);
          return row?.history === CLUSTERS * 4 ? true : undefined;
        },
        30_000,
        'every event projected',
      );
      folding = false;
      const folded = await Promise.all(folds);
      assert.ok(folded.reduce((sum, count) => sum + count, 0) > 0, 'changes were folded while the replicas projected');

      const counted = await db.query<unknown[]>(COUNTED);
      const countedFleet = await db.query<unknown[]>(COUNTED_FLEET);
      assert.deepEqual(await db.query<unknown[]>(MAINTAINED), counted);
      assert.deepEqual(await db.query<unknown[]>(MAINTAINED_FLEET), countedFleet);
      await Promise.all([first.app.get(FleetCounts).compact(), second.app.get(FleetCounts).compact()]);
      const [left] = await db.query<{ changes: number }[]>(`SELECT count(*)::int AS changes FROM cluster_count_changes`);
      assert.equal(left?.changes, 0);
      assert.deepEqual(await db.query<unknown[]>(MAINTAINED), counted, 'the same once every change is folded in');
      assert.deepEqual(await db.query<unknown[]>(MAINTAINED_FLEET), countedFleet, 'the fleet counts too');
      const [deleted] = await db.query<{ clusters: number }[]>(`SELECT coalesce(sum(clusters), 0)::int AS clusters FROM cluster_counts WHERE status = 'Deleted'`);
      assert.equal(deleted?.clusters, lives.filter((_, index) => index % 5 !== 0 && index % 7 === 0).length);
    } finally {
      folding = false;
      await db.destroy();
      await second.dispose({ keepSchema: true });
      await first.dispose();
      await deleteTestStreams(bus.jsm, prefix);
      await bus.drain();
    }
  });
});
