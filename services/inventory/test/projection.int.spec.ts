import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterReady, ClusterRequested, createEvent, EventRejected, eventsSubject, NodesProvisioned, type CloudEvent, type ClusterSpec } from '@flotilla/contracts';
import { BusConnection, busOptions, ensureStreams, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, randomSuffix, testBusPrefix, TEST_NATS_URL, TEST_STREAM_MAX_BYTES } from '@flotilla/messaging/testing';
import { startTestService } from '@flotilla/service-kit/testing';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { inventoryService } from '../src/service.js';

const CLUSTERS = 40;
const BLOCK = 10;

function spec(name: string): ClusterSpec {
  return {
    name,
    model: 'platform-provisioned',
    kubernetesVersion: '1.34',
    controlPlane: { count: 1, machineSize: 'small' },
    nodePools: [],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  };
}

/**
 * Per block of clusters: their requests, then their ClusterReady, then (late) their nodes, so a
 * cluster's events land in different batches, often taken by different replicas at once.
 */
function fleetEvents(): { subject: string; event: CloudEvent }[] {
  const out: { subject: string; event: CloudEvent }[] = [];
  const source = '/tests/inventory';
  for (let block = 0; block < CLUSTERS; block += BLOCK) {
    const ids = Array.from({ length: BLOCK }, (_, index) => `fleet-${block + index}`);
    for (const id of ids) out.push({ subject: ClusterRequested.channel, event: createEvent(ClusterRequested, { subject: id, source }, spec(id)) });
    for (const id of ids) out.push({ subject: ClusterReady.channel, event: createEvent(ClusterReady, { subject: id, source }, { model: 'platform-provisioned', kubernetesVersion: 'v1.34.2', nodeCount: 1 }) });
    for (const id of ids) {
      out.push({ subject: NodesProvisioned.channel, event: createEvent(NodesProvisioned, { subject: id, source }, { model: 'platform-provisioned', nodes: [{ name: `${id}-cp-0`, role: 'control-plane', addresses: [] }] }) });
    }
  }
  const rejected = createEvent(EventRejected, { subject: 'nobody', source: '/flotilla/provisioner' }, {
    rejectedEventId: 'x',
    code: 'schema-invalid',
    reason: 'data.name: Required',
    consumer: 'provisioner__cluster_requested_v1',
    deadLetterSubject: 'flotilla.dlq.provisioner__cluster_requested_v1',
  });
  out.push({ subject: EventRejected.channel, event: rejected });
  return out;
}

