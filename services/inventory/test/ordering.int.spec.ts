import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterProgress,
  ClusterReady,
  ClusterRequested,
  ClusterUpgraded,
  createEvent,
  EventRejected,
  eventsSubject,
  findDefinition,
  NodePoolScaled,
  NodePoolScaleRequested,
  NodesProvisioned,
  UpgradeStepApproved,
  type CloudEvent,
  type ClusterSpec,
} from '@flotilla/contracts';
import { BusConnection, busOptions, ensureStreams, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, randomSuffix, testBusPrefix, TEST_NATS_URL, TEST_STREAM_MAX_BYTES } from '@flotilla/messaging/testing';
import { startTestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { evolve, type ClusterView } from '../src/domain/cluster-view.js';
import { inventoryService } from '../src/service.js';

const CLUSTERS = 12;
const PROVISIONER = '/flotilla/provisioner';

function spec(name: string, labels: Record<string, string>): ClusterSpec {
  return {
    name,
    labels,
    model: 'platform-provisioned',
    kubernetesVersion: '1.33',
    controlPlane: { count: 1, machineSize: 'small' },
    nodePools: [{ name: 'w', count: 2, machineSize: 'small', labels: {}, taints: [] }],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  };
}

/**
 * One cluster's life, in the order it happened (a second apart): requested, taken up, nodes,
 * ready, a pool scaled (one worker replaced by another), two upgrade steps, and a second,
 * different request for the same id that the provisioner refuses.
 */
function life(id: string, start: number): CloudEvent[] {
  let second = start;
  const meta = (source = PROVISIONER) => ({ subject: id, source, time: new Date(Date.UTC(2026, 10, 23, 12, 0, 0) + 1000 * second++) });
  const node = (name: string, pool?: string) => ({ name: `${id}-${name}`, role: pool ? ('worker' as const) : ('control-plane' as const), ...(pool ? { pool } : {}), addresses: [] });
  const counts = (ready: number, total: number) => ({ ready, total });
  const requested = createEvent(ClusterRequested, meta('/flotilla/inventory'), spec(id, { team: 'b' }));
  const scale = createEvent(NodePoolScaleRequested, meta('/flotilla/inventory'), { pool: 'w', count: 2 });
  const events: CloudEvent[] = [requested];
  events.push(createEvent(ClusterProgress, meta(), { model: 'platform-provisioned', phase: 'Provisioning', controlPlane: counts(0, 1), nodePools: [{ pool: 'w', ...counts(0, 2) }], operation: null, requestEventId: requested.id }));
  events.push(createEvent(NodesProvisioned, meta(), { model: 'platform-provisioned', nodes: [node('cp-0'), node('w-0', 'w'), node('w-1', 'w')] }));
  events.push(createEvent(ClusterReady, meta(), { model: 'platform-provisioned', kubernetesVersion: 'v1.33.4', nodeCount: 3 }));
  events.push(scale);
  events.push(createEvent(ClusterProgress, meta(), { model: 'platform-provisioned', phase: 'Running', controlPlane: counts(1, 1), nodePools: [{ pool: 'w', ...counts(1, 2) }], operation: { kind: 'scale', pool: 'w', from: 2, to: 2 }, requestEventId: scale.id }));
  events.push(createEvent(NodePoolScaled, meta(), { model: 'platform-provisioned', pool: 'w', from: 2, to: 2, requested: 2, nodes: [node('w-0', 'w'), node('w-2', 'w')], removed: [`${id}-w-1`] }));
  for (const [from, to] of [
    ['v1.33.4', '1.34'],
    ['v1.34.1', '1.35'],
  ] as const) {
    events.push(createEvent(UpgradeStepApproved, meta('/flotilla/inventory'), { planId: 'plan-1', toVersion: to }));
    events.push(createEvent(ClusterUpgraded, meta(), { model: 'platform-provisioned', fromVersion: from, toVersion: `v${to}.${to === '1.34' ? 1 : 0}`, planId: 'plan-1' }));
  }
  events.push(createEvent(ClusterProgress, meta(), { model: 'platform-provisioned', phase: 'Running', controlPlane: counts(1, 1), nodePools: [{ pool: 'w', ...counts(2, 2) }], operation: null }));
  const takeover = createEvent(ClusterRequested, meta('/somebody-else'), spec('taken over', { team: 'a' }));
  events.push(takeover);
  events.push(
    createEvent(EventRejected, meta(), {
      rejectedEventId: takeover.id,
      rejectedType: takeover.type,
      code: 'handler-rejected',
      reason: `cluster "${id}" was already requested with a different spec`,
      consumer: 'provisioner__cluster_requested_v1',
      deadLetterSubject: 'flotilla.dlq.provisioner__cluster_requested_v1',
    }),
  );
  return events;
}

/** A deterministic shuffle (the same every run, different per cluster). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let index = out.length - 1; index > 0; index--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const other = state % (index + 1);
    [out[index], out[other]] = [out[other]!, out[index]!];
  }
  return out;
}

interface Row {
  id: string;
  name: string;
  labels: Record<string, string>;
  status: string;
  kubernetes_version: string;
  nodes: { name: string }[];
  pending_requests: unknown[];
  last_refusal: { eventId: string; requestEventId: string | null } | null;
  progress: { phase: string; nodePools: unknown[]; time: string } | null;
}

describe('facts about a cluster applied in the order they happened, by two replicas', () => {
  it('reordered deliveries, taken in small batches by two replicas, end in the view of the events in time order', async () => {
    const prefix = testBusPrefix();
    const bus = await BusConnection.open(TEST_NATS_URL, 'inventory-ordering-test');
    await ensureStreams(bus.jsm, busOptions({ service: 'test', prefix, natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES }));
    const lives = Array.from({ length: CLUSTERS }, (_, index) => life(`order-${index}`, index));
    // Cluster 0 arrives exactly backwards, the others each in their own shuffled order; clusters interleaved.
    const arrival = lives.map((events, index) => (index === 0 ? [...events].reverse() : shuffled(events, index + 1)));
    const deliveries: CloudEvent[] = [];
    for (let position = 0; position < arrival[0]!.length; position++) for (const events of arrival) deliveries.push(events[position]!);

    const env = { BUS_PREFIX: prefix, DATABASE_SCHEMA: `inventory_${randomSuffix()}`, BUS_BATCH_SIZE: '5' };
    const first = await startTestService(inventoryService, env);
    const second = await startTestService(inventoryService, env).catch(async (error: unknown) => {
      await first.dispose();
      throw error;
    });
    const db = await new DataSource({ type: 'postgres', url: first.env['DATABASE_URL']!, extra: { options: `-c search_path=${env.DATABASE_SCHEMA}`, max: 2 } }).initialize();
    try {
      // In arrival order, one at a time: the stream delivers them in this order.
      for (const event of deliveries) await publishEvent(bus.js, eventsSubject({ prefix }, findDefinition(event.type)!.channel), event);
      const total = deliveries.length;
      await eventually(
        async () => {
          const [row] = await db.query<{ history: number }[]>(`SELECT count(*)::int AS history FROM cluster_events`);
          return row?.history === total ? true : undefined;
        },
        30_000,
        'every event in the history',
      );

      const rows = await db.query<Row[]>(`SELECT id, name, labels, status, kubernetes_version, nodes, pending_requests, last_refusal, progress FROM clusters ORDER BY id`);
      assert.equal(rows.length, CLUSTERS);
      for (const row of rows) {
        const events = lives[Number(row.id.split('-')[1])]!;
        const reference = events.reduce<ClusterView | undefined>((view, event) => evolve(view, event) ?? view, undefined)!;
        const takeover = events.at(-2)!;
        assert.equal(row.name, row.id, `${row.id}: the refused request renamed nothing`);
        assert.deepEqual(row.labels, { team: 'b' }, `${row.id}: nor relabelled it`);
        assert.equal(row.status, 'Running');
        assert.equal(row.kubernetes_version, 'v1.35.0', `${row.id}: a late step never takes the version back`);
        assert.deepEqual(
          row.nodes.map((node) => node.name),
          [`${row.id}-cp-0`, `${row.id}-w-0`, `${row.id}-w-2`],
          `${row.id}: a late join never brings a removed node back`,
        );
        assert.deepEqual(row.pending_requests, [], `${row.id}: every request answered`);
        assert.equal(row.last_refusal?.requestEventId, takeover.id, `${row.id}: the refusal is shown, naming the request`);
        assert.deepEqual(row.progress?.nodePools, [{ pool: 'w', ready: 2, total: 2 }], `${row.id}: the latest progress`);
        // The same as projecting the events one at a time in the order they happened.
        assert.deepEqual(
          { name: row.name, labels: row.labels, status: row.status, version: row.kubernetes_version, nodes: row.nodes, pending: row.pending_requests, refusal: row.last_refusal?.eventId, phase: row.progress?.phase },
          {
            name: reference.name,
            labels: reference.labels,
            status: reference.status,
            version: reference.kubernetesVersion,
            nodes: reference.nodes,
            pending: reference.pendingRequests,
            refusal: reference.lastRefusal?.eventId,
            phase: reference.progress?.phase,
          },
        );
      }
    } finally {
      await db.destroy();
      await second.dispose({ keepSchema: true });
      await first.dispose();
      await deleteTestStreams(bus.jsm, prefix);
      await bus.drain();
    }
  });
});
