import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ClusterRequested, eventsStreamSettings, type EventOf } from '@flotilla/contracts';
import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { register } from 'prom-client';
import { inboxRetentionMs, OnEvent, pruneInbox } from '../src/index.js';
import { eventually } from '../src/testing/index.js';
import { useBusFixture } from './support/bus-fixture.js';
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
  const fixture = useBusFixture('retention-int-test', [], { service: 'retention', handlerTimeoutMs: 25_000 });

  after(() => {
    letGo();
  });

  it('keeps inbox ids as long as the stream may deliver their event, then forgets them a bounded batch at a time', async () => {
    const retention = inboxRetentionMs(eventsStreamSettings(fixture.options));
    assert.ok(retention >= 7 * 86_400_000, 'at least the events stream max age');
    const insert = (id: string, ageMs: number) =>
      fixture.probe.query(`INSERT INTO inbox (consumer, event_id, digest, processed_at) VALUES ('c', $1, 'd', now() - ($2::bigint * interval '1 millisecond'))`, [id, ageMs]);
    for (const id of ['expired-1', 'expired-2', 'expired-3']) await insert(id, retention + 60_000);
    await insert('within-max-age', retention - 60_000);
    await insert('fresh', 0);

    const runner = fixture.probe.createQueryRunner();
    try {
      assert.equal(await pruneInbox(runner, retention, 2), 2, 'one round deletes at most its limit');
    } finally {
      await runner.release();
    }
    // The relay prunes on its own, now and then (first round at start).
    const app = await startHandlerApp(fixture.schema, fixture.options, [SlowHandler]);
    try {
      const kept = await eventually(async () => {
        const rows = await fixture.probe.query<{ event_id: string }[]>(`SELECT event_id FROM inbox WHERE consumer = 'c' ORDER BY event_id`);
        return rows.length === 2 ? rows.map((row) => row.event_id) : undefined;
      }, 10_000, 'the expired ids pruned');
      assert.deepEqual(kept, ['fresh', 'within-max-age']);
    } finally {
      await closeHandlerApp(app);
    }
  });

  it('reports the age of the oldest message a consumer has not settled, and 0 once it has caught up', async () => {
    const consumer = 'retention__cluster_requested_v1';
    const app = await startHandlerApp(fixture.schema, fixture.options, [SlowHandler]);
    try {
      await requestCluster(fixture.bus, fixture.options, 'stuck-behind', 'slow-1');
      await requestCluster(fixture.bus, fixture.options, 'waiting');
      // Reported every 5 s: the held message ages between two reports.
      await eventually(async () => ((await oldestPendingAge(consumer)) ?? 0) >= 2 ? true : undefined, 15_000, 'the oldest held message ageing');
      letGo();
      await eventually(async () => ((await oldestPendingAge(consumer)) === 0 ? true : undefined), 15_000, 'no message held once caught up');
    } finally {
      await closeHandlerApp(app);
    }
  });
});
