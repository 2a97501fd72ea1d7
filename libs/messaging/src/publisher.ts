import { encodeBinary, NATS_MSG_ID_HEADER, type CloudEvent } from '@flotilla/contracts';
import type { JetStreamPublishing } from './acked-publisher.js';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { context, trace } from '@opentelemetry/api';
import { endWithError, extractTraceContext, injectTraceContext, startSendSpan } from './tracing.js';

/**
 * Publishes one already-encoded message and waits for JetStream's ack. The message id doubles as
 * `Nats-Msg-Id`, so a retry within the duplicate window is dropped by the server.
 * A `send` span (child of the trace context in `headers`) is created and propagated.
 */
export async function publishEncoded(
  js: JetStreamPublishing,
  message: { subject: string; eventId: string; headers: Record<string, string>; payload: Uint8Array | string },
): Promise<PubAck> {
  const parent = extractTraceContext(message.headers, context.active());
  const span = startSendSpan(message.subject, message.eventId, parent);
  const outgoing = natsHeaders();
  for (const [key, value] of Object.entries(message.headers)) {
    // append, not set: the headers are fresh and the keys distinct, so there is nothing to replace.
    if (key !== NATS_MSG_ID_HEADER && key !== 'traceparent' && key !== 'tracestate') outgoing.append(key, value);
  }
  for (const [key, value] of Object.entries(injectTraceContext(trace.setSpan(parent, span)))) outgoing.append(key, value);
  try {
    const ack = await js.publish(message.subject, message.payload, { msgID: message.eventId, headers: outgoing });
    span.setAttribute('messaging.nats.stream_sequence', ack.seq);
    if (ack.duplicate) span.setAttribute('messaging.nats.duplicate', true);
    span.end();
    return ack;
  } catch (error) {
    endWithError(span, error);
    throw error;
  }
}

/**
 * Publishes a CloudEvent straight to the bus, outside any transaction. Services use the outbox
 * (`UnitOfWork.emit`) for events tied to a state change; this is for events that are not
 * (dead-letter notices) and for outside publishers and tests.
 */
export async function publishEvent(js: JetStreamClient, subject: string, event: CloudEvent): Promise<PubAck> {
  const encoded = encodeBinary(event);
  const ack = await publishEncoded(js, { subject, eventId: event.id, headers: encoded.headers, payload: encoded.payload });
  // Within its duplicate window JetStream keeps the first message with an id and drops the next
  // one before any consumer sees it: a publisher reusing an id for another event is told so here.
  if (ack.duplicate) await refuseConflictingDuplicate(js, ack, subject, event.id, encoded);
  return ack;
}

/** The id of an event already on the stream with another subject, type, source, subject or data. */
export class EventIdConflictError extends Error {
  override readonly name = 'EventIdConflictError';
  constructor(
    readonly eventId: string,
    readonly streamSequence: number,
  ) {
    super(`event id ${eventId} is already on the stream (sequence ${streamSequence}) with another payload: an event id names one event; use a new id`);
  }
}

async function refuseConflictingDuplicate(js: JetStreamClient, ack: PubAck, subject: string, eventId: string, encoded: { headers: Record<string, string>; payload: Uint8Array | string }): Promise<void> {
  const stored = await (await js.jetstreamManager()).streams.getMessage(ack.stream, { seq: ack.seq });
  if (!stored) return; // aged out of the stream since: nothing left to conflict with
  const payload = typeof encoded.payload === 'string' ? Buffer.from(encoded.payload) : Buffer.from(encoded.payload);
  // What the event says: its subject, the attributes that identify it, and its data (time and trace may differ on a retry).
  const same =
    stored.subject === subject &&
    Buffer.from(stored.data).equals(payload) &&
    (['ce-type', 'ce-source', 'ce-subject'] as const).every((name) => (stored.header?.get(name) ?? undefined) === encoded.headers[name]);
  if (!same) throw new EventIdConflictError(eventId, ack.seq);
}
