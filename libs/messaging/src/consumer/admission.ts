import { admitMessage, type CloudEvent, type EventDefinition } from '@flotilla/contracts';
import type { JsMsg } from '@nats-io/jetstream';
import type { Rejection } from '../dead-letter.js';
import { eventDigest } from '../inbox/inbox-store.js';
import type { BusOptions } from '../options.js';

/** What a handler receives besides the event. */
export interface DeliveredEvent {
  event: CloudEvent;
  definition: EventDefinition;
  message: JsMsg;
  consumer: string;
}

/** A message as it waits for its batch: headers read once, and the subject that orders it. */
export interface Received {
  message: JsMsg;
  headers: Record<string, string>;
  key: string;
  /** The events subject it was published on (for a replayed dead letter, the original's). */
  natsSubject: string;
}

/** A message admitted for handling. */
export interface Item extends DeliveredEvent, Received {
  /** What makes a redelivery the same event (`eventDigest`). */
  digest: string;
}

/** A newer producer's event type: acknowledged and counted, not handled. */
export const NEWER_TYPE = Symbol('newer event type');

/**
 * The envelope check every consumer shares (`admitMessage` from the contracts): the event to
 * handle, or why the message can never be handled.
 */
export function admit(received: Received, consumer: string, options: Pick<BusOptions, 'maxEventBytes' | 'prefix'>): Item | Rejection | typeof NEWER_TYPE {
  const { message, headers, key, natsSubject } = received;
  const admitted = admitMessage({ headers, payload: message.data, natsSubject }, { maxBytes: options.maxEventBytes, prefix: options.prefix });
  if (!admitted.ok) {
    if (admitted.newerType) return NEWER_TYPE;
    const rejection: Rejection = { code: admitted.code, reason: admitted.reason };
    if (admitted.id !== undefined) rejection.eventId = admitted.id;
    if (admitted.type !== undefined) rejection.eventType = admitted.type;
    if (admitted.subject !== undefined) rejection.eventSubject = admitted.subject;
    return rejection;
  }
  const { event, definition } = admitted;
  return { message, headers, key, natsSubject, event, definition, consumer, digest: eventDigest(event) };
}
