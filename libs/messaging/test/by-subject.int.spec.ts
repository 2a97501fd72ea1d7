import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterRequested, DEAD_LETTER_HEADERS, eventsSubject, NodesProvisioned, streamName, type EventOf } from '@flotilla/contracts';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { BusConnection, busOptions, ensureStreams, MESSAGING_MIGRATIONS, OnEvent, PermanentError, UnitOfWork, type BusOptions } from '../src/index.js';
import { createTestSchema, deleteTestStreams, eventually, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix, type TestSchema } from '../src/testing/index.js';
import { closeHandlerApp, startHandlerApp } from './support/handler-app.js';
import { requestCluster } from './support/requests.js';
import { readStream, type ReadMessage } from './support/streams.js';

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
 * `fail-once-*` fails its first attempt, `reject-*` fails for good, `nested-*` writes its effect
 * in a nested transaction, `swallow-tx-*` too but catches its failure, `swallow-sql-*` catches a
 * database error and returns, `commit-*` writes its effect and tries to commit the consumer's
 * transaction itself (catching the refusal), `slow-*` waits a little first; every other event records its
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
      // Some finish after the others: emitted events must still keep event order, and statements
      // issued after another handler failed must not escape the transaction.
      if (event.subject === 'side-0' || name.startsWith('slow-')) await manager.query(`SELECT pg_sleep(0.005)`);
      if (name.startsWith('fail-once') && !failedOnce.has(name)) {
        failedOnce.add(name);
        throw new Error('transient: first attempt fails');
      }
      if (name.startsWith('reject')) throw new PermanentError('never');
      const countEffect = `INSERT INTO effects (name, times) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET times = effects.times + 1`;
      if (name.startsWith('swallow-sql')) {
        // Catches a database error and carries on: the transaction is aborted all the same.
        await manager.query(`SELECT 1 / 0`).catch(() => undefined);
        return;
      }
      if (name.startsWith('commit')) {
        await manager.query(countEffect, [name]);
        await manager.queryRunner!.commitTransaction().catch(() => undefined);
        return;
      }
      if (name.startsWith('nested')) await manager.transaction((nested) => nested.query(countEffect, [name]));
      // The savepoint idiom: a failed nested transaction is caught and the handler carries on.
      else if (name.startsWith('swallow-tx')) await manager.transaction((nested) => nested.query(countEffect, [name])).catch(() => undefined);
      else await manager.query(countEffect, [name]);
      this.unitOfWork.emit(NodesProvisioned, event.subject, { model: 'platform-provisioned', nodes: [{ name: `${name}-node`, role: 'worker', addresses: [] }] });
    } finally {
      inFlight.now -= 1;
    }
  }
}

@Controller()
class SequentialHandlers {
  @OnEvent(ClusterRequested)
  async onClusterRequested(): Promise<void> {}
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
    schema = await createTestSchema([...MESSAGING_MIGRATIONS, HandledTables1732300000003]);
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

