import { JetStreamApiError } from '@nats-io/jetstream';
import { InvalidArgumentError } from '@nats-io/transport-node';
import { eventsStreamSettings } from '@flotilla/contracts';
import type { DataSource } from 'typeorm';
import type { JetStreamPublishing } from '../acked-publisher.js';
import { describeError } from '../errors.js';
import { inboxRetentionMs, pruneInbox } from '../inbox/inbox-store.js';
import type { MessagingMetrics } from '../metrics.js';
import type { BusOptions } from '../options.js';
import { publishEncoded } from '../publisher.js';
import { countParked, countUnpublished, lockUnpublished, markFailed, markPublished, markPublishedByEventId, markRefused, prunePublished, type OutboxRow, type RowFailure } from './outbox-store.js';

export interface RelayLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
}

const PUBLISHED_RETENTION_MS = 60 * 60 * 1000;
/** Inbox rows forgotten per pruning round (once a minute): a bounded delete, never a long one. */
const INBOX_PRUNE_LIMIT = 10_000;
/** Rows kept for a relay not started yet: beyond, they wait for a recovery round. */
const WAITING_FOR_START_LIMIT = 1_000;

/**
 * Publishes committed outbox rows, two ways:
 * - fast path: rows a transaction of this process just committed are published at once, pipelined,
 *   each ack awaited, then marked published;
 * - recovery: a polling round locks rows older than `relayGraceMs` (left by a crash, a failed
 *   publish or a replica that died), publishes them and marks them in the same transaction;
 *   other replicas skip locked rows.
 * Killed after publishing and before marking, rows are published again with the same
 * `Nats-Msg-Id` and JetStream drops the duplicates.
 */
