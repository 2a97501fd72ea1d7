import { randomUUID } from 'node:crypto';
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';

const encoder = new TextEncoder();

/**
 * The same work as a handler that emits one event, with nothing but JetStream: a durable pull
 * consumer takes a message, publishes one derived message, waits for the publish ack and acks.
 * Buffering and batching copy EventConsumer (buffer as messages arrive, one drain loop, batches of
 * `batchSize` whose publishes are pipelined), so the difference to the runtime is the database,
 * decoding/validation, the outbox and the relay.
 */
export class RawPipeline {
  private messages: ConsumerMessages | undefined;
  private buffer: JsMsg[] = [];
  private draining: Promise<void> | undefined;
  private stopped = false;
  readonly batchSizes: number[] = [];

  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly durable: string,
    private readonly derivedSubject: string,
    private readonly batchSize: number,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    const consumer = await this.js.consumers.get(this.stream, this.durable);
    this.messages = await consumer.consume({ max_messages: this.batchSize * 2, callback: (message) => this.enqueue(message) });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    await this.draining;
    for (const message of this.buffer.splice(0)) message.nak();
  }

  private enqueue(message: JsMsg): void {
    if (this.stopped) {
      message.nak();
      return;
    }
    this.buffer.push(message);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0 && !this.stopped) {
      const batch = this.buffer.splice(0, this.batchSize);
      this.batchSizes.push(batch.length);
      try {
        await this.processBatch(batch);
      } catch {
        for (const message of batch) message.nak(500);
      }
    }
  }

  private async processBatch(batch: JsMsg[]): Promise<void> {
    await Promise.all(
      batch.map((message) => {
        const id = randomUUID();
        const headers = natsHeaders();
        headers.set('ce-specversion', '1.0');
        headers.set('ce-id', id);
        headers.set('ce-source', '/bench/raw');
        headers.set('ce-type', 'io.flotilla.cluster.nodes-provisioned.v1');
        headers.set('ce-subject', message.headers?.get('ce-subject') ?? '');
        headers.set('ce-time', new Date().toISOString());
        headers.set('content-type', 'application/json');
        const payload = encoder.encode(JSON.stringify({ model: 'platform-provisioned', nodes: [{ name: `${message.headers?.get('ce-subject') ?? ''}-cp-0`, role: 'control-plane', addresses: [] }] }));
        return this.js.publish(this.derivedSubject, payload, { msgID: id, headers });
      }),
    );
    for (const message of batch) message.ack();
  }
}
