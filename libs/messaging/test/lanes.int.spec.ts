import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterRequested, type EventOf } from '@flotilla/contracts';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { BusConnection, busOptions, ensureStreams, MESSAGING_MIGRATIONS, OnEvent, UnitOfWork, type BusOptions } from '../src/index.js';
import { createTestSchema, deleteTestStreams, eventually, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix, type TestSchema } from '../src/testing/index.js';
import { closeHandlerApp, startHandlerApp } from './support/handler-app.js';
import { requestCluster } from './support/requests.js';

class HandledTables1732300000002 implements MigrationInterface {
  name = 'HandledTables1732300000002';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE handled (seq bigserial PRIMARY KEY, cluster_id text NOT NULL, name text NOT NULL)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE handled`);
  }
}

/** Handlers in flight at once, across the consumer's lanes. */
const inFlight = { now: 0, most: 0 };

@Controller()
class RecordingHandlers {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @OnEvent(ClusterRequested)
  async onClusterRequested(@Payload() event: EventOf<typeof ClusterRequested>): Promise<void> {
    inFlight.now += 1;
    inFlight.most = Math.max(inFlight.most, inFlight.now);
    try {
      // Slow enough that lanes overlap; `seq` numbers the handling order across lanes.
      await this.unitOfWork.manager.query(`SELECT pg_sleep(0.002)`);
      await this.unitOfWork.manager.query(`INSERT INTO handled (cluster_id, name) VALUES ($1, $2)`, [event.subject, event.data.name]);
    } finally {
      inFlight.now -= 1;
    }
  }
}

describe('a consumer with several lanes', { timeout: 60_000 }, () => {
  let bus: BusConnection;
  let schema: TestSchema;
  let probe: DataSource;
  let options: BusOptions;

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'lanes-int-test');
    schema = await createTestSchema([...MESSAGING_MIGRATIONS, HandledTables1732300000002]);
    probe = await new DataSource(schema.dataSourceOptions()).initialize();
    // Small batches, so that each lane runs several transactions in turn.
    options = busOptions({ service: 'lanes', prefix: testBusPrefix(), natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES, lanes: 4, batchSize: 10 });
  });

  after(async () => {
    await deleteTestStreams(bus.jsm, options.prefix);
    await probe.destroy();
    await schema.drop();
    await bus.drain();
  });

  it('handles subjects in parallel and the events of each subject in the order they were published', async () => {
    const subjects = Array.from({ length: 8 }, (_, i) => `lane-cluster-${i}`);
    const perSubject = 25;
    // Published before the app starts, interleaved: every lane has a backlog from the first pull.
    await ensureStreams(bus.jsm, options);
    for (let n = 0; n < perSubject; n++) await Promise.all(subjects.map((subject) => requestCluster(bus, options, subject, `${subject}-${n}`)));

    const app = await startHandlerApp(schema, options, [RecordingHandlers]);
    try {
      const total = subjects.length * perSubject;
      await eventually(async () => {
        const rows = await probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM handled`);
        return rows[0]?.n === total ? true : undefined;
      }, 30_000, `all ${total} events handled`);
      const rows = await probe.query<{ cluster_id: string; name: string }[]>(`SELECT cluster_id, name FROM handled ORDER BY seq`);
      for (const subject of subjects) {
        const names = rows.filter((row) => row.cluster_id === subject).map((row) => row.name);
        assert.deepEqual(names, Array.from({ length: perSubject }, (_, n) => `${subject}-${n}`), `events about ${subject} handled in order`);
      }
      assert.ok(inFlight.most > 1, `handlers of different lanes overlapped (at most ${inFlight.most} at once)`);
    } finally {
      await closeHandlerApp(app);
    }
  });
});
