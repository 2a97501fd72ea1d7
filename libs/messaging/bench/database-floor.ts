import { hash, randomUUID } from 'node:crypto';
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { MsgHdrsImpl } from '@nats-io/transport-node';
import type pg from 'pg';
import { TurnWrites } from '../src/consumer/pipelining.js';
import { claimInbox, insertOutboxRows, markPublishedByEventId, type JetStreamPublishing, type OutboxRow } from '../src/index.js';
import { PER_EVENT_UPSERT_SQL, SET_BASED_UPSERT_SQL } from './bench-app.js';

/** One statement a batch (`@OnEventBatch`'s), or one an event sent together (`by-subject`'s). */
export type FloorStatements = 'set-based' | 'per-event';

/** Rows published at a time, then marked published in one statement: the relay's `relayBatchSize`. */
const RELAY_BATCH = 500;

/**
 * The raw pipeline with the runtime's database writes and nothing else of the runtime: an
 * estimate, from below, of what a consumer keeping the runtime's promises (an effect once,
 * events published only after their state change committed) pays on this machine. Each step is
 * the runtime's or cheaper:
 * - a batch is one transaction on a pooled connection (the pools' client, pipelined) in three
 *   round trips where the runtime takes four: `BEGIN` with the inbox claim, the state upsert (the
 *   benchmark handler's statements), the outbox rows with the commit;
 * - `lanes` batches run at once, as the runtime's lanes do; an id claimed before is acked unhandled;
 * - after the commit the source messages are acked and, off the lane, one publishing loop (the
 *   relay's fast lane) publishes committed rows with the relay's publisher, up to 500 at a time,
 *   and marks them published while the next ones go out.
 * No decoding, validation, Nest, TypeORM, async context, spans or recovery rounds.
 */
export class DatabaseFloor {
  private messages: ConsumerMessages | undefined;
  private buffer: JsMsg[] = [];
  private running = 0;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  private committed: OutboxRow[] = [];
  private relay: Promise<void> | undefined;
  readonly batchSizes: number[] = [];

  constructor(
    private readonly js: JetStreamClient,
    private readonly publisher: JetStreamPublishing,
    private readonly pool: pg.Pool,
    private readonly target: { stream: string; durable: string; derivedSubject: string },
    private readonly shape: { batchSize: number; lanes: number; statements: FloorStatements },
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    const consumer = await this.js.consumers.get(this.target.stream, this.target.durable);
    this.messages = await consumer.consume({ max_messages: this.shape.batchSize * (this.shape.lanes + 1), callback: (message) => this.enqueue(message) });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    while (this.inFlight.size > 0 || this.relay) await Promise.all([...this.inFlight, this.relay]);
    for (const message of this.buffer.splice(0)) message.nak();
  }

  private enqueue(message: JsMsg): void {
    if (this.stopped) {
      message.nak();
      return;
    }
    this.buffer.push(message);
    this.startBatches();
  }

  private startBatches(): void {
    while (!this.stopped && this.running < this.shape.lanes && this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.shape.batchSize);
      this.batchSizes.push(batch.length);
      this.running += 1;
      const run = this.processBatch(batch)
        .catch((error: unknown) => {
          console.error('database floor: a batch failed; its messages go back to the stream', error);
          for (const message of batch) message.nak(500);
        })
        .catch((error: unknown) => console.error('database floor: could not hand a batch back', error))
        .finally(() => {
          this.running -= 1;
          this.inFlight.delete(run);
          this.startBatches();
        });
      this.inFlight.add(run);
    }
  }

  /** The lane is free once the batch committed and is acked; its events are published meanwhile. */
  private async processBatch(batch: JsMsg[]): Promise<void> {
    const rows = await this.commit(batch);
    for (const message of batch) message.ack();
    this.committed.push(...rows);
    this.startRelay();
  }

  private startRelay(): void {
    this.relay ??= this.publishCommitted()
      .catch((error: unknown) => console.error('database floor: publishing failed', error))
      .finally(() => {
        this.relay = undefined;
        // Rows committed while the loop waited for its last mark.
        if (this.committed.length > 0) this.startRelay();
      });
  }

  /** As the relay's fast lane: publish (acks awaited), then mark published while the next rows go out. */
  private async publishCommitted(): Promise<void> {
    let marking: Promise<unknown> = Promise.resolve();
    while (this.committed.length > 0) {
      const rows = this.committed.splice(0, RELAY_BATCH);
      await Promise.all(
        rows.map((row) => {
          // In one step, as the relay makes them (its checks left out: these headers are the benchmark's own).
          const values: Record<string, string[]> = {};
          for (const key in row.headers) values[key] = [row.headers[key]!];
          const headers = MsgHdrsImpl.fromRecord(values);
          return this.publisher.publish(row.subject, row.payload, { msgID: row.eventId, headers });
        }),
      );
      await marking;
      marking = markPublishedByEventId(this.pool, rows.map((row) => row.eventId));
    }
    await marking;
  }

  /** The batch's transaction; returns the outbox rows it committed (none for events claimed before). */
  private async commit(batch: JsMsg[]): Promise<OutboxRow[]> {
    const client = await this.pool.connect();
    // As the runtime's transactions do: what one turn issues leaves in one write.
    const writes = new TurnWrites(client.connection.stream);
    let failure: Error | undefined;
    try {
      const entries = batch
        .map((message) => ({ id: message.headers?.get('ce-id') ?? '', digest: hash('sha256', message.data, 'base64url'), subject: message.headers?.get('ce-subject') ?? '' }))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      writes.hold();
      const [, claim] = await Promise.all([client.query('BEGIN'), claimInbox(client, this.target.durable, entries)]);
      const subjects = entries.filter((entry) => claim.fresh.has(entry.id)).map((entry) => entry.subject);
      if (subjects.length > 0) {
        if (this.shape.statements === 'set-based') await client.query(SET_BASED_UPSERT_SQL, [subjects]);
        else await Promise.all(subjects.map((subject) => client.query(PER_EVENT_UPSERT_SQL, [subject])));
      }
      const rows = subjects.map((subject) => derivedRow(this.target.derivedSubject, subject));
      const [inserted, committed] = await Promise.allSettled([insertOutboxRows(client, rows), client.query('COMMIT')]);
      if (inserted.status === 'rejected') throw inserted.reason;
      if (committed.status === 'rejected') throw committed.reason;
      return rows;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      writes.close();
      // A connection left mid-transaction is discarded, not handed to the next batch.
      client.release(failure);
    }
  }
}

/** The derived event as an outbox row: the raw pipeline's headers and payload. */
function derivedRow(derivedSubject: string, subject: string): OutboxRow {
  const eventId = randomUUID();
  return {
    eventId,
    subject: derivedSubject,
    headers: {
      'ce-specversion': '1.0',
      'ce-id': eventId,
      'ce-source': '/bench/floor',
      'ce-type': 'io.flotilla.cluster.nodes-provisioned.v1',
      'ce-subject': subject,
      'ce-time': new Date().toISOString(),
      'content-type': 'application/json',
    },
    payload: JSON.stringify({ model: 'platform-provisioned', nodes: [{ name: `${subject}-cp-0`, role: 'control-plane', addresses: [] }] }),
  };
}
