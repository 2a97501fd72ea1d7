import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterRequested, eventsStreamSettings, type EventOf } from '@flotilla/contracts';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { register } from 'prom-client';
import { DataSource } from 'typeorm';
import { BusConnection, busOptions, ensureStreams, inboxRetentionMs, MESSAGING_MIGRATIONS, OnEvent, pruneInbox, type BusOptions } from '../src/index.js';
import { createTestSchema, deleteTestStreams, eventually, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix, type TestSchema } from '../src/testing/index.js';
import { closeHandlerApp, startHandlerApp } from './support/handler-app.js';
import { requestCluster } from './support/requests.js';

/** Holds `slow-*` requests until the test lets them go. */
let letGo: () => void = () => undefined;
const released = new Promise<void>((resolve) => {
  letGo = resolve;
});

@Controller()
class SlowHandler {
  @OnEvent(ClusterRequested)
  async onRequested(@Payload() event: EventOf<typeof ClusterRequested>): Promise<void> {
    if (event.data.name.startsWith('slow')) await released;
  }
}

async function oldestPendingAge(consumer: string): Promise<number | undefined> {
  const metric = await register.getSingleMetric('flotilla_consumer_oldest_pending_age_seconds')?.get();
  return metric?.values.find((value) => value.labels['consumer'] === consumer)?.value;
}

describe('nothing silently discarded', { timeout: 60_000 }, () => {
  let bus: BusConnection;
  let schema: TestSchema;
  let probe: DataSource;
  let options: BusOptions;

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'retention-int-test');
    schema = await createTestSchema([...MESSAGING_MIGRATIONS]);
    probe = await new DataSource(schema.dataSourceOptions()).initialize();
    options = busOptions({ service: 'retention', prefix: testBusPrefix(), natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES, handlerTimeoutMs: 25_000 });
    await ensureStreams(bus.jsm, options);
  });

  after(async () => {
    letGo();
    await deleteTestStreams(bus.jsm, options.prefix);
    await probe.destroy();
    await schema.drop();
    await bus.drain();
  });

  it('keeps inbox ids as long as the stream may deliver their event, then forgets them a bounded batch at a time', async () => {
    const retention = inboxRetentionMs(eventsStreamSettings(options));
    assert.ok(retention >= 7 * 86_400_000, 'at least the events stream max age');
    const insert = (id: string, ageMs: number) =>
      probe.query(`INSERT INTO inbox (consumer, event_id, digest, processed_at) VALUES ('c', $1, 'd', now() - ($2::bigint * interval '1 millisecond'))`, [id, ageMs]);
    for (const id of ['expired-1', 'expired-2', 'expired-3']) await insert(id, retention + 60_000);
    await insert('within-max-age', retention - 60_000);
    await insert('fresh', 0);

    const runner = probe.createQueryRunner();
    try {
      assert.equal(await pruneInbox(runner, retention, 2), 2, 'one round deletes at most its limit');
    } finally {
      await runner.release();
    }
    // The relay prunes on its own, now and then (first round at start).
    const app = await startHandlerApp(schema, options, [SlowHandler]);
    try {
      const kept = await eventually(async () => {
        const rows = await probe.query<{ event_id: string }[]>(`SELECT event_id FROM inbox WHERE consumer = 'c' ORDER BY event_id`);
        return rows.length === 2 ? rows.map((row) => row.event_id) : undefined;
      }, 10_000, 'the expired ids pruned');
      assert.deepEqual(kept, ['fresh', 'within-max-age']);
    } finally {
      await closeHandlerApp(app);
    }
  });

  it('reports the age of the oldest message a consumer has not settled, and 0 once it has caught up', async () => {
    const consumer = 'retention__cluster_requested_v1';
    const app = await startHandlerApp(schema, options, [SlowHandler]);
    try {
      await requestCluster(bus, options, 'stuck-behind', 'slow-1');
      await requestCluster(bus, options, 'waiting');
      // Reported every 5 s: the held message ages between two reports.
      await eventually(async () => ((await oldestPendingAge(consumer)) ?? 0) >= 2 ? true : undefined, 15_000, 'the oldest held message ageing');
      letGo();
      await eventually(async () => ((await oldestPendingAge(consumer)) === 0 ? true : undefined), 15_000, 'no message held once caught up');
    } finally {
      await closeHandlerApp(app);
    }
  });
});
