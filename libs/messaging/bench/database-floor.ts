import { hash, randomUUID } from 'node:crypto';
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type pg from 'pg';
import { TurnWrites } from '../src/consumer/pipelining.js';
import { claimInbox, insertOutboxRows, type OutboxRow } from '../src/index.js';
import { PER_EVENT_UPSERT_SQL, SET_BASED_UPSERT_SQL } from './bench-app.js';

/** One statement a batch (`@OnEventBatch`'s), or one an event sent together (`by-subject`'s). */
export type FloorStatements = 'set-based' | 'per-event';

/**
 * The raw pipeline with the runtime's database writes and nothing else of the runtime: what any
 * consumer keeping the runtime's promises (an effect once, events published only after their
 * state change committed) pays on this machine. A batch is one transaction on a pooled
 * connection (the pools' client, pipelined): the inbox claim, the state upsert (the benchmark
 * handler's statements), the outbox rows, commit; then the source messages are acked, and, off
 * the lane, the derived events published (acks awaited) and their rows marked published, as the
 * relay does. `lanes` batches run at once, as the runtime's lanes do. No decoding, validation, Nest, TypeORM, async
 * context or spans: a handler path's distance to this floor is the runtime's own cost.
 */
export class DatabaseFloor {
  private messages: ConsumerMessages | undefined;
  private buffer: JsMsg[] = [];
  private running = 0;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  readonly batchSizes: number[] = [];

  constructor(
    private readonly js: JetStreamClient,
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
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
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
    const subjects = batch.map((message) => message.headers?.get('ce-subject') ?? '');
    const rows = subjects.map((subject) => derivedRow(this.target.derivedSubject, subject));
    await this.commit(batch, subjects, rows);
    for (const message of batch) message.ack();
    const relay = this.publish(rows)
      .catch((error: unknown) => console.error('database floor: publishing failed', error))
      .finally(() => this.inFlight.delete(relay));
    this.inFlight.add(relay);
  }

  /** As the relay does after a commit: publish (acks awaited), then mark the rows published. */
  private async publish(rows: OutboxRow[]): Promise<void> {
    await Promise.all(
      rows.map((row) => {
        const headers = natsHeaders();
        for (const [key, value] of Object.entries(row.headers)) headers.append(key, value);
        return this.js.publish(row.subject, row.payload, { msgID: row.eventId, headers });
      }),
    );
    await this.pool.query(`UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE event_id = ANY($1::text[]) AND published_at IS NULL`, [rows.map((row) => row.eventId)]);
  }

  private async commit(batch: JsMsg[], subjects: string[], rows: OutboxRow[]): Promise<void> {
    const client = await this.pool.connect();
    // As the runtime's transactions do: what one turn issues leaves in one write.
    const writes = new TurnWrites(client.connection.stream);
    try {
      writes.hold();
      await client.query('BEGIN');
      const entries = batch
        .map((message) => ({ id: message.headers?.get('ce-id') ?? '', digest: hash('sha256', message.data, 'base64url') }))
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const claim = await claimInbox(client, this.target.durable, entries);
      if (claim.fresh.size !== entries.length) throw new Error(`${entries.length - claim.fresh.size} events of the batch were claimed before`);
      writes.hold();
      if (this.shape.statements === 'set-based') await client.query(SET_BASED_UPSERT_SQL, [subjects]);
      else await Promise.all(subjects.map((subject) => client.query(PER_EVENT_UPSERT_SQL, [subject])));
      writes.hold();
      await insertOutboxRows(client, rows);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      writes.close();
      client.release();
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
