import type { StreamPlacement } from '@flotilla/contracts';
import { explainLayoutRefusal, jetStreamPlacement, type BusConnection } from '@flotilla/messaging';
import { DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type ConsumerMessages, type JsMsg, type StoredMsg } from '@nats-io/jetstream';

/** The key every revision is written under; the bucket's history holds the earlier ones. */
export const MATRIX_KEY = 'matrix';

export interface BucketEntry {
  /** Stream sequence: the KV revision. */
  sequence: number;
  /** Server time the entry was stored. */
  publishedAt: string;
  operation: 'put' | 'delete';
  text: string;
}

export interface BucketOptions {
  bucket: string;
  history: number;
  replicas: number;
  /** Which servers hold the replicas (BUS_PLACEMENT_*); absent: any. */
  placement?: StreamPlacement | undefined;
}

export interface BucketWatch {
  stop(): Promise<void>;
}

const NANOS_PER_MS = 1_000_000;
const CATCH_UP_TIMEOUT_MS = 15_000;

/**
 * Support-matrix revisions in a JetStream key-value bucket, through the stream API (NATS 2.9
 * has KV; the @nats-io/kv client is not a dependency). The layout is the KV convention, so
 * `nats kv get|put|history <bucket> matrix` work on the same data: stream `KV_<bucket>`,
 * subject `$KV.<bucket>.matrix`, deletes as `KV-Operation` markers.
 */
export class SupportMatrixBucket {
  readonly stream: string;
  readonly subject: string;

  constructor(
    private readonly bus: Pick<BusConnection, 'js' | 'jsm'>,
    private readonly options: BucketOptions,
  ) {
    this.stream = `KV_${options.bucket}`;
    this.subject = `$KV.${options.bucket}.${MATRIX_KEY}`;
  }

  get bucket(): string {
    return this.options.bucket;
  }

  /** Creates the bucket when missing (what `nats kv add` would create). Idempotent across replicas. */
  async ensure(): Promise<void> {
    try {
      await this.bus.jsm.streams.info(this.stream);
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.status === 404)) throw error;
    }
    try {
      await this.bus.jsm.streams.add({
        name: this.stream,
        subjects: [`$KV.${this.options.bucket}.>`],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        num_replicas: this.options.replicas,
        ...(this.options.placement ? { placement: jetStreamPlacement(this.options.placement) } : {}),
        max_msgs_per_subject: this.options.history,
        discard: DiscardPolicy.New,
        allow_rollup_hdrs: true,
        deny_delete: true,
        allow_direct: true,
        max_age: 0,
        max_bytes: -1,
        max_msg_size: -1,
        duplicate_window: 120_000 * NANOS_PER_MS,
      });
    } catch (error) {
      // Another replica (or the CLI) created it between our lookup and our add.
      if (!(error instanceof JetStreamApiError && error.code === 10058)) throw explainLayoutRefusal(error, `key-value bucket ${this.options.bucket}`, this.options);
    }
  }

  async put(text: string): Promise<BucketEntry> {
    const ack = await this.bus.js.publish(this.subject, text);
    const stored = await this.bus.jsm.streams.getMessage(this.stream, { seq: ack.seq });
    return { sequence: ack.seq, publishedAt: (stored?.time ?? new Date()).toISOString(), operation: 'put', text };
  }

  async last(): Promise<BucketEntry | undefined> {
    const stored = await this.bus.jsm.streams.getMessage(this.stream, { last_by_subj: this.subject });
    return stored ? fromStored(stored) : undefined;
  }

  /**
   * Replays the key's history oldest first, then follows new entries, calling `onEntry` for each.
   * Resolves once the history present at the call has been delivered, so the caller starts with
   * the same revision every running replica holds.
   */
  async watch(onEntry: (entry: BucketEntry) => void, onError: (error: unknown) => void): Promise<BucketWatch> {
    const last = await this.bus.jsm.streams.getMessage(this.stream, { last_by_subj: this.subject });
    const until = last?.seq ?? 0;
    // An ordered consumer: ephemeral, in order, recreated by the client after a gap or reconnect.
    const consumer = await this.bus.js.consumers.get(this.stream, { filter_subjects: this.subject, deliver_policy: DeliverPolicy.All });
    const messages: ConsumerMessages = await consumer.consume();
    let caughtUp!: () => void;
    const ready = new Promise<void>((resolve) => (caughtUp = resolve));
    if (until === 0) caughtUp();
    const loop = (async () => {
      try {
        for await (const message of messages) {
          try {
            onEntry(fromMessage(message));
          } catch (error) {
            onError(error);
          }
          if (message.seq >= until) caughtUp();
        }
      } catch (error) {
        onError(error);
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`support-matrix bucket ${this.bucket}: history not delivered within ${CATCH_UP_TIMEOUT_MS} ms`)), CATCH_UP_TIMEOUT_MS))),
      ]);
    } catch (error) {
      await messages.close();
      await loop;
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return {
      stop: async () => {
        await messages.close();
        await loop;
      },
    };
  }

  async delete(): Promise<void> {
    await this.bus.jsm.streams.delete(this.stream).catch(() => false);
  }
}

function operationOf(value: string | undefined): BucketEntry['operation'] {
  return value === 'DEL' || value === 'PURGE' ? 'delete' : 'put';
}

function fromMessage(message: JsMsg): BucketEntry {
  return { sequence: message.seq, publishedAt: message.time.toISOString(), operation: operationOf(message.headers?.get('KV-Operation')), text: message.string() };
}

function fromStored(stored: StoredMsg): BucketEntry {
  return { sequence: stored.seq, publishedAt: stored.time.toISOString(), operation: operationOf(stored.header?.get('KV-Operation')), text: stored.string() };
}
