import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventsSubject, NodesProvisioned, streamName } from '@flotilla/contracts';
import { Controller, Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern } from '@nestjs/microservices';
import { register } from 'prom-client';
import { DataSource } from 'typeorm';
import { MessagingModule, MessagingMetrics, OutboxRelay, startEventConsumers, type OutboxRow } from '../src/index.js';
import { eventually } from '../src/testing/index.js';
import { useBusFixture } from './support/bus-fixture.js';
import { readStream } from './support/streams.js';

const quiet = { warn: () => undefined };

/** Outbox rows every relay of the process has had acknowledged. */
async function publishedCount(): Promise<number> {
  const values = (await register.getSingleMetric('flotilla_events_published_total')?.get())?.values ?? [];
  return values.filter((value) => value.labels['source'] === 'outbox').reduce((sum, value) => sum + value.value, 0);
}

/** Request-reply has no place on the event bus: the transport refuses to start with it. */
@Controller()
class AsksForReplies {
  @MessagePattern('cluster.requested.v1')
  answer(): string {
    return 'no';
  }
}

describe('the outbox relay around its start and stop', { timeout: 60_000 }, () => {
  // A recovery round would take a row only after a minute: what is published sooner came by the fast path.
  const fixture = useBusFixture('relay-start-int-test', [], { service: 'relaystart', relayGraceMs: 60_000, relayPollMs: 100 });

  async function committedRow(eventId: string): Promise<OutboxRow> {
    const row: OutboxRow = { eventId, subject: eventsSubject(fixture.options, NodesProvisioned.channel), headers: { 'ce-id': eventId }, payload: '{}' };
    await fixture.probe.query(`INSERT INTO outbox (event_id, subject, headers, payload) VALUES ($1, $2, $3::jsonb, $4)`, [row.eventId, row.subject, JSON.stringify(row.headers), row.payload]);
    return row;
  }

  /** Waits half a second, then says whether the event reached the stream (a relay would have published it by then). */
  async function publishedWithinHalfASecond(eventId: string): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, 500));
    return inStream(eventId);
  }

  const relayOf = (options = fixture.options) => new OutboxRelay(fixture.probe, fixture.bus.publisher, options, new MessagingMetrics(), quiet);

  const inStream = async (eventId: string) =>
    (await readStream(fixture.bus.jsm, streamName(fixture.options, 'events'), eventsSubject(fixture.options, NodesProvisioned.channel))).some((message) => message.headers['ce-id'] === eventId);

  it('publishes at once, when it starts, what was committed before it started', async () => {
    const relay = relayOf();
    try {
      // A consumer's first batch can commit while the service is still starting.
      relay.publishCommitted([await committedRow('before-start')]);
      relay.start();
      await eventually(async () => ((await inStream('before-start')) ? true : undefined), 10_000, 'the row committed before start published');
      await eventually(
        async () => ((await fixture.probe.query<{ published: boolean }[]>(`SELECT published_at IS NOT NULL AS published FROM outbox WHERE event_id = 'before-start'`))[0]?.published ? true : undefined),
        5_000,
        'the row marked published',
      );
    } finally {
      await relay.stop();
    }
  });

  it('is stopped again when the consumers fail to start', async () => {
    const options = { ...fixture.options, relayGraceMs: 0, relayPollMs: 50 };
    @Global()
    @Module({ providers: [{ provide: DataSource, useValue: fixture.probe }], exports: [DataSource] })
    class DatabaseModule {}
    @Module({ imports: [DatabaseModule, MessagingModule.forRoot(options)], controllers: [AsksForReplies] })
    class RefusedModule {}
    const app = await NestFactory.create(RefusedModule, { logger: false });
    await app.init();
    try {
      await assert.rejects(startEventConsumers(app), /@MessagePattern\('cluster.requested.v1'\) is not supported on the event bus/);
      // A running relay's recovery round would publish this within its 50 ms poll.
      await committedRow('after-failed-start');
      assert.equal(await publishedWithinHalfASecond('after-failed-start'), false, 'no relay left running');
    } finally {
      await app.close();
    }
  });

  it('keeps nothing for a later start of what is committed once it has stopped: a recovery round takes it', async () => {
    const relay = relayOf();
    relay.start();
    await relay.stop();
    relay.publishCommitted([await committedRow('after-stop')]);
    relay.start();
    try {
      assert.equal(await publishedWithinHalfASecond('after-stop'), false, 'a stopped relay kept nothing for its next start');
    } finally {
      // Its shutdown flush publishes every row left (`publishRound(0)`).
      await relay.stop();
    }
  });

  it('forgets what it kept for a start that a stop came before', async () => {
    const relay = relayOf();
    relay.publishCommitted([await committedRow('stopped-unstarted')]);
    await relay.stop();
    relay.start();
    try {
      assert.equal(await publishedWithinHalfASecond('stopped-unstarted'), false);
    } finally {
      await relay.stop();
    }
  });

  it('leaves to the recovery round, once, a row kept past the grace before it started', async () => {
    const options = { ...fixture.options, relayGraceMs: 300, relayPollMs: 50 };
    const relay = relayOf(options);
    const before = await publishedCount();
    relay.publishCommitted([await committedRow('kept-past-grace')]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    relay.start();
    try {
      await eventually(async () => ((await inStream('kept-past-grace')) ? true : undefined), 10_000, 'the row published by a recovery round');
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Both publishing it would count two (JetStream acks the copy as a duplicate).
      assert.equal((await publishedCount()) - before, 1, 'published once');
    } finally {
      await relay.stop();
    }
  });
});
