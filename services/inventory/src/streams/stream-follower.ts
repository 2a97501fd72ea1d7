import type { Logger } from '@nestjs/common';
import type { BusConnection } from '@flotilla/messaging';
import { AckPolicy, DeliverPolicy, JetStreamApiError, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';

export interface FollowedStream {
  stream: string;
  durable: string;
  filterSubject: string;
  /** What the messages are, for log lines: `audit record`, `dead letter`. */
  what: string;
}

/**
 * Follows a stream with a durable consumer of the inventory's own, storing each message (the
 * store must be idempotent: a message is delivered again when its ack is lost). A message that
 * could not be stored is delivered again a second later.
 */
export class StreamFollower {
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;

  constructor(
    private readonly bus: BusConnection,
    private readonly followed: FollowedStream,
    private readonly store: (message: JsMsg) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const { stream, durable, filterSubject } = this.followed;
    try {
      await this.bus.jsm.consumers.info(stream, durable);
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.status === 404)) throw error;
      await this.bus.jsm.consumers.add(stream, { durable_name: durable, filter_subject: filterSubject, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    }
    const consumer = await this.bus.js.consumers.get(stream, durable);
    this.messages = await consumer.consume({ max_messages: 200 });
    this.loop = this.run(this.messages);
  }

  private async run(messages: ConsumerMessages): Promise<void> {
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

  async stop(): Promise<void> {
    this.messages?.stop();
    await this.loop;
  }
}
