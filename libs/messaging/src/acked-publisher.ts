import { JetStreamApiError, type PubAck } from '@nats-io/jetstream';
import { createInbox, NoRespondersError, TimeoutError, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { NATS_MSG_ID_HEADER } from '@flotilla/contracts';

/** What publishing to JetStream takes: `JetStreamClient.publish`'s shape, for the options the bus uses. */
export interface JetStreamPublishing {
  publish(subject: string, payload: Uint8Array | string, options: { msgID: string; headers: MsgHdrs }): Promise<PubAck>;
}

/** How long a publish waits for JetStream's ack, as `JetStreamClient.publish` does by default. */
const ACK_TIMEOUT_MS = 5_000;
const decoder = new TextDecoder();

interface Waiting {
  subject: string;
  deadline: number;
  resolve: (ack: PubAck) => void;
  reject: (error: Error) => void;
}

/**
 * Publishes to JetStream and awaits each ack, the exchange `JetStreamClient.publish` makes (the
 * message with its `Nats-Msg-Id` and a reply subject, JetStream's PubAck or its error on the
 * reply), with one reply subscription for every publish and one timer for all that wait. The
 * client's request builds a request object, a timer and an error with its stack trace for each
 * publish, even one that succeeds: about 7% of the relay's process in a profile of the messaging
 * benchmark. Acks are told apart by a counter in the reply subject, under the connection's inbox
 * prefix (a service's permissions let it receive there).
 */
export class AckedPublisher implements JetStreamPublishing {
  private readonly replyPrefix: string;
  private readonly waiting = new Map<string, Waiting>();
  private subscription: Subscription | undefined;
  private sent = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nc: NatsConnection,
    inboxPrefix: string,
    private readonly timeoutMs = ACK_TIMEOUT_MS,
  ) {
    this.replyPrefix = `${createInbox(inboxPrefix)}.`;
  }

  publish(subject: string, payload: Uint8Array | string, options: { msgID: string; headers: MsgHdrs }): Promise<PubAck> {
    this.subscription ??= this.nc.subscribe(`${this.replyPrefix}*`, { callback: (error, message) => this.answered(error, message) });
    const token = (this.sent++).toString(36);
    options.headers.set(NATS_MSG_ID_HEADER, options.msgID);
    return new Promise<PubAck>((resolve, reject) => {
      try {
        this.nc.publish(subject, payload, { reply: this.replyPrefix + token, headers: options.headers });
      } catch (error) {
        // Refused by the client (over max_payload, a closed connection): nothing was sent.
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      // Deadlines are in publish order, so the first one waiting is always the next to expire.
      this.waiting.set(token, { subject, deadline: Date.now() + this.timeoutMs, resolve, reject });
      this.timer ??= setTimeout(this.expire, this.timeoutMs);
    });
  }

  private answered(error: Error | null, message: Msg): void {
    if (error) {
      // The subscription itself failed (a permission refused): every publish waiting fails, and
      // the next one subscribes again.
      this.subscription = undefined;
      for (const [token, waiting] of this.waiting) {
        this.waiting.delete(token);
        waiting.reject(error);
      }
      return;
    }
    const token = message.subject.slice(this.replyPrefix.length);
    const waiting = this.waiting.get(token);
    if (!waiting) return; // timed out already
    this.waiting.delete(token);
    try {
      waiting.resolve(readAck(message, waiting.subject));
    } catch (refusal) {
      waiting.reject(refusal instanceof Error ? refusal : new Error(String(refusal)));
    }
  }

  private readonly expire = (): void => {
    this.timer = undefined;
    const now = Date.now();
    for (const [token, waiting] of this.waiting) {
      if (waiting.deadline > now) {
        this.timer = setTimeout(this.expire, waiting.deadline - now);
        return;
      }
      this.waiting.delete(token);
      waiting.reject(new TimeoutError());
    }
  };
}

/** JetStream's answer to a publish: its PubAck, or the error it sent (no stream listening: no responders). */
function readAck(message: Msg, subject: string): PubAck {
  if (message.data.length === 0 && message.headers?.code === 503) throw new NoRespondersError(subject);
  const answer = JSON.parse(decoder.decode(message.data)) as Partial<PubAck> & { error?: ConstructorParameters<typeof JetStreamApiError>[0] };
  if (answer.error) throw new JetStreamApiError(answer.error);
  if (typeof answer.stream !== 'string' || answer.stream === '' || typeof answer.seq !== 'number') throw new Error(`JetStream answered a publish to ${subject} with no ack`);
  const ack: PubAck = { stream: answer.stream, seq: answer.seq, duplicate: answer.duplicate ?? false };
  if (answer.domain) ack.domain = answer.domain;
  return ack;
}
