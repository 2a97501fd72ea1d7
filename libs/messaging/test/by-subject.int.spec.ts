import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterRequested, eventsSubject, NodesProvisioned, streamName, type EventOf } from '@flotilla/contracts';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { BusConnection, busOptions, ensureStreams, MessagingTables1732300000000, OnEvent, PermanentError, UnitOfWork, type BusOptions } from '../src/index.js';
import { createTestSchema, deleteTestStreams, eventually, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix, type TestSchema } from '../src/testing/index.js';
import { closeHandlerApp, startHandlerApp } from './support/handler-app.js';
import { requestCluster } from './support/requests.js';
import { readStream } from './support/streams.js';

class HandledTables1732300000003 implements MigrationInterface {
  name = 'HandledTables1732300000003';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE handled (seq bigserial PRIMARY KEY, cluster_id text NOT NULL, name text NOT NULL)`);
    await runner.query(`CREATE TABLE effects (name text PRIMARY KEY, times integer NOT NULL)`);
    await runner.query(`CREATE TABLE attempts (name text PRIMARY KEY, n integer NOT NULL)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE handled, effects, attempts`);
  }
}

/** Handlers in flight at once. With one lane, more than one means they overlapped inside a transaction. */
const inFlight = { now: 0, most: 0 };
/** Names whose first attempt already failed (kept in memory: a rolled-back row would not remember). */
const failedOnce = new Set<string>();

/**
 * `fail-once-*` fails its first attempt, `reject-*` fails for good; every other event records its
 * handling order, counts its effect and emits NodesProvisioned.
 */
@Controller()
class BySubjectHandlers {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @OnEvent(ClusterRequested, { concurrency: 'by-subject' })
  async onClusterRequested(@Payload() event: EventOf<typeof ClusterRequested>): Promise<void> {
    const { manager } = this.unitOfWork;
    const name = event.data.name;
    inFlight.now += 1;
    inFlight.most = Math.max(inFlight.most, inFlight.now);
    try {
      // Two statements, so that handlers of other subjects get in between.
      await manager.query(`INSERT INTO handled (cluster_id, name) VALUES ($1, $2)`, [event.subject, name]);
      if (name.startsWith('fail-once') && !failedOnce.has(name)) {
        failedOnce.add(name);
        throw new Error('transient: first attempt fails');
      }
      if (name.startsWith('reject')) throw new PermanentError('never');
      await manager.query(`INSERT INTO effects (name, times) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET times = effects.times + 1`, [name]);
      this.unitOfWork.emit(NodesProvisioned, event.subject, { model: 'platform-provisioned', nodes: [{ name: `${name}-node`, role: 'worker', addresses: [] }] });
    } finally {
      inFlight.now -= 1;
    }
  }
}

@Controller()
class MisconfiguredHandlers {
  @OnEvent(ClusterRequested, { concurrency: 'all-at-once' as never })
  async onClusterRequested(): Promise<void> {}
}

describe("handlers with concurrency 'by-subject'", { timeout: 60_000 }, () => {
  let bus: BusConnection;
  let schema: TestSchema;
  let probe: DataSource;
  let options: BusOptions;

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'by-subject-int-test');
    schema = await createTestSchema([MessagingTables1732300000000, HandledTables1732300000003]);
    probe = await new DataSource(schema.dataSourceOptions()).initialize();
    // One lane: any overlap of handlers happens inside one batch's transaction.
    options = busOptions({ service: 'bysubject', prefix: testBusPrefix(), natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES, lanes: 1, batchSize: 60, maxDeliver: 3, retry: { baseDelayMs: 50, maxDelayMs: 200 } });
    await ensureStreams(bus.jsm, options);
  });

  after(async () => {
    await deleteTestStreams(bus.jsm, options.prefix);
    await probe.destroy();
    await schema.drop();
    await bus.drain();
  });

  it('runs subjects side by side in one transaction, each subject in order, each effect once, emitted events in event order', async () => {
    const subjects = Array.from({ length: 6 }, (_, i) => `side-${i}`);
    const perSubject = 8;
    // Interleaved and published before the app starts: the first batch holds every subject.
    for (let n = 0; n < perSubject; n++) await Promise.all(subjects.map((subject) => requestCluster(bus, options, subject, `${subject}-${n}`)));
    const mixed = ['fail-once-a', 'reject-b'];
    for (const name of mixed) await requestCluster(bus, options, name);

    const app = await startHandlerApp(schema, options, [BySubjectHandlers]);
    try {
      const expected = subjects.length * perSubject + 1; // and fail-once-a after its retry
      await eventually(async () => {
        const rows = await probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects`);
        return rows[0]?.n === expected ? true : undefined;
      }, 30_000, `${expected} effects`);

      const handled = await probe.query<{ cluster_id: string; name: string }[]>(`SELECT cluster_id, name FROM handled ORDER BY seq`);
      for (const subject of subjects) {
        const names = handled.filter((row) => row.cluster_id === subject).map((row) => row.name);
        assert.deepEqual(names, Array.from({ length: perSubject }, (_, n) => `${subject}-${n}`), `events about ${subject} handled in order, once`);
      }
      assert.ok(inFlight.most > 1, `handlers overlapped within a batch (at most ${inFlight.most} at once)`);

      const effects = await probe.query<{ name: string; times: number }[]>(`SELECT name, times FROM effects`);
      assert.ok(effects.every((row) => row.times === 1), 'no effect applied twice, also after the failed batch was retried event by event');
      assert.ok(effects.some((row) => row.name === 'fail-once-a'), 'the transient failure was retried and handled');
      assert.ok(!effects.some((row) => row.name === 'reject-b'), 'the permanent failure has no effect');

      // The derived events of each subject leave in the order of the events that caused them.
      const derived = await eventually(async () => {
        const messages = await readStream(bus.jsm, streamName(options, 'events'), eventsSubject(options, NodesProvisioned.channel));
        return messages.length === expected ? messages : undefined;
      }, 15_000, 'every derived event published');
      for (const subject of subjects) {
        const nodes = derived.filter((m) => m.headers['ce-subject'] === subject).map((m) => m.json<{ nodes: { name: string }[] }>().nodes[0]?.name);
        assert.deepEqual(nodes, Array.from({ length: perSubject }, (_, n) => `${subject}-${n}-node`));
      }
    } finally {
      await closeHandlerApp(app);
    }
  });

  it('refuses an unknown concurrency at start, naming it', async () => {
    await assert.rejects(startHandlerApp(schema, { ...options, service: 'misconfigured' }, [MisconfiguredHandlers]), /concurrency must be one of sequential, by-subject, not "all-at-once"/);
  });
});
