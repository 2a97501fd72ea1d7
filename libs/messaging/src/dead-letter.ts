import { createHash } from 'node:crypto';
import {
  createEvent,
  deadLetterSubject,
  DEAD_LETTER_HEADERS,
  EventRejected,
  eventsSubject,
  serviceSource,
  NATS_MSG_ID_HEADER,
  streamName,
  type BusNaming,
  type RejectionCode,
} from '@flotilla/contracts';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { MessagingMetrics } from './metrics.js';
import type { BusOptions } from './options.js';
import { EventIdConflictError, publishEvent } from './publisher.js';

export interface Rejection {
  code: RejectionCode;
  reason: string;
  /** What is known of the event: its id, type and subject, when they could be read. */
  eventId?: string;
  eventType?: string;
  eventSubject?: string;
}

/**
 * Moves a message that can never succeed out of the way: a copy with its headers and the reason
 * goes to the dead-letter stream, an EventRejected tells the publisher, and the original is
 * terminated so it is never redelivered. Both publishes carry ids derived from the original's
 * stream position, so a crash midway repeats them harmlessly.
 */
export class DeadLetters {
  constructor(
    private readonly js: JetStreamClient,
    private readonly options: Pick<BusOptions, 'prefix' | 'service'>,
    private readonly metrics: MessagingMetrics,
  ) {}

  async reject(message: JsMsg, consumer: string, rejection: Rejection): Promise<void> {
    const position = `${message.info.stream}:${message.info.streamSequence}`;
    const origin = originOf(message, this.options);
    const dlqSubject = deadLetterSubject(this.options, consumer);
    const reason = truncate(rejection.reason, 4000);

    const copy = natsHeaders();
    for (const [key, values] of message.headers ?? []) {
      if (key === NATS_MSG_ID_HEADER) continue;
      for (const value of values) copy.append(key, value);
    }
    copy.set(DEAD_LETTER_HEADERS.reason, headerSafe(reason));
    copy.set(DEAD_LETTER_HEADERS.code, rejection.code);
    copy.set(DEAD_LETTER_HEADERS.consumer, consumer);
    copy.set(DEAD_LETTER_HEADERS.originalSubject, origin.subject);
    copy.set(DEAD_LETTER_HEADERS.originalStreamSequence, origin.streamSequence);
    copy.set(DEAD_LETTER_HEADERS.deliveries, String(message.info.deliveryCount));
    await this.js.publish(dlqSubject, message.data, { msgID: `dlq:${consumer}:${position}`, headers: copy });

    // An EventRejected about an EventRejected would feed on itself.
    if (rejection.eventType !== EventRejected.type) {
      const notice = createEvent(
        EventRejected,
        { id: deterministicUuid(`rejected:${consumer}:${position}`), subject: noticeSubject(rejection.eventSubject), source: serviceSource(this.options.service) },
        {
          rejectedEventId: rejection.eventId ?? position,
          ...(rejection.eventType === undefined ? {} : { rejectedType: truncate(rejection.eventType, 512) }),
          ...(rejection.eventSubject === undefined ? {} : { rejectedSubject: truncate(rejection.eventSubject, 512) }),
          code: rejection.code,
          reason,
          consumer,
          deadLetterSubject: dlqSubject,
        },
      );
      try {
        await publishEvent(this.js, eventsSubject(this.options, EventRejected.channel), notice);
        this.metrics.published.inc({ source: 'direct' });
      } catch (error) {
        // Dead-lettered before (a retry after a crash), with a reason worded differently: the first notice stands.
        if (!(error instanceof EventIdConflictError)) throw error;
      }
    }
    // No reason argument: NATS 2.9 leaves a message terminated with a reason ack-pending (it comes
    // back after ack_wait); the reason travels in the dead letter's headers instead.
    message.term();
    this.metrics.deadLettered.inc({ consumer, code: rejection.code });
  }
}

export interface MessageOrigin {
  /** The events subject the message was published on (what the envelope check compares its type with). */
  subject: string;
  /** Its sequence in the events stream. */
  streamSequence: string;
  /** True for a dead letter sent back to its consumer through the replay stream. */
  replayed: boolean;
}

/**
 * Where a message was first published. A replayed dead letter arrives on the replay stream and
 * carries what its dead letter recorded; those headers are believed only there, where the
 * inventory alone may publish, never on an event straight from the events stream.
 */
export function originOf(message: Pick<JsMsg, 'subject' | 'headers' | 'info'>, naming: BusNaming): MessageOrigin {
  if (message.info.stream === streamName(naming, 'replay')) {
    const subject = message.headers?.get(DEAD_LETTER_HEADERS.originalSubject);
    const sequence = message.headers?.get(DEAD_LETTER_HEADERS.originalStreamSequence);
    if (subject) return { subject, streamSequence: sequence || String(message.info.streamSequence), replayed: true };
  }
  return { subject: message.subject, streamSequence: String(message.info.streamSequence), replayed: false };
}

/** Sets `flotilla_dead_letters` for each of the given consumers from the dead-letter stream's per-subject counts. */
export async function reportDeadLetterDepth(jsm: JetStreamManager, naming: BusNaming, consumers: readonly string[], metrics: MessagingMetrics): Promise<void> {
  if (consumers.length === 0) return;
  const info = await jsm.streams.info(streamName(naming, 'dlq'), { subjects_filter: deadLetterSubject(naming, '>') });
  const counts = info.state.subjects ?? {};
  for (const consumer of consumers) metrics.deadLetters.set({ consumer }, counts[deadLetterSubject(naming, consumer)] ?? 0);
}

/**
 * The subject of an EventRejected: the rejected event's, so operators find it under the cluster,
 * unless it cannot travel as a header (`rejectedSubject` in the data still holds it).
 */
function noticeSubject(subject: string | undefined): string {
  return subject !== undefined && subject.length > 0 && subject.length <= 253 && !/[\x00-\x1f\x7f]/.test(subject) ? subject : 'unknown';
}

/** A UUID-shaped id that is the same every time for the same input. */
export function deterministicUuid(input: string): string {
  const hex = createHash('sha256').update(input).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** NATS headers are single-line. */
function headerSafe(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}
