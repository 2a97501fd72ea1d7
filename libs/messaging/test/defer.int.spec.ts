import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterRequested, DEAD_LETTER_HEADERS, eventsSubject, NodesProvisioned, streamName, type EventOf } from '@flotilla/contracts';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { register } from 'prom-client';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { BusConnection, busOptions, durableName, ensureStreams, MESSAGING_MIGRATIONS, OnEvent, OnEventBatch, UnitOfWork, type BusOptions } from '../src/index.js';
import { createTestSchema, deleteTestStreams, eventually, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix, type TestSchema } from '../src/testing/index.js';
import { closeHandlerApp, startHandlerApp } from './support/handler-app.js';
import { requestCluster } from './support/requests.js';
import { readStream } from './support/streams.js';

class DeferTables1732300000003 implements MigrationInterface {
  name = 'DeferTables1732300000003';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE handled (seq bigserial PRIMARY KEY, cluster_id text NOT NULL, name text NOT NULL)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE handled`);
  }
}

/** Subjects whose work "another replica" holds: their events are handed back while listed. */
const held = new Set<string>();
/** Times an event was handed back, by subject. */
const handedBack = new Map<string, number>();

function provisioned(event: EventOf<typeof ClusterRequested>) {
  return { model: event.data.model, nodes: [{ name: `${event.subject}-cp-0`, role: 'control-plane' as const, addresses: [] }] };
}

/**
 * Hands back the first event of a held subject only (named `<subject>-0`): the runtime must hand
 * back the subject's later events with it, or they would overtake it.
 */
function deferHeld(unitOfWork: UnitOfWork, events: readonly EventOf<typeof ClusterRequested>[]): EventOf<typeof ClusterRequested>[] {
  const back = events.filter((event) => held.has(event.subject) && event.data.name === `${event.subject}-0`);
  for (const event of back) handedBack.set(event.subject, (handedBack.get(event.subject) ?? 0) + 1);
  if (back.length > 0) unitOfWork.defer(back);
  return events.filter((event) => !back.includes(event));
}

@Controller()
class BatchHandlers {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @OnEventBatch(ClusterRequested)
  async onClusterRequested(@Payload() events: EventOf<typeof ClusterRequested>[]): Promise<void> {
    for (const event of deferHeld(this.unitOfWork, events)) {
      await this.unitOfWork.manager.query(`INSERT INTO handled (cluster_id, name) VALUES ($1, $2)`, [event.subject, event.data.name]);
      this.unitOfWork.emit(NodesProvisioned, event.subject, provisioned(event), { causedBy: event });
    }
  }
}

@Controller()
class SingleHandlers {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @OnEvent(ClusterRequested)
  async onClusterRequested(@Payload() event: EventOf<typeof ClusterRequested>): Promise<void> {
    // Emitted before the handler finds the work held: what it emitted for an event it hands
    // back must not be published.
    this.unitOfWork.emit(NodesProvisioned, event.subject, provisioned(event), { causedBy: event });
    if (deferHeld(this.unitOfWork, [event]).length === 0) return;
    await this.unitOfWork.manager.query(`INSERT INTO handled (cluster_id, name) VALUES ($1, $2)`, [event.subject, event.data.name]);
  }
}

async function counted(consumer: string, outcome: string): Promise<number> {
  const metric = register.getSingleMetric('flotilla_events_consumed_total');
  const values = metric ? (await metric.get()).values : [];
  return values.filter((v) => v.labels['consumer'] === consumer && v.labels['outcome'] === outcome).reduce((sum, v) => sum + v.value, 0);
}

describe('events a handler hands back (UnitOfWork.defer)', { timeout: 90_000 }, () => {
  let bus: BusConnection;
  let schema: TestSchema;
  let probe: DataSource;

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'defer-int-test');
    schema = await createTestSchema([...MESSAGING_MIGRATIONS, DeferTables1732300000003]);
    probe = await new DataSource(schema.dataSourceOptions()).initialize();
  });

  after(async () => {
    await probe.destroy();
    await schema.drop();
    await bus.drain();
  });

  for (const [kind, controller] of [
    ['a batch handler', BatchHandlers],
    ['a handler of single events', SingleHandlers],
  ] as const) {
    it(`${kind}: come again with their subject's later events until handled, once each, in order, never redelivered nor dead-lettered`, async () => {
      const tag = kind.split(' ').at(-1)!;
      // A service of its own per test: the inbox is counted by consumer.
      const options: BusOptions = busOptions({ service: `defer${tag}`, prefix: testBusPrefix(), natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES, batchSize: 10 });
      const consumer = durableName(options.service, ClusterRequested.channel);
      const heldCluster = `held-${tag}`;
      const freeCluster = `free-${tag}`;
      await ensureStreams(bus.jsm, options);
      held.clear();
      handedBack.clear();
      held.add(heldCluster);
      const deferredBefore = await counted(consumer, 'deferred');
      for (let n = 0; n < 5; n++) for (const subject of [heldCluster, freeCluster]) await requestCluster(bus, options, subject, `${subject}-${n}`);
      const app = await startHandlerApp(schema, options, [controller]);
      try {
        const names = async (subject: string) => (await probe.query<{ name: string }[]>(`SELECT name FROM handled WHERE cluster_id = $1 ORDER BY seq`, [subject])).map((row) => row.name);
        await eventually(async () => ((await names(freeCluster)).length === 5 ? true : undefined), 20_000, 'the free subject handled');
        // The held subject's first event keeps coming back (each wait is tens of ms), and its later
        // ones, kept by the handler, wait behind it unhandled.
        await eventually(() => ((handedBack.get(heldCluster) ?? 0) >= 15 ? true : undefined), 20_000, 'the held event handed back again and again');
        assert.deepEqual(await names(heldCluster), []);
        held.clear();
        await eventually(async () => ((await names(heldCluster)).length === 5 ? true : undefined), 20_000, 'the held subject handled once released');

        assert.deepEqual(await names(heldCluster), Array.from({ length: 5 }, (_, n) => `${heldCluster}-${n}`), 'in the order they were published');
        assert.deepEqual(await names(freeCluster), Array.from({ length: 5 }, (_, n) => `${freeCluster}-${n}`));
        const inbox = await probe.query<{ rows: number; ids: number }[]>(`SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS ids FROM inbox WHERE consumer = $1`, [consumer]);
        assert.deepEqual(inbox[0], { rows: 10, ids: 10 }, 'each event claimed once: the claims of handed-back events were undone');
        // Every round hands back the first event and its four followers; a batch handler is asked
        // twice a round (the batch, failed for keeping the followers, then the first event alone).
        assert.ok((await counted(consumer, 'deferred')) - deferredBefore >= 5 * 7, 'handed-back events are counted, the followers too');
        await eventually(
          async () => {
            const info = await bus.jsm.consumers.info(streamName(options, 'events'), consumer);
            return info.num_ack_pending === 0 && info.num_pending === 0 ? info : undefined;
          },
          10_000,
          'every event acknowledged',
        ).then((info) => assert.equal(info.num_redelivered, 0, 'handing back spends no delivery'));
        const derived = await eventually(
          async () => {
            const published = await readStream(bus.jsm, streamName(options, 'events'), eventsSubject(options, NodesProvisioned.channel));
            return published.length >= 10 ? published : undefined;
          },
          10_000,
          'the derived events published',
        );
        assert.equal(derived.length, 10, 'one derived event per event handled: none for the times it was handed back');
        assert.equal((await readStream(bus.jsm, streamName(options, 'dlq'))).length, 0);
      } finally {
        await closeHandlerApp(app);
        await deleteTestStreams(bus.jsm, options.prefix);
      }
    });
  }

  it('a batch handler: an event handed back for longer than the handler bound goes back to the stream, and is dead-lettered in the end', async () => {
    const options: BusOptions = busOptions({
      service: 'deferbound',
      prefix: testBusPrefix(),
      natsUrl: TEST_NATS_URL,
      streamMaxBytes: TEST_STREAM_MAX_BYTES,
      handlerTimeoutMs: 300,
      maxDeliver: 2,
      retry: { baseDelayMs: 50, maxDelayMs: 100 },
    });
    await ensureStreams(bus.jsm, options);
    held.clear();
    held.add('held-forever');
    const app = await startHandlerApp(schema, options, [BatchHandlers]);
    try {
      await requestCluster(bus, options, 'held-forever', 'held-forever-0');
      await requestCluster(bus, options, 'free-bound', 'free-bound-0');
      const letters = await eventually(async () => {
        const read = await readStream(bus.jsm, streamName(options, 'dlq'));
        return read.length >= 1 ? read : undefined;
      }, 20_000, 'the event held for good dead-lettered');
      assert.equal(letters.length, 1);
      assert.equal(letters[0]!.headers['ce-subject'], 'held-forever');
      assert.equal(letters[0]!.headers[DEAD_LETTER_HEADERS.code], 'max-deliveries-exceeded');
      assert.match(letters[0]!.headers[DEAD_LETTER_HEADERS.reason] ?? '', /handed back by its handler for over 300 ms/);
      assert.deepEqual(await probe.query(`SELECT name FROM handled WHERE cluster_id = 'free-bound'`), [{ name: 'free-bound-0' }]);
    } finally {
      held.clear();
      await closeHandlerApp(app);
      await deleteTestStreams(bus.jsm, options.prefix);
    }
  });

  it('is refused outside an event handler, and for an event the handler was not given', async () => {
    const unitOfWork = new UnitOfWork(probe, { service: 'deferring', prefix: 'unused' });
    assert.throws(() => unitOfWork.defer([{ id: 'e-1' }]), /outside an event handler/);
    await assert.rejects(
      unitOfWork.run(async () => unitOfWork.defer([{ id: 'e-2' }])),
      /outside an event handler/,
    );
    const handing = { deferrable: new Set(['mine']), deferred: new Set<string>() };
    await assert.rejects(
      unitOfWork.withManager(probe.manager, [], async () => unitOfWork.defer([{ id: 'mine' }, { id: 'another' }]), handing),
      /event another is not one this handler was given/,
    );
    assert.deepEqual([...handing.deferred], [], 'nothing handed back by a refused call');
  });
});
