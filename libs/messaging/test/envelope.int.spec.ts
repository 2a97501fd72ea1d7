import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterRequested, createEvent, DEAD_LETTER_HEADERS, EventRejected, eventsSubject, streamName, type CloudEvent } from '@flotilla/contracts';
import { Controller, Global, Inject, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, Payload } from '@nestjs/microservices';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { CloudEvent as SdkEvent, HTTP } from 'cloudevents';
import { connect, headers as legacyHeaders, type NatsConnection } from 'nats';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { ALL_EVENTS, BusConnection, busOptions, MESSAGING_MIGRATIONS, MessagingModule, publishEvent, startEventConsumers, UnitOfWork, type BusOptions } from '../src/index.js';
import { createTestSchema, deleteTestStreams, eventually, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix, type TestSchema } from '../src/testing/index.js';
import { clusterSpec } from './support/requests.js';
import { readStream } from './support/streams.js';
import { closeLedgerApp, MIGRATIONS, startLedgerApp } from './support/test-app.js';

class ProjectedTables1732300000004 implements MigrationInterface {
  name = 'ProjectedTables1732300000004';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE projected (event_id text PRIMARY KEY, subject text NOT NULL, type text NOT NULL)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE projected`);
  }
}

/** A read model in the inventory's shape: one catch-all consumer taking whole batches. */
@Controller()
class Projection {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @EventPattern(ALL_EVENTS, { batch: true })
  async project(@Payload() events: CloudEvent[]): Promise<void> {
    await this.unitOfWork.manager.query(`INSERT INTO projected (event_id, subject, type) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`, [
      events.map((event) => event.id),
      events.map((event) => event.subject),
      events.map((event) => event.type),
    ]);
  }
}

async function startProjection(schema: TestSchema, bus: BusOptions): Promise<INestApplication> {
  @Global()
  @Module({ providers: [{ provide: DataSource, useFactory: async () => new DataSource(schema.dataSourceOptions()).initialize() }], exports: [DataSource] })
  class DatabaseModule {}
  @Module({ imports: [DatabaseModule, MessagingModule.forRoot(bus, {})], controllers: [Projection] })
  class ProjectionModule {}
  const app = await NestFactory.create(ProjectionModule, { logger: ['error'] });
  await app.init();
  await startEventConsumers(app);
  return app;
}

async function handled(probe: DataSource, clusterId: string): Promise<{ times: number } | undefined> {
  const rows = await probe.query<{ times: number }[]>(`SELECT times FROM requests_handled WHERE cluster_id = $1`, [clusterId]);
  return rows[0];
}

describe('one envelope check for every consumer, on real NATS and PostgreSQL', () => {
  let bus: BusConnection;
  let legacy: NatsConnection;
  let ledgerSchema: TestSchema;
  let projectionSchema: TestSchema;
  let probe: DataSource;
  let projectionProbe: DataSource;
  let options: BusOptions;
  let ledger: INestApplication;
  let projection: INestApplication;

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'envelope-int-test');
    legacy = await connect({ servers: TEST_NATS_URL });
    ledgerSchema = await createTestSchema(MIGRATIONS);
    projectionSchema = await createTestSchema([...MESSAGING_MIGRATIONS, ProjectedTables1732300000004]);
    probe = await new DataSource(ledgerSchema.dataSourceOptions()).initialize();
    projectionProbe = await new DataSource(projectionSchema.dataSourceOptions()).initialize();
    const common = { prefix: testBusPrefix(), natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES, maxDeliver: 3, retry: { baseDelayMs: 50, maxDelayMs: 200 }, relayPollMs: 200 };
    options = busOptions({ service: 'ledger', ...common });
    ledger = await startLedgerApp({ schema: ledgerSchema, bus: options });
    projection = await startProjection(projectionSchema, busOptions({ service: 'projection', ...common }));
  });

  after(async () => {
    await closeLedgerApp(ledger);
    await closeLedgerApp(projection);
    await deleteTestStreams(bus.jsm, options.prefix);
    await probe.destroy();
    await projectionProbe.destroy();
    await ledgerSchema.drop();
    await projectionSchema.drop();
    await legacy.drain();
    await bus.drain();
  });

  it('handles what the official cloudevents SDK sends over the legacy nats client, binary and structured', async () => {
    const js = legacy.jetstream();
    const subject = eventsSubject(options, ClusterRequested.channel);
    for (const [clusterId, encode] of [
      ['sdk-binary', HTTP.binary],
      ['sdk-structured', HTTP.structured],
    ] as const) {
      const event = new SdkEvent({ type: ClusterRequested.type, source: '/tests/sdk', subject: clusterId, data: clusterSpec(clusterId) });
      const message = encode(event);
      const headers = legacyHeaders();
      for (const [key, value] of Object.entries(message.headers)) headers.set(key, String(value));
      await js.publish(subject, new TextEncoder().encode(String(message.body)), { headers });
    }
    await eventually(async () => ((await handled(probe, 'sdk-binary')) && (await handled(probe, 'sdk-structured')) ? true : undefined), 10_000, 'both SDK events handled');
    const projected = await eventually(async () => {
      const rows = await projectionProbe.query<{ subject: string }[]>(`SELECT subject FROM projected WHERE subject LIKE 'sdk-%' AND type = $1 ORDER BY subject`, [ClusterRequested.type]);
      return rows.length === 2 ? rows : undefined;
    });
    assert.deepEqual(projected.map((row) => row.subject), ['sdk-binary', 'sdk-structured']);
  });

  it('dead-letters a subject that is not a cluster id in every consumer, with the same reason, and projects nothing', async () => {
    const event = createEvent(ClusterRequested, { subject: 'Not A Cluster', source: '/tests/outside-publisher' }, clusterSpec('bad-subject'));
    await publishEvent(bus.js, eventsSubject(options, ClusterRequested.channel), event);

    const letters = await eventually(async () => {
      const all = await readStream(bus.jsm, streamName(options, 'dlq')).catch(() => []);
      const mine = all.filter((letter) => letter.headers['ce-id'] === event.id);
      return mine.length === 2 ? mine : undefined;
    }, 10_000, 'a dead letter from each consumer');
    assert.deepEqual(letters.map((letter) => letter.headers[DEAD_LETTER_HEADERS.consumer]).sort(), ['ledger__cluster_requested_v1', 'projection__all']);
    assert.deepEqual(letters.map((letter) => letter.headers[DEAD_LETTER_HEADERS.code]), ['schema-invalid', 'schema-invalid']);
    assert.equal(letters[0]!.headers[DEAD_LETTER_HEADERS.reason], letters[1]!.headers[DEAD_LETTER_HEADERS.reason]);
    assert.match(letters[0]!.headers[DEAD_LETTER_HEADERS.reason] ?? '', /^subject: must be a DNS label/);

    const notices = await eventually(async () => {
      const all = await readStream(bus.jsm, streamName(options, 'events'), eventsSubject(options, EventRejected.channel));
      const mine = all.map((notice) => notice.json<{ rejectedEventId: string; rejectedType?: string; rejectedSubject?: string; code: string }>()).filter((data) => data.rejectedEventId === event.id);
      return mine.length === 2 ? mine : undefined;
    }, 10_000, 'an EventRejected from each consumer');
    for (const notice of notices) {
      assert.equal(notice.rejectedType, ClusterRequested.type);
      assert.equal(notice.rejectedSubject, 'Not A Cluster');
    }
    assert.equal(await handled(probe, 'Not A Cluster'), undefined);
    const projected = await projectionProbe.query<unknown[]>(`SELECT 1 FROM projected WHERE event_id = $1`, [event.id]);
    assert.equal(projected.length, 0, 'the catch-all consumer refused it too');
  });

  it('refuses an id reused with another payload as a conflict; a true duplicate is dropped quietly', async () => {
    const subject = eventsSubject(options, ClusterRequested.channel);
    const original = createEvent(ClusterRequested, { subject: 'conflict-a', source: '/tests/outside-publisher' }, clusterSpec('conflict-a'));
    await publishEvent(bus.js, subject, original);
    await eventually(async () => handled(probe, 'conflict-a'));

    // Published under other NATS message ids, so JetStream's de-duplication lets both through.
    const republish = async (event: CloudEvent, msgID: string) => {
      await bus.js.publish(subject, JSON.stringify(event.data), { headers: binaryHeadersOf(event), msgID });
    };
    await republish(original, `${original.id}-again`);
    await republish({ ...original, data: { ...original.data, name: 'someone-else' } }, `${original.id}-changed`);
    await republish({ ...original, time: new Date(Date.parse(original.time) + 1000).toISOString() }, `${original.id}-later`);

    const letters = await eventually(async () => {
      const all = await readStream(bus.jsm, streamName(options, 'dlq')).catch(() => []);
      const mine = all.filter((letter) => letter.headers['ce-id'] === original.id && letter.headers[DEAD_LETTER_HEADERS.consumer] === 'ledger__cluster_requested_v1');
      return mine.length >= 1 ? mine : undefined;
    }, 10_000, 'the conflicting delivery dead-lettered');
    assert.equal(letters[0]!.headers[DEAD_LETTER_HEADERS.code], 'id-conflict');
    assert.match(letters[0]!.headers[DEAD_LETTER_HEADERS.reason] ?? '', /already taken by an event with another payload/);

    const notice = await eventually(async () => {
      const all = await readStream(bus.jsm, streamName(options, 'events'), eventsSubject(options, EventRejected.channel));
      return all.map((m) => m.json<{ rejectedEventId: string; code: string; consumer: string; rejectedSubject?: string }>()).find((data) => data.rejectedEventId === original.id && data.consumer === 'ledger__cluster_requested_v1');
    });
    assert.equal(notice.code, 'id-conflict');
    assert.equal(notice.rejectedSubject, 'conflict-a');

    // Every copy was settled: nothing left pending, only one dead letter, and the effect applied once.
    await eventually(async () => {
      const info = await bus.jsm.consumers.info(streamName(options, 'events'), 'ledger__cluster_requested_v1');
      return info.num_ack_pending === 0 && info.num_pending === 0 ? true : undefined;
    });
    const all = await readStream(bus.jsm, streamName(options, 'dlq'));
    assert.equal(all.filter((letter) => letter.headers['ce-id'] === original.id && letter.headers[DEAD_LETTER_HEADERS.consumer] === 'ledger__cluster_requested_v1').length, 1);
    assert.deepEqual(await handled(probe, 'conflict-a'), { times: 1 });
  });

  it('refuses the later of two events sharing an id when they arrive together', async () => {
    const subject = eventsSubject(options, ClusterRequested.channel);
    const first = createEvent(ClusterRequested, { subject: 'conflict-b', source: '/tests/outside-publisher' }, clusterSpec('conflict-b'));
    const second = { ...first, data: clusterSpec('conflict-b-renamed') };
    await publishEvent(bus.js, subject, first);
    await bus.js.publish(subject, JSON.stringify(second.data), { headers: binaryHeadersOf(second), msgID: `${first.id}-second` });
    const letter = await eventually(async () => {
      const all = await readStream(bus.jsm, streamName(options, 'dlq')).catch(() => []);
      return all.find((m) => m.headers['ce-id'] === first.id && m.headers[DEAD_LETTER_HEADERS.consumer] === 'ledger__cluster_requested_v1');
    });
    assert.equal(letter.headers[DEAD_LETTER_HEADERS.code], 'id-conflict');
    assert.equal(letter.json<{ name: string }>().name, 'conflict-b-renamed', 'stream order: the later one is the conflict');
    assert.deepEqual(await handled(probe, 'conflict-b'), { times: 1 });
  });
});

/** Binary-mode headers without Nats-Msg-Id: the caller picks the message id JetStream de-duplicates on. */
function binaryHeadersOf(event: CloudEvent): ReturnType<typeof natsHeaders> {
  const headers = natsHeaders();
  for (const [key, value] of Object.entries({ 'ce-specversion': '1.0', 'ce-id': event.id, 'ce-source': event.source, 'ce-type': event.type, 'ce-subject': event.subject, 'ce-time': event.time, 'content-type': 'application/json' })) {
    headers.set(key, value);
  }
  return headers;
}