describe('fleet projection in batches, by two replicas', () => {
  it('a backlog of interleaved, out-of-order events ends in the same read model as one event at a time', async () => {
    const prefix = testBusPrefix();
    const bus = await BusConnection.open(TEST_NATS_URL, 'inventory-projection-test');
    await ensureStreams(bus.jsm, busOptions({ service: 'test', prefix, natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES }));
    const events = fleetEvents();

    // Small batches, and the backlog arrives once both replicas run: they take turns on it and
    // meet on the same new clusters.
    const env = { BUS_PREFIX: prefix, DATABASE_SCHEMA: `inventory_${randomSuffix()}`, BUS_BATCH_SIZE: '10' };
    const first = await startTestService(inventoryService, env);
    const second = await startTestService(inventoryService, env).catch(async (error: unknown) => {
      await first.dispose();
      throw error;
    });
    await Promise.all(events.map(({ subject, event }) => publishEvent(bus.js, eventsSubject({ prefix }, subject), event)));
    const db = await new DataSource({ type: 'postgres', url: first.env['DATABASE_URL']!, extra: { options: `-c search_path=${env.DATABASE_SCHEMA}`, max: 2 } }).initialize();
    try {
      await eventually(
        async () => {
          const [row] = await db.query<{ running: number; history: number }[]>(
            `SELECT (SELECT count(*) FROM clusters WHERE status = 'Running')::int AS running, (SELECT count(*) FROM cluster_events)::int AS history`,
          );
          return row?.running === CLUSTERS && row.history === events.length ? true : undefined;
        },
        30_000,
        `${CLUSTERS} clusters Running with their history`,
      );

      const clusters = await db.query<{ id: string; name: string; status: string; kubernetes_version: string; nodes: { name: string }[]; node_count: number }[]>(
        `SELECT id, name, status, kubernetes_version, nodes, node_count FROM clusters ORDER BY id`,
      );
      assert.equal(clusters.length, CLUSTERS, 'no cluster for the rejection, none twice');
      for (const cluster of clusters) {
        assert.equal(cluster.name, cluster.id);
        assert.equal(cluster.status, 'Running', `${cluster.id}: a late NodesProvisioned does not take it back`);
        assert.equal(cluster.kubernetes_version, 'v1.34.2');
        assert.deepEqual(
          cluster.nodes.map((node) => node.name),
          [`${cluster.id}-cp-0`],
        );
        assert.equal(cluster.node_count, 1);
      }
      const history = await db.query<{ cluster_id: string; type: string; summary: string }[]>(`SELECT cluster_id, type, summary FROM cluster_events ORDER BY cluster_id`);
      assert.deepEqual(
        history
          .filter((entry) => entry.cluster_id === 'fleet-7')
          .map((entry) => entry.type)
          .sort(),
        [ClusterRequested.type, ClusterReady.type, NodesProvisioned.type].sort(),
      );
      assert.deepEqual(
        history.filter((entry) => entry.cluster_id === 'nobody').map((entry) => entry.summary),
        ['EventRejected: schema-invalid: data.name: Required'],
      );
    } finally {
      await db.destroy();
      await second.dispose({ keepSchema: true });
      await first.dispose();
      await deleteTestStreams(bus.jsm, prefix);
      await bus.drain();
    }
  });

  it('a cluster whose id another transaction holds: its events are handed back, not waited for, and projected once it is free', async () => {
    const prefix = testBusPrefix();
    const bus = await BusConnection.open(TEST_NATS_URL, 'inventory-held-test');
    await ensureStreams(bus.jsm, busOptions({ service: 'test', prefix, natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES }));
    const service = await startTestService(inventoryService, { BUS_PREFIX: prefix });
    const db = await new DataSource({ type: 'postgres', url: service.env['DATABASE_URL']!, extra: { options: `-c search_path=${service.env['DATABASE_SCHEMA']}`, max: 2 } }).initialize();
    // Another replica's transaction, holding one cluster's id.
    const holder = new pg.Client({ connectionString: service.env['DATABASE_URL'] });
    await holder.connect();
    const [heldId, freeId] = [`held-${randomSuffix()}`, `free-${randomSuffix()}`];
    const status = async (id: string) => (await db.query<{ status: string }[]>(`SELECT status FROM clusters WHERE id = $1`, [id]))[0]?.status;
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT pg_advisory_xact_lock(hashtext('inventory.cluster:' || $1::text))`, [heldId]);
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const source = '/tests/inventory';
      for (const id of [heldId, freeId]) {
        await publishEvent(bus.js, eventsSubject({ prefix }, ClusterRequested.channel), createEvent(ClusterRequested, { subject: id, source }, spec(id)));
        await publishEvent(bus.js, eventsSubject({ prefix }, ClusterReady.channel), createEvent(ClusterReady, { subject: id, source }, { model: 'platform-provisioned', kubernetesVersion: 'v1.34.2', nodeCount: 1 }));
      }
      await eventually(async () => ((await status(freeId)) === 'Running' ? true : undefined), 20_000, 'the free cluster projected');
      // Tens of retries of the held cluster's events later, nobody waits for the holder, and
      // nothing of that cluster is projected.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const [waiting] = await db.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [holderPid]);
      assert.equal(waiting!.n, 0, 'no transaction waits for the held id');
      assert.equal(await status(heldId), undefined);

      await holder.query('COMMIT');
      await eventually(async () => ((await status(heldId)) === 'Running' ? true : undefined), 20_000, 'the held cluster projected once free');
      const history = await db.query<{ cluster_id: string; type: string }[]>(`SELECT cluster_id, type FROM cluster_events WHERE cluster_id = ANY($1::text[]) ORDER BY cluster_id, type`, [[heldId, freeId]]);
      assert.deepEqual(
        history.map((entry) => `${entry.cluster_id} ${entry.type}`),
        [freeId, heldId].sort().flatMap((id) => [ClusterReady.type, ClusterRequested.type].sort().map((type) => `${id} ${type}`)),
        'each event projected once',
      );
    } finally {
      await holder.end();
      await db.destroy();
      await service.dispose();
      await deleteTestStreams(bus.jsm, prefix);
      await bus.drain();
    }
  });
});
