import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ClusterRequested, DEAD_LETTER_HEADERS, streamName, type EventOf } from '@flotilla/contracts';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { type MigrationInterface, type QueryRunner } from 'typeorm';
import { OnEvent, UnitOfWork } from '../src/index.js';
import { eventually } from '../src/testing/index.js';
import { useBusFixture } from './support/bus-fixture.js';
import { closeHandlerApp, startHandlerApp } from './support/handler-app.js';
import { requestCluster } from './support/requests.js';
import { readStream } from './support/streams.js';

class EffectsTable1732300000006 implements MigrationInterface {
  name = 'EffectsTable1732300000006';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE effects (cluster_id text PRIMARY KEY)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE effects`);
  }
}

/** Handlers stuck past the bound wait here until the test lets them go. */
let letStuckGo: () => void = () => undefined;
const stuckReleased = new Promise<void>((resolve) => {
  letStuckGo = resolve;
});
let stuckAttempts = 0;
let lateStatementFailed = false;

/** `stuck-*` writes its effect, then never finishes in time; every other request writes its effect. */
@Controller()
class SometimesStuck {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @OnEvent(ClusterRequested)
  async onRequested(@Payload() event: EventOf<typeof ClusterRequested>): Promise<void> {
    const { manager } = this.unitOfWork;
    await manager.query(`INSERT INTO effects (cluster_id) VALUES ($1)`, [event.subject]);
    if (!event.data.name.startsWith('stuck')) return;
    stuckAttempts += 1;
    await stuckReleased;
    // Its transaction was cut meanwhile: nothing it does now may land.
    await manager.query(`INSERT INTO effects (cluster_id) VALUES ($1)`, [`${event.subject}-late`]).catch(() => {
      lateStatementFailed = true;
    });
  }
}

describe('a handler past its bound', { timeout: 60_000 }, () => {
  // One transaction slot in the whole process: a stuck handler holding it would stop everything.
  const fixture = useBusFixture('handler-timeout-int-test', [EffectsTable1732300000006], {
    service: 'stuck',
    lanes: 1,
    maxConcurrentBatches: 1,
    handlerTimeoutMs: 400,
    maxDeliver: 2,
    retry: { baseDelayMs: 50, maxDelayMs: 100 },
  });

  after(() => {
    letStuckGo();
  });

  it('is cut: its effect rolled back, its message retried then dead-lettered, and the others proceed', async () => {
    const app = await startHandlerApp(fixture.schema, fixture.options, [SometimesStuck]);
    try {
      await requestCluster(fixture.bus, fixture.options, 'before');
      await requestCluster(fixture.bus, fixture.options, 'jammed', 'stuck-1');
      for (const id of ['after-1', 'after-2', 'after-3']) await requestCluster(fixture.bus, fixture.options, id);

      const effects = async () => (await fixture.probe.query<{ cluster_id: string }[]>(`SELECT cluster_id FROM effects ORDER BY cluster_id`)).map((row) => row.cluster_id);
      await eventually(async () => ((await effects()).length === 4 ? true : undefined), 15_000, 'the other requests handled');
      const letters = await eventually(async () => {
        const read = await readStream(fixture.bus.jsm, streamName(fixture.options, 'dlq')).catch(() => []);
        return read.length >= 1 ? read : undefined;
      }, 15_000, 'the stuck request dead-lettered');
      assert.equal(letters[0]!.headers['ce-subject'], 'jammed');
      assert.equal(letters[0]!.headers[DEAD_LETTER_HEADERS.code], 'max-deliveries-exceeded');
      assert.match(letters[0]!.headers[DEAD_LETTER_HEADERS.reason] ?? '', /took longer than 400 ms and was cut/);
      assert.equal(letters[0]!.headers[DEAD_LETTER_HEADERS.deliveries], '2', 'redelivered once, then dead-lettered');
      // Its first delivery may have come in a batch, which is then retried event by event.
      assert.ok(stuckAttempts >= 2 && stuckAttempts <= 3, `${stuckAttempts} attempts`);
      assert.deepEqual(await effects(), ['after-1', 'after-2', 'after-3', 'before'], 'the stuck handler left no effect');

      letStuckGo();
      await eventually(() => (lateStatementFailed ? true : undefined), 5_000, "the cut handler's late statement refused");
      assert.deepEqual(await effects(), ['after-1', 'after-2', 'after-3', 'before']);
    } finally {
      await closeHandlerApp(app);
    }
  });
});
