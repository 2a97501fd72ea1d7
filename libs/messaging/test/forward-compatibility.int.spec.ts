import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterRequested, DEAD_LETTER_HEADERS, EventRejected, eventsSubject, streamName, type CloudEvent } from '@flotilla/contracts';
import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { register } from 'prom-client';
import { type MigrationInterface, type QueryRunner } from 'typeorm';
import { ALL_EVENTS, UnitOfWork } from '../src/index.js';
import { eventually } from '../src/testing/index.js';
import { useBusFixture } from './support/bus-fixture.js';
import { closeHandlerApp, startHandlerApp } from './support/handler-app.js';
import { clusterSpec, requestCluster } from './support/requests.js';
import { readStream } from './support/streams.js';

class ProjectedTables1732300000005 implements MigrationInterface {
  name = 'ProjectedTables1732300000005';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE projected (event_id text PRIMARY KEY, type text NOT NULL)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE projected`);
  }
}

/** A catch-all read model, as the inventory's. */
@Controller()
class Projection {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @EventPattern(ALL_EVENTS, { batch: true })
  async project(@Payload() events: CloudEvent[]): Promise<void> {
    await this.unitOfWork.manager.query(`INSERT INTO projected (event_id, type) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, [
      events.map((event) => event.id),
      events.map((event) => event.type),
    ]);
  }
}

async function consumedCount(consumer: string, outcome: string): Promise<number> {
  const metric = await register.getSingleMetric('flotilla_events_consumed_total')?.get();
  return metric?.values.find((value) => value.labels['consumer'] === consumer && value.labels['outcome'] === outcome)?.value ?? 0;
}

describe('forward compatibility: event types and versions a consumer does not know', { timeout: 60_000 }, () => {
  const fixture = useBusFixture('forward-compat-int-test', [ProjectedTables1732300000005], { service: 'fwdcompat', maxDeliver: 3, retry: { baseDelayMs: 50, maxDelayMs: 200 } });

  /** An event as a newer producer would publish it: its type on its own channel. */
  async function publishAs(type: string, channel: string, id: string): Promise<void> {
    const headers = natsHeaders();
    for (const [key, value] of Object.entries({ 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/newer-producer', 'ce-type': type, 'ce-subject': 'edge-1', 'ce-time': new Date().toISOString(), 'content-type': 'application/json' })) {
      headers.set(key, value);
    }
    await fixture.bus.js.publish(eventsSubject(fixture.options, channel), JSON.stringify(clusterSpec('edge-1')), { headers, msgID: id });
  }

  it('acknowledges and counts a new type, dead-letters an unknown version with its reason, and keeps projecting', async () => {
    const consumer = 'fwdcompat__all';
    const skippedBefore = await consumedCount(consumer, 'unknown-type');
    const app = await startHandlerApp(fixture.schema, fixture.options, [Projection]);
    try {
      await publishAs('io.flotilla.cluster.hibernated.v1', 'cluster.hibernated.v1', 'newer-type');
      await publishAs('io.flotilla.cluster.requested.v2', 'cluster.requested.v2', 'newer-version');
      await requestCluster(fixture.bus, fixture.options, 'known');

      const projectedOf = async (type: string) => (await fixture.probe.query<unknown[]>(`SELECT 1 FROM projected WHERE type = $1`, [type])).length;
      await eventually(async () => ((await projectedOf(ClusterRequested.type)) === 1 ? true : undefined), 15_000, 'the known event projected');
      // The unknown version's EventRejected is a known type: projected like any other.
      await eventually(async () => ((await projectedOf(EventRejected.type)) >= 1 ? true : undefined), 15_000, 'its EventRejected projected');
      const deadLetters = await eventually(async () => {
        const letters = await readStream(fixture.bus.jsm, streamName(fixture.options, 'dlq')).catch(() => []);
        return letters.length >= 1 ? letters : undefined;
      }, 15_000, 'the unknown version dead-lettered');
      assert.deepEqual(
        deadLetters.map((letter) => letter.headers['ce-id']),
        ['newer-version'],
        'only the unknown version is dead-lettered, never the new type',
      );
      assert.equal(deadLetters[0]!.headers[DEAD_LETTER_HEADERS.code], 'unknown-type');
      assert.match(deadLetters[0]!.headers[DEAD_LETTER_HEADERS.reason] ?? '', /version 2 of cluster\.requested is not known to this consumer \(it knows v1\)/);

      assert.equal(await consumedCount(consumer, 'unknown-type'), skippedBefore + 1, 'the new type is counted');
      const projected = await fixture.probe.query<{ type: string }[]>(`SELECT DISTINCT type FROM projected ORDER BY type`);
      assert.deepEqual(projected.map((row) => row.type), [ClusterRequested.type, EventRejected.type], 'the handler never sees a type it cannot read');
      // Acknowledged, not left to come back after ack_wait.
      await eventually(async () => {
        const info = await fixture.bus.jsm.consumers.info(streamName(fixture.options, 'events'), consumer);
        return info.num_ack_pending === 0 && info.num_pending === 0 ? true : undefined;
      }, 10_000, 'nothing left pending');
      assert.equal(ClusterRequested.version, 1, 'the catalogue knows v1 only, which this test relies on');
    } finally {
      await closeHandlerApp(app);
    }
  });
});
