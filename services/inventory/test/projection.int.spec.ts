import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterReady, ClusterRequested, createEvent, EventRejected, eventsSubject, NodesProvisioned, type CloudEvent, type ClusterSpec } from '@flotilla/contracts';
import { BusConnection, busOptions, ensureStreams, publishEvent, UnitOfWork } from '@flotilla/messaging';
import { deleteTestStreams, eventually, randomSuffix, testBusPrefix, TEST_NATS_URL, TEST_STREAM_MAX_BYTES } from '@flotilla/messaging/testing';
import { startTestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { FleetProjectionHandler } from '../src/handlers/fleet-projection.handler.js';
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

  it('a cluster another replica created meanwhile: the batch is projected again onto what that replica committed', async () => {
    const service = await startTestService(inventoryService);
    const handler = service.app.get(FleetProjectionHandler);
    const unitOfWork = service.app.get(UnitOfWork);
    const db = await new DataSource({ type: 'postgres', url: service.env['DATABASE_URL']!, extra: { options: `-c search_path=${service.env['DATABASE_SCHEMA']}`, max: 2 } }).initialize();
    try {
      const source = '/tests/inventory';
      const requested = createEvent(ClusterRequested, { subject: 'raced', source }, spec('raced'));
      const ready = createEvent(ClusterReady, { subject: 'raced', source }, { model: 'platform-provisioned', kubernetesVersion: 'v1.34.2', nodeCount: 1 });

      // Replica A projects the request and holds its transaction open...
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let backendOfA!: (pid: number) => void;
      const pidOfA = new Promise<number>((resolve) => (backendOfA = resolve));
      const a = unitOfWork.run(async () => {
        await handler.project([requested]);
        const [row] = await unitOfWork.manager.query<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
        backendOfA(row!.pid);
        await held;
      });
      // ...while replica B, which cannot see that row yet, projects ClusterReady as a new cluster
      // (started once A's insert is in, so it is B that waits for A, never the other way round).
      const pid = await pidOfA;
      const b = unitOfWork.run(() => handler.project([ready]));
      await eventually(async () => {
        const [row] = await db.query<{ waiting: number }[]>(`SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, [pid]);
        return row!.waiting > 0 ? true : undefined;
      }, 10_000, "B's insert to wait for A's");
      release();
      await Promise.all([a, b]);

      const [cluster] = await db.query<{ name: string; status: string; kubernetes_version: string }[]>(`SELECT name, status, kubernetes_version FROM clusters WHERE id = 'raced'`);
      assert.deepEqual(cluster, { name: 'raced', status: 'Running', kubernetes_version: 'v1.34.2' });
      const history = await db.query<{ type: string }[]>(`SELECT type FROM cluster_events WHERE cluster_id = 'raced' ORDER BY type`);
      assert.deepEqual(
        history.map((entry) => entry.type),
        [ClusterReady.type, ClusterRequested.type].sort(),
      );
    } finally {
      await db.destroy();
      await service.dispose();
    }
  });
});
