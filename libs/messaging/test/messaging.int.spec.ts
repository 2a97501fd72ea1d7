import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ClusterRequested,
  DEAD_LETTER_HEADERS,
  EventRejected,
  eventsSubject,
  NodesProvisioned,
  streamName,
} from '@flotilla/contracts';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { DataSource } from 'typeorm';
import { BusConnection, busOptions, type BusOptions } from '../src/index.js';
import { createTestSchema, deleteTestStreams, eventually, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix, type TestSchema } from '../src/testing/index.js';
import { closeLedgerApp, MIGRATIONS, startLedgerApp } from './support/test-app.js';
import { readStream } from './support/streams.js';
import { clusterSpec, requestCluster } from './support/requests.js';

async function count(dataSource: DataSource, table: string): Promise<Record<string, number>> {
  const rows = await dataSource.query<{ cluster_id: string; times: number }[]>(`SELECT cluster_id, times FROM ${table}`);
  return Object.fromEntries(rows.map((row) => [row.cluster_id, row.times]));
}

describe('messaging runtime on real NATS JetStream and PostgreSQL', () => {
  let bus: BusConnection;
  let schema: TestSchema;
  let options: BusOptions;
  let probe: DataSource;

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'messaging-int-test');
    schema = await createTestSchema(MIGRATIONS);
    probe = await new DataSource(schema.dataSourceOptions()).initialize();
    options = busOptions({ service: 'ledger', prefix: testBusPrefix(), natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES, maxDeliver: 3, retry: { baseDelayMs: 50, maxDelayMs: 200 }, relayPollMs: 200 });
  });

  after(async () => {
    await deleteTestStreams(bus.jsm, options.prefix);
    await probe.destroy();
    await schema.drop();
    await bus.drain();
  });

  it('handles an event once, and its derived event flows through the outbox and relay to the next handler', async () => {
    const app = await startLedgerApp({ schema, bus: options });
    try {
      await requestCluster(bus, options, 'alpha');
      const seen = await eventually(async () => ((await count(probe, 'nodes_seen'))['alpha'] ? count(probe, 'nodes_seen') : undefined));
      assert.equal(seen['alpha'], 1);
      assert.equal((await count(probe, 'requests_handled'))['alpha'], 1);
      // The relay marks a row published after publishing it, so the next handler may see the event first.
      const unpublished = async () => (await probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`))[0]?.n;
      await eventually(async () => ((await unpublished()) === 0 ? true : undefined), 10_000, 'the outbox drained');
      const derived = await readStream(bus.jsm, streamName(options, 'events'), eventsSubject(options, NodesProvisioned.channel));
      assert.equal(derived.length, 1);
      assert.equal(derived[0]?.headers['ce-source'], '/flotilla/ledger');
      assert.equal(derived[0]?.headers['Nats-Msg-Id'], derived[0]?.headers['ce-id']);
    } finally {
      await closeLedgerApp(app);
    }
  });

  it('redelivers after a transient failure and applies the effect once', async () => {
    const app = await startLedgerApp({ schema, bus: options });
    try {
      await requestCluster(bus, options, 'beta', 'fail-once-beta');
      await eventually(async () => (await count(probe, 'requests_handled'))['beta']);
      const rows = await probe.query<{ times: number; deliveries: number }[]>(`SELECT times, deliveries FROM requests_handled WHERE cluster_id = 'beta'`);
      assert.deepEqual(rows[0], { times: 1, deliveries: 2 });
    } finally {
      await closeLedgerApp(app);
    }
  });

  it('dead-letters every kind of bad message with its reason and emits EventRejected, and keeps consuming', async () => {
    const app = await startLedgerApp({ schema, bus: options });
    try {
      const subject = eventsSubject(options, ClusterRequested.channel);
      const ceHeaders = (id: string, type = ClusterRequested.type) => {
        const h = natsHeaders();
        for (const [k, v] of Object.entries({ 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/tests', 'ce-type': type, 'ce-subject': id, 'ce-time': new Date().toISOString(), 'content-type': 'application/json' })) h.set(k, v);
        return h;
      };
      await bus.js.publish(subject, 'this is not json', { headers: ceHeaders('bad-json'), msgID: 'bad-json' });
      await bus.js.publish(subject, JSON.stringify({ blob: 'x'.repeat(300 * 1024) }), { headers: ceHeaders('too-big'), msgID: 'too-big' });
      await bus.js.publish(subject, JSON.stringify(clusterSpec('x')), { headers: ceHeaders('unknown-type', 'io.flotilla.cluster.exploded.v9'), msgID: 'unknown-type' });
      await bus.js.publish(subject, JSON.stringify({ ...clusterSpec('x'), controlPlane: { count: 2, machineSize: 'small' } }), { headers: ceHeaders('bad-schema'), msgID: 'bad-schema' });
      await requestCluster(bus, options, 'rejected', 'reject-me');
      await requestCluster(bus, options, 'hopeless', 'always-fail-hopeless');
      await requestCluster(bus, options, 'after-the-storm');

      const dlqStream = streamName(options, 'dlq');
      const deadLetters = await eventually(async () => {
        const messages = await readStream(bus.jsm, dlqStream).catch(() => []);
        return messages.length >= 6 ? messages : undefined;
      }, 15_000, 'six dead letters');
      const codes = Object.fromEntries(deadLetters.map((m) => [m.headers['ce-subject'] ?? '?', m.headers[DEAD_LETTER_HEADERS.code]]));
      assert.equal(codes['bad-json'], 'unparseable');
      assert.equal(codes['too-big'], 'too-large');
      assert.equal(codes['unknown-type'], 'unknown-type');
      assert.equal(codes['bad-schema'], 'schema-invalid');
      assert.equal(codes['rejected'], 'handler-rejected');
      assert.equal(codes['hopeless'], 'max-deliveries-exceeded');
      const badSchema = deadLetters.find((m) => m.headers['ce-subject'] === 'bad-schema');
      assert.match(badSchema?.headers[DEAD_LETTER_HEADERS.reason] ?? '', /data\.controlPlane\.count/);
      assert.equal(badSchema?.headers[DEAD_LETTER_HEADERS.consumer], 'ledger__cluster_requested_v1');
      assert.equal(deadLetters.find((m) => m.headers['ce-subject'] === 'hopeless')?.headers[DEAD_LETTER_HEADERS.deliveries], '3');

      const rejected = await eventually(async () => {
        const notices = await readStream(bus.jsm, streamName(options, 'events'), eventsSubject(options, EventRejected.channel));
        return notices.length >= 6 ? notices : undefined;
      }, 10_000, 'six EventRejected');
      const byOriginal = new Map(rejected.map((m) => [m.headers['ce-subject'], m.json<{ rejectedEventId: string; code: string; reason: string }>()]));
      assert.equal(byOriginal.get('bad-schema')?.rejectedEventId, 'bad-schema');
      assert.equal(byOriginal.get('bad-schema')?.code, 'schema-invalid');
      assert.equal(byOriginal.get('rejected')?.reason, 'this cluster can never be provisioned');

      // Terminated for good: nothing left waiting for an ack, so nothing comes back after ack_wait.
      await eventually(async () => {
        const info = await bus.jsm.consumers.info(streamName(options, 'events'), 'ledger__cluster_requested_v1');
        return info.num_ack_pending === 0 ? true : undefined;
      }, 10_000, 'no dead-lettered message left ack-pending');

      // The consumer kept going after all that.
      await eventually(async () => (await count(probe, 'requests_handled'))['after-the-storm']);
      assert.equal((await count(probe, 'requests_handled'))['hopeless'], undefined);
    } finally {
      await closeLedgerApp(app);
    }
  });

  it('lets two replicas share one durable consumer: every event is handled once', async () => {
    const shared = { ...options, prefix: testBusPrefix() };
    const first = await startLedgerApp({ schema, bus: shared, replica: 'a' });
    const second = await startLedgerApp({ schema, bus: shared, replica: 'b' });
    try {
      const ids = Array.from({ length: 200 }, (_, i) => `shared-${i}`);
      await Promise.all(ids.map((id) => requestCluster(bus, shared, id)));
      await eventually(async () => {
        const rows = await probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM nodes_seen WHERE cluster_id LIKE 'shared-%'`);
        return rows[0]?.n === ids.length ? true : undefined;
      }, 20_000, 'all 200 handled');
      const rows = await probe.query<{ replica: string; n: number; most: number }[]>(`SELECT replica, count(*)::int AS n, max(times) AS most FROM requests_handled WHERE cluster_id LIKE 'shared-%' GROUP BY replica`);
      assert.equal(rows.reduce((sum, row) => sum + row.n, 0), ids.length);
      assert.ok(rows.every((row) => row.most === 1), 'no event handled twice');
      assert.equal(rows.length, 2, `both replicas took work: ${JSON.stringify(rows)}`);
    } finally {
      await Promise.all([closeLedgerApp(first), closeLedgerApp(second)]);
      await deleteTestStreams(bus.jsm, shared.prefix);
    }
  });
});
