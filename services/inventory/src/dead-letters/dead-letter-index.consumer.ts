import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { deadLetterSubject, INVENTORY_DEAD_LETTERS_DURABLE, streamName } from '@flotilla/contracts';
import { BUS_OPTIONS, BusConnection, ensureStreams, type BusOptions } from '@flotilla/messaging';
import { PeriodicTask } from '@flotilla/service-kit';
import type { JsMsg } from '@nats-io/jetstream';
import { DataSource } from 'typeorm';
import { StreamFollower } from '../streams/stream-follower.js';
import { describeDeadLetter } from './dead-letter-record.js';

/** As long as the dead-letter stream keeps them (its max age). */
const DEAD_LETTER_RETENTION_DAYS = 30;

/**
 * Indexes every service's dead letters (`<prefix>.dlq.>`) into the inventory's `dead_letters`
 * table, for `GET /api/v1/dead-letters`; the letters themselves stay in the stream, from where a
 * replay reads them. Each is stored once, whatever is delivered twice.
 */
@Injectable()
export class DeadLetterIndexConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('DeadLetterIndex');
  private readonly follower: StreamFollower;
  private readonly pruning = new PeriodicTask('dead-letter index pruning', 3_600_000, () => this.prune(), this.logger);

  constructor(
    @Inject(BusConnection) private readonly bus: BusConnection,
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(BUS_OPTIONS) private readonly options: BusOptions,
  ) {
    const followed = { stream: streamName(options, 'dlq'), durable: INVENTORY_DEAD_LETTERS_DURABLE, filterSubject: deadLetterSubject(options, '>'), what: 'dead letter' };
    this.follower = new StreamFollower(bus, followed, (message) => this.store(message), this.logger);
  }

  async onApplicationBootstrap(): Promise<void> {
    await ensureStreams(this.bus.jsm, this.options);
    this.follower.start();
    this.pruning.start();
  }

  private async store(message: JsMsg): Promise<void> {
    const deadLetteredAt = new Date(Math.floor(Number(message.info.timestampNanos) / 1_000_000));
    const row = describeDeadLetter(message.seq, message.subject, message.headers, message.data, deadLetteredAt);
    // A sequence seen before with another time is a new letter in a stream that was recreated: it replaces the stale row.
    await this.dataSource.query(
      `INSERT INTO dead_letters (sequence, service, consumer, code, reason, deliveries, event_id, event_type, event_subject, event_time, original_subject, dead_lettered_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (sequence) DO UPDATE SET service = EXCLUDED.service, consumer = EXCLUDED.consumer, code = EXCLUDED.code, reason = EXCLUDED.reason,
         deliveries = EXCLUDED.deliveries, event_id = EXCLUDED.event_id, event_type = EXCLUDED.event_type, event_subject = EXCLUDED.event_subject,
         event_time = EXCLUDED.event_time, original_subject = EXCLUDED.original_subject, dead_lettered_at = EXCLUDED.dead_lettered_at,
         replayed_at = NULL, replayed_by = NULL
       WHERE dead_letters.dead_lettered_at <> EXCLUDED.dead_lettered_at`,
      [row.sequence, row.service, row.consumer, row.code, row.reason, row.deliveries, row.event_id, row.event_type, row.event_subject, row.event_time, row.original_subject, row.dead_lettered_at],
    );
  }

  /** Forgets letters the stream no longer keeps. */
  async prune(olderThanDays = DEAD_LETTER_RETENTION_DAYS): Promise<number> {
    const [, count] = await this.dataSource.query<[unknown[], number]>(`DELETE FROM dead_letters WHERE dead_lettered_at < now() - make_interval(days => $1)`, [olderThanDays]);
    return count;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pruning.stop();
    await this.follower.stop();
  }
}
