import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterRequested, DEAD_LETTER_HEADERS, EventRejected, eventsSubject, NodesProvisioned, streamName, type EventOf } from '@flotilla/contracts';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { register } from 'prom-client';
import { OnEvent, OutboxRelay, UnitOfWork } from '../src/index.js';
import { eventually } from '../src/testing/index.js';
import { useBusFixture } from './support/bus-fixture.js';
import { closeHandlerApp, startHandlerApp } from './support/handler-app.js';
import { requestCluster } from './support/requests.js';
import { readStream } from './support/streams.js';

/** `huge-*` emits an event over the bus's limit; every other request emits a small one. */
@Controller()
class Emitter {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @OnEvent(ClusterRequested)
  onRequested(@Payload() event: EventOf<typeof ClusterRequested>): void {
    if (event.data.name.startsWith('huge')) {
      const notice = { rejectedEventId: event.id, code: 'unparseable', reason: 'x'.repeat(300 * 1024), consumer: 'c', deadLetterSubject: 'd' } as const;
      this.unitOfWork.emit(EventRejected, event.subject, notice);
      return;
    }
    this.unitOfWork.emit(NodesProvisioned, event.subject, { model: 'platform-provisioned', nodes: [{ name: `${event.data.name}-node`, role: 'worker', addresses: [] }] });
  }
}

async function parkedGauge(): Promise<number> {
  return (await register.getSingleMetric('flotilla_outbox_parked')?.get())?.values[0]?.value ?? 0;
}

describe('the outbox never stalls', { timeout: 90_000 }, () => {
  const fixture = useBusFixture('outbox-limits-int-test', [], {
    service: 'outboxlimits',
    maxDeliver: 3,
    retry: { baseDelayMs: 50, maxDelayMs: 200 },
    relayGraceMs: 0,
    relayPollMs: 100,
    relayMaxAttempts: 3,
  });

  it('refuses an oversized event when the handler emits it: the cause is dead-lettered with that reason at once, no row is written', async () => {
    const app = await startHandlerApp(fixture.schema, fixture.options, [Emitter]);
    try {
      await requestCluster(fixture.bus, fixture.options, 'big-one', 'huge-1');
      await requestCluster(fixture.bus, fixture.options, 'small-one', 'small-1');
      const letters = await eventually(async () => {
        const read = await readStream(fixture.bus.jsm, streamName(fixture.options, 'dlq')).catch(() => []);
        return read.length >= 1 ? read : undefined;
      }, 15_000, 'the oversized emit dead-lettered');
      assert.equal(letters.length, 1);
      assert.equal(letters[0]!.headers['ce-subject'], 'big-one');
      assert.equal(letters[0]!.headers[DEAD_LETTER_HEADERS.deliveries], '1', 'dead-lettered on its first delivery, never retried');
      assert.match(letters[0]!.headers[DEAD_LETTER_HEADERS.reason] ?? '', /^event-too-large: EventRejected is \d+ bytes, over the bus's limit of 262144 bytes per event/);
      await eventually(async () => {
        const read = await readStream(fixture.bus.jsm, streamName(fixture.options, 'events'), eventsSubject(fixture.options, NodesProvisioned.channel));
        return read.some((message) => message.headers['ce-subject'] === 'small-one') ? true : undefined;
      }, 15_000, "the other request's event published");
      const rows = await fixture.probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM outbox WHERE length(payload) > 200000`);
      assert.equal(rows[0]?.n, 0, 'no oversized row ever reached the outbox');
    } finally {
      await closeHandlerApp(app);
    }
  });

  it('parks a row the bus keeps refusing, with its reason, and publishes the rows behind it meanwhile', async () => {
    const app = await startHandlerApp(fixture.schema, fixture.options, [Emitter]);
    const insert = (id: string, payload: string) =>
      fixture.probe.query(`INSERT INTO outbox (event_id, subject, headers, payload) VALUES ($1, $2, '{}'::jsonb, $3)`, [id, eventsSubject(fixture.options, NodesProvisioned.channel), payload]);
    const published = async (id: string) => (await fixture.probe.query<{ published: boolean }[]>(`SELECT published_at IS NOT NULL AS published FROM outbox WHERE event_id = $1`, [id]))[0]?.published;
    try {
      // Written by an older version, before emit checked sizes: over the server's max_payload.
      await insert('too-big-for-nats', 'x'.repeat(1536 * 1024));
      await insert('behind-1', '{}');
      await eventually(async () => ((await published('behind-1')) ? true : undefined), 10_000, 'the row behind published');
      const parked = await eventually(async () => {
        const rows = await fixture.probe.query<{ attempts: number; last_error: string }[]>(`SELECT attempts, last_error FROM outbox WHERE event_id = 'too-big-for-nats' AND parked_at IS NOT NULL`);
        return rows[0];
      }, 15_000, 'the refused row parked');
      assert.equal(parked.attempts, 3);
      assert.match(parked.last_error, /max_payload/);
      // Parked: skipped from now on, and rows written after it go out without delay.
      await insert('behind-2', '{}');
      await eventually(async () => ((await published('behind-2')) ? true : undefined), 3_000, 'a later row published promptly');
      const attemptsLater = await fixture.probe.query<{ attempts: number }[]>(`SELECT attempts FROM outbox WHERE event_id = 'too-big-for-nats'`);
      assert.equal(attemptsLater[0]?.attempts, 3, 'a parked row is not tried again');
      await app.get(OutboxRelay).backlog();
      assert.equal(await parkedGauge(), 1);
    } finally {
      await closeHandlerApp(app);
    }
  });
});