export class OutboxRelay {
  private state: 'not started' | 'running' | 'stopped' = 'not started';
  private stopping: Promise<void> | undefined;
  /** When the first row kept for `start` was committed. */
  private waitingSince: number | undefined;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private pendingWake = false;
  private lastPrune = 0;
  private fresh: OutboxRow[] = [];
  private fastLane: Promise<void> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    /** `BusConnection.publisher` in services (no request object per publish); a `JetStreamClient` does too. */
    private readonly js: JetStreamPublishing,
    private readonly options: Pick<BusOptions, 'prefix' | 'relayBatchSize' | 'relayPollMs' | 'relayGraceMs' | 'relayMaxAttempts'>,
    private readonly metrics: MessagingMetrics,
    private readonly logger: RelayLogger,
    /** Fault injection, for tests that kill the relay between publish and mark-published. */
    private readonly faults: { afterPublish?: () => void | Promise<void> } = {},
  ) {}

  start(): void {
    if (this.state === 'running') return;
    this.state = 'running';
    this.stopping = undefined;
    this.loop = this.run();
    // Committed before the relay started (requests may commit during start-up). Kept past the
    // grace, they are the recovery round's: another replica's may have published them already.
    if (this.waitingSince !== undefined && Date.now() - this.waitingSince > this.options.relayGraceMs) this.fresh.length = 0;
    this.waitingSince = undefined;
    if (this.fresh.length > 0) this.startFastLane();
  }

  /** Something was committed: publish it now rather than at the next poll. */
  wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }

  /**
   * Rows this process just committed: publish them now, without waiting for a polling round.
   * Before `start` they wait for it; after `stop` they are left to a recovery round (this
   * process's last one, or another replica's), since the rows are in the outbox either way.
   */
  publishCommitted(rows: readonly OutboxRow[]): void {
    if (this.state === 'running') {
      this.fresh.push(...rows);
      this.startFastLane();
      return;
    }
    if (this.state === 'stopped' || this.fresh.length + rows.length > WAITING_FOR_START_LIMIT) {
      this.wake();
      return;
    }
    this.waitingSince ??= Date.now();
    this.fresh.push(...rows);
  }

  private startFastLane(): void {
    this.fastLane ??= this.publishFresh().finally(() => {
      this.fastLane = undefined;
      // Rows committed while the lane was finishing its last mark.
      if (this.state === 'running' && this.fresh.length > 0) this.startFastLane();
    });
  }

  /**
   * Stops after publishing what is already committed (bounded by `timeoutMs`); a second call
   * waits for the first. Stopped before it started, it forgets the rows kept for the start.
   */
  stop(timeoutMs = 10_000): Promise<void> {
    if (this.state === 'running') {
      this.state = 'stopped';
      this.stopping = this.finish(timeoutMs);
    } else if (!this.stopping) {
      this.state = 'stopped';
      this.fresh.length = 0;
      this.waitingSince = undefined;
    }
    return this.stopping ?? Promise.resolve();
  }

  private async finish(timeoutMs: number): Promise<void> {
    this.wakeUp?.();
    await this.loop;
    while (this.fastLane) await this.fastLane;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        if ((await this.publishRound(0)) === 0) break;
      } catch (error) {
        this.logger.warn('outbox flush failed during shutdown', { error: describeError(error) });
        break;
      }
    }
  }

  private async publishFresh(): Promise<void> {
    // Rows are marked while the next ones are published: the mark is off the publishing path.
    let marking: Promise<void> = Promise.resolve();
    for (;;) {
      if (this.fresh.length === 0) {
        await marking;
        if (this.fresh.length === 0) return;
      }
      const rows = this.fresh.splice(0, this.options.relayBatchSize);
      const results = await Promise.allSettled(rows.map((row) => publishEncoded(this.js, row)));
      const published = rows.filter((_, index) => results[index]!.status === 'fulfilled').map((row) => row.eventId);
      await this.faults.afterPublish?.();
      this.metrics.published.inc({ source: 'outbox' }, published.length);
      if (published.length < rows.length) {
        const failure = results.find((result) => result.status === 'rejected');
        this.logger.warn('outbox publish failed; the recovery round retries it', { failed: rows.length - published.length, error: describeError(failure?.reason) });
      }
      await marking;
      marking = this.markFreshPublished(published);
    }
  }

  private async markFreshPublished(eventIds: readonly string[]): Promise<void> {
    if (eventIds.length === 0) return;
    const runner = this.dataSource.createQueryRunner();
    try {
      await markPublishedByEventId(runner, eventIds);
    } catch (error) {
      // Published but not marked: the recovery round publishes them again, and JetStream drops the copies.
      this.logger.warn('could not mark published outbox rows', { error: describeError(error) });
    } finally {
      await runner.release();
    }
  }

  /** One recovery round over rows at least `minAgeMs` old: returns the number published. */
  async publishRound(minAgeMs = this.options.relayGraceMs): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const rows = await lockUnpublished(runner, this.options.relayBatchSize, minAgeMs);
      if (rows.length === 0) {
        await runner.commitTransaction();
        return 0;
      }
      const results = await Promise.allSettled(rows.map((row) => publishEncoded(this.js, { ...row })));
      const published: string[] = [];
      const failed: string[] = [];
      const refused: RowFailure[] = [];
      let firstError: unknown;
      results.forEach((result, index) => {
        const seq = rows[index]!.seq;
        if (result.status === 'fulfilled') published.push(seq);
        else if (refusedForItself(result.reason)) refused.push({ seq, error: describeError(result.reason) });
        else {
          failed.push(seq);
          firstError ??= result.reason;
        }
      });
      await this.faults.afterPublish?.();
      await markPublished(runner, published);
      await markFailed(runner, failed, describeError(firstError));
      // Refusals count against their row only, and a row refused too often is parked, so a bad
      // row never holds back (nor backs off) the ones behind it; an outage parks nothing.
      const parked = await markRefused(runner, refused, this.options.relayMaxAttempts);
      await runner.commitTransaction();
      this.metrics.published.inc({ source: 'outbox' }, published.length);
      for (const row of parked) {
        this.logger.warn('outbox row parked: the bus refused it on every attempt', { seq: row.seq, eventId: row.eventId, subject: row.subject, attempts: row.attempts, reason: row.error });
      }
      if (parked.length > 0) this.metrics.outboxParked.inc(parked.length);
      if (failed.length > 0) throw new Error(`${failed.length} of ${rows.length} outbox rows not acknowledged: ${describeError(firstError)}`);
      return published.length;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw error;
    } finally {
      await runner.release();
    }
  }

  async backlog(): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const count = await countUnpublished(runner);
      this.metrics.outboxBacklog.set(count);
      this.metrics.outboxParked.set(await countParked(runner));
      return count;
    } finally {
      await runner.release();
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.state === 'running') {
      this.pendingWake = false;
      let published = 0;
      try {
        published = await this.publishRound();
        failures = 0;
        await this.pruneNowAndThen();
      } catch (error) {
        failures += 1;
        this.logger.warn('outbox relay round failed; will retry', { error: describeError(error), failures });
      }
      if (this.state !== 'running') break;
      if (published > 0 && failures === 0) continue;
      const delay = failures > 0 ? Math.min(30_000, 250 * 2 ** Math.min(failures, 7)) : this.options.relayPollMs;
      if (failures === 0 && this.pendingWake) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async pruneNowAndThen(): Promise<void> {
    if (Date.now() - this.lastPrune < 60_000) return;
    this.lastPrune = Date.now();
    const runner = this.dataSource.createQueryRunner();
    try {
      await prunePublished(runner, PUBLISHED_RETENTION_MS);
      await pruneInbox(runner, inboxRetentionMs(eventsStreamSettings(this.options)), INBOX_PRUNE_LIMIT);
    } finally {
      await runner.release();
    }
  }
}

/** JetStream's `JSStreamMessageExceedsMaximumErr`: larger than the stream's max_msg_size. */
const MESSAGE_EXCEEDS_MAXIMUM = 10054;

/**
 * The bus refused this row for what it is (over the server's max_payload, over the stream's
 * message size), as opposed to not answering or a missing stream, which are no row's fault.
 */
function refusedForItself(error: unknown): boolean {
  return error instanceof InvalidArgumentError || (error instanceof JetStreamApiError && error.code === MESSAGE_EXCEEDS_MAXIMUM);
}
