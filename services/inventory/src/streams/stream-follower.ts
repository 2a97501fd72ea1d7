import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@nestjs/common';
import { describeError, type BusConnection } from '@flotilla/messaging';
import { AckPolicy, DeliverPolicy, JetStreamApiError, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';

export interface FollowedStream {
  stream: string;
  durable: string;
  filterSubject: string;
  /** What the messages are, for log lines: `audit record`, `dead letter`. */
  what: string;
}

/** How long the follower waits before opening its consumer again, at first and at most. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 30_000;

/**
 * Follows a stream with a durable consumer of the inventory's own, storing each message (the
 * store must be idempotent: a message is delivered again when its ack is lost). A message that
 * could not be stored is delivered again a second later. When the consumer cannot be opened (a
 * JetStream request timing out while a clustered stream elects its leader, a stream not made
 * yet), its messages stop with an error, or it is deleted, it is opened again with backoff:
 * following never fails, nor takes the service down.
 */
export class StreamFollower {
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  private readonly stopping = new AbortController();

  constructor(
    private readonly bus: BusConnection,
    private readonly followed: FollowedStream,
    private readonly store: (message: JsMsg) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.loop ??= this.follow();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.messages?.stop();
    await this.loop;
  }

  /** Opens the consumer and stores what comes, again and again until stopped; never rejects. */
  private async follow(): Promise<void> {
    let retryMs = RETRY_FIRST_MS;
    let failing = false;
    while (!this.stopping.signal.aborted) {
      try {
        const messages = await this.open();
        if (this.stopping.signal.aborted) {
          messages.stop();
          return;
        }
        this.messages = messages;
        if (failing) this.logger.log({ msg: `following the ${this.followed.what}s again` });
        failing = false;
        retryMs = RETRY_FIRST_MS;
        await this.run(messages);
        // Its messages ended (the consumer went): opened again after a pause.
        await sleep(RETRY_FIRST_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      } catch (error) {
        if (this.stopping.signal.aborted) return;
        // Logged once per outage, not once per try.
        if (!failing) this.logger.warn({ msg: `cannot follow the ${this.followed.what}s of stream ${this.followed.stream} now; trying again with backoff`, err: describeError(error) });
        failing = true;
        await sleep(retryMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      }
    }
  }

  private async open(): Promise<ConsumerMessages> {
    const { stream, durable, filterSubject } = this.followed;
    try {
      await this.bus.jsm.consumers.info(stream, durable);
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.status === 404)) throw error;
      await this.bus.jsm.consumers.add(stream, { durable_name: durable, filter_subject: filterSubject, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    }
    const consumer = await this.bus.js.consumers.get(stream, durable);
    return consumer.consume({ max_messages: 200 });
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    // The client keeps pulling from a consumer that is gone; it has to be made again.
    void (async () => {
      for await (const status of messages.status()) {
        if (status.type === 'consumer_deleted' || status.type === 'consumer_not_found' || status.type === 'stream_not_found') {
          this.logger.warn({ msg: `the ${this.followed.what}s' consumer is gone (${status.type}); opening it again` });
          messages.stop();
          return;
        }
      }
    })().catch(() => undefined);
    for await (const message of messages) {
      try {
        await this.store(message);
        message.ack();
      } catch (error) {
        this.logger.warn({ msg: `${this.followed.what} not stored yet; it will be delivered again`, err: error });
        message.nak(1_000);
      }
    }
  }
}
