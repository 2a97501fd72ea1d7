import { encodeBinary, NATS_MSG_ID_HEADER, type CloudEvent } from '@flotilla/contracts';
import type { JetStreamPublishing } from './acked-publisher.js';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { InvalidArgumentError, MsgHdrsImpl, type MsgHdrs } from '@nats-io/transport-node';
import { context, trace } from '@opentelemetry/api';
import { endWithError, extractTraceContext, injectTraceContext, startSendSpan } from './tracing.js';

/** What NATS takes as a header name (printable ASCII but `:`, as `canonicalMIMEHeaderKey` checks) and as a value (no line end: the protocol's separator). */
const HEADER_NAME = /^[!-9;-~]*$/;
const LINE_END = /[\r\n]/;

/**
 * The message's headers, checked and trimmed as `MsgHdrs.append` does (refused with the same
 * `InvalidArgumentError`, which the relay takes for the row's own fault), then made in one step
 * (`MsgHdrsImpl.fromRecord`, which checks nothing). `append` compares each name with every one
 * before it and rebuilds it character by character: the largest allocation of a publish in a
 * profile of the messaging benchmark, and the relay publishes every event a service emits.
 */
function outgoingHeaders(message: Record<string, string>, traceContext: Record<string, string>): MsgHdrs {
  // No prototype: every name is a plain key (`__proto__` too), as in the client's own map.
  const values = Object.create(null) as Record<string, string[]>;
  const add = (key: string, value: string): void => {
    if (!HEADER_NAME.test(key)) throw InvalidArgumentError.format('header', `'${key}' is not a valid header name`);
    if (LINE_END.test(value)) throw InvalidArgumentError.format('header', 'values cannot contain \\r or \\n');
    values[key] = [value.trim()];
  };
  // The message id is set from the event id; the trace context is the send span's.
  for (const key in message) if (key !== NATS_MSG_ID_HEADER && key !== 'traceparent' && key !== 'tracestate') add(key, message[key]!);
  for (const key in traceContext) add(key, traceContext[key]!);
  return MsgHdrsImpl.fromRecord(values);
}

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
  try {
    const outgoing = outgoingHeaders(message.headers, injectTraceContext(trace.setSpan(parent, span)));
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