  async function effectsCounted(count: number): Promise<void> {
    await eventually(async () => {
      const rows = await probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM effects`);
      return rows[0]?.n === count ? true : undefined;
    }, 30_000, `${count} effects`);
  }

  /** The node names of the NodesProvisioned events published so far, in stream order. */
  async function derivedEvents(count: number): Promise<(string | undefined)[]> {
    const messages = await eventually(async () => {
      const read = await readStream(bus.jsm, streamName(options, 'events'), eventsSubject(options, NodesProvisioned.channel));
      return read.length >= count ? read : undefined;
    }, 15_000, `${count} derived events`);
    return messages.map((m) => m.json<{ nodes: { name: string }[] }>().nodes[0]?.name);
  }

  it('runs subjects side by side in one transaction, each subject in order, emitted events in event order, pipelined', async () => {
    const subjects = Array.from({ length: 6 }, (_, i) => `side-${i}`);
    const perSubject = 8;
    // Interleaved and published before the app starts: batches hold every subject.
    for (let n = 0; n < perSubject; n++) await Promise.all(subjects.map((subject) => requestCluster(bus, options, subject, `${subject}-${n}`)));
    // Were the handlers' statements queued behind each other instead of pipelined, pg would warn.
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.message);
    process.on('warning', onWarning);

    const app = await startHandlerApp(schema, options, [BySubjectHandlers]);
    try {
      const total = subjects.length * perSubject;
      await effectsCounted(total);
      const handled = await probe.query<{ cluster_id: string; name: string }[]>(`SELECT cluster_id, name FROM handled ORDER BY seq`);
      for (const subject of subjects) {
        const names = handled.filter((row) => row.cluster_id === subject).map((row) => row.name);
        assert.deepEqual(names, Array.from({ length: perSubject }, (_, n) => `${subject}-${n}`), `events about ${subject} handled in order, once`);
      }
      assert.ok(inFlight.most > 1, `handlers overlapped within a batch (at most ${inFlight.most} at once)`);
      assert.deepEqual(warnings.filter((message) => /already executing a query/.test(message)), [], 'statements were pipelined, not queued');

      const derived = await derivedEvents(total);
      const published = Array.from({ length: perSubject }, (_, n) => subjects.map((subject) => `${subject}-${n}-node`)).flat();
      assert.deepEqual(derived, published, 'derived events leave in the order of the events that caused them');
    } finally {
      process.off('warning', onWarning);
      await closeHandlerApp(app);
    }
  });

  it('applies each effect once when failures or nested transactions send a batch back event by event', async () => {
    await probe.query(`TRUNCATE handled, effects`);
    const names = ['slow-0', 'slow-1', 'fail-once-a', 'slow-2', 'nested-c', 'reject-b', 'swallow-tx-d', 'slow-3', 'swallow-sql-e', 'commit-f', 'slow-4'];
    const noEffect = ['commit-f', 'reject-b', 'swallow-sql-e'];
    // Published before the app starts: after the first, they are handled in one batch.
    for (const name of names) await requestCluster(bus, options, name);

    const app = await startHandlerApp(schema, options, [BySubjectHandlers]);
    try {
      await effectsCounted(names.length - noEffect.length);
      const effects = await probe.query<{ name: string; times: number }[]>(`SELECT name, times FROM effects ORDER BY name`);
      assert.deepEqual(
        effects,
        names.filter((name) => !noEffect.includes(name)).sort().map((name) => ({ name, times: 1 })),
        "every effect once, none of the failures; the nested transactions ran on their own; no handler committed the consumer's transaction",
      );
      // No failure was acked as if handled: each is a dead letter, with its reason.
      const deadLetters = await eventually(async () => {
        const messages = await readStream(bus.jsm, streamName(options, 'dlq')).catch((): ReadMessage[] => []);
        return messages.length >= noEffect.length ? messages : undefined;
      }, 15_000, `${noEffect.length} dead letters`);
      const reasons = Object.fromEntries(deadLetters.map((m) => [m.headers['ce-subject'] ?? '?', m.headers[DEAD_LETTER_HEADERS.reason] ?? '']));
      assert.deepEqual(Object.keys(reasons).sort(), noEffect);
      assert.match(reasons['swallow-sql-e'] ?? '', /a database error was caught and the work went on/);
      // Refused side by side, and again when the batch was retried event by event.
      assert.match(reasons['commit-f'] ?? '', /a handler cannot commitTransaction the consumer's transaction/);
    } finally {
      await closeHandlerApp(app);
    }
  });

  it('refuses an unknown concurrency at start, naming it, and handlers of one event type that disagree on it', async () => {
    await assert.rejects(startHandlerApp(schema, { ...options, service: 'misconfigured' }, [MisconfiguredHandlers]), /concurrency must be one of sequential, by-subject, not "all-at-once"/);
    await assert.rejects(
      startHandlerApp(schema, { ...options, service: 'disagreeing' }, [BySubjectHandlers, SequentialHandlers]),
      /the handlers of 'cluster\.requested\.v1' must agree on concurrency, not "by-subject" and "sequential"/,
    );
  });
});
