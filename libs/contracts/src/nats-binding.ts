import type { CloudEvent } from './envelope.js';
import { isJsonMediaType, isStructuredMediaType } from './media-type.js';

/**
 * The CloudEvents NATS protocol binding. Flotilla publishes in binary content mode: attributes
 * as `ce-` headers, `data` as the JSON payload. Structured mode (the whole event as
 * `application/cloudevents+json`, or with no headers at all, as the NATS binding's first version
 * and clients without header support send it) is accepted on the way in, for publishers that
 * prefer it. Media types are matched as RFC 9110 says: any case, with parameters.
 */
export const CE_HEADER_PREFIX = 'ce-';
export const CONTENT_TYPE_HEADER = 'content-type';
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';
/** JetStream de-duplicates on this header: Flotilla sets it to the event id. */
export const NATS_MSG_ID_HEADER = 'Nats-Msg-Id';
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

/**
 * Default cap on one event's payload that consumers enforce (code `too-large`). The events stream
 * accepts larger messages on purpose: an oversized event is stored, then dead-lettered with its
 * reason and an EventRejected, instead of failing the publisher's outbox relay forever.
 */
export const DEFAULT_MAX_EVENT_BYTES = 256 * 1024;

export interface NatsMessage {
  headers: Record<string, string>;
  payload: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeBinary(event: CloudEvent): NatsMessage {
  return { headers: binaryHeaders(event), payload: encoder.encode(JSON.stringify(event.data)) };
}

/** The binary-mode headers of an event: its attributes as `ce-` headers, plus `Nats-Msg-Id`. */
export function binaryHeaders(event: CloudEvent): Record<string, string> {
  const headers = attributeHeaders(event);
  headers[NATS_MSG_ID_HEADER] = event.id;
  return headers;
}

/** The `ce-` header of each attribute, built once (they name every published event's headers). */
const CE = {
  specversion: `${CE_HEADER_PREFIX}specversion`,
  id: `${CE_HEADER_PREFIX}id`,
  source: `${CE_HEADER_PREFIX}source`,
  type: `${CE_HEADER_PREFIX}type`,
  subject: `${CE_HEADER_PREFIX}subject`,
  time: `${CE_HEADER_PREFIX}time`,
} as const;

/** An event's attributes as binary-mode headers: `ce-*`, content type and trace context. */
export function attributeHeaders(event: CloudEvent): Record<string, string> {
  const headers: Record<string, string> = {
    [CE.specversion]: event.specversion,
    [CE.id]: event.id,
    [CE.source]: event.source,
    [CE.type]: event.type,
    [CE.subject]: event.subject,
    [CE.time]: event.time,
    [CONTENT_TYPE_HEADER]: event.datacontenttype,
  };
  if (event.traceparent) headers[TRACEPARENT_HEADER] = event.traceparent;
  if (event.tracestate) headers[TRACESTATE_HEADER] = event.tracestate;
  return headers;
}

/** A message that cannot be decoded; `id`, `type` and `subject` are what its headers told, if anything. */
export type DecodeFailure = { ok: false; code: 'unparseable' | 'too-large'; reason: string; id?: string; type?: string; subject?: string };
export type DecodeResult = { ok: true; event: Record<string, unknown> } | DecodeFailure;

/**
 * Turns a NATS message back into CloudEvent attributes plus data. Only the envelope is checked
 * here; attribute and data validation against the catalogue happens in `validateEvent`.
 */
export function decodeMessage(message: NatsMessage, maxBytes = DEFAULT_MAX_EVENT_BYTES): DecodeResult {
  const headers = lowerCaseKeys(message.headers);
  const id: Known = { id: headers[CE.id] ?? headers[NATS_MSG_ID_HEADER.toLowerCase()], type: headers[CE.type], subject: headers[CE.subject] };
  if (message.payload.byteLength > maxBytes) {
    return failure('too-large', `payload is ${message.payload.byteLength} bytes, over the ${maxBytes}-byte limit`, id);
  }
  let text: string;
  try {
    text = decoder.decode(message.payload);
  } catch {
    return failure('unparseable', 'payload is not valid UTF-8', id);
  }
  let body: unknown;
  try {
    body = text.length === 0 ? undefined : JSON.parse(text);
  } catch (error) {
    return failure('unparseable', `payload is not valid JSON: ${(error as Error).message}`, id);
  }

  const contentType = headers[CONTENT_TYPE_HEADER] ?? '';
  // Media types are case-insensitive and may carry parameters (`; charset=utf-8`). Without ce-
  // headers, a JSON object carrying `specversion` with no content type (or a JSON one) is a
  // structured event too: clients without header support send it so.
  const structured =
    isStructuredMediaType(contentType) ||
    (headers[CE.specversion] === undefined && (contentType === '' || isJsonMediaType(contentType)) && isRecord(body) && body['specversion'] !== undefined);
  if (structured) {
    if (!isRecord(body)) return failure('unparseable', 'structured-mode payload is not a JSON object', id);
    const event: Record<string, unknown> = { ...body };
    copyTraceHeaders(headers, event);
    return { ok: true, event };
  }

  const event: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith(CE_HEADER_PREFIX)) event[key.slice(CE_HEADER_PREFIX.length)] = value;
  }
  if (event['specversion'] === undefined) {
    return failure('unparseable', 'no CloudEvents attributes: expected ce-* headers or a structured-mode payload', id);
  }
  if (contentType) event['datacontenttype'] = contentType;
  event['data'] = body;
  copyTraceHeaders(headers, event);
  return { ok: true, event };
}

function copyTraceHeaders(headers: Record<string, string>, event: Record<string, unknown>): void {
  if (headers[TRACEPARENT_HEADER] && event['traceparent'] === undefined) event['traceparent'] = headers[TRACEPARENT_HEADER];
  if (headers[TRACESTATE_HEADER] && event['tracestate'] === undefined) event['tracestate'] = headers[TRACESTATE_HEADER];
}

interface Known {
  id: string | undefined;
  type: string | undefined;
  subject: string | undefined;
}

function failure(code: DecodeFailure['code'], reason: string, known: Known): DecodeFailure {
  const result: DecodeFailure = { ok: false, code, reason };
  if (known.id !== undefined) result.id = known.id;
  if (known.type !== undefined) result.type = known.type;
  if (known.subject !== undefined) result.subject = known.subject;
  return result;
}

const UPPER_CASE = /[A-Z]/;

/** Header names are case-insensitive; the copy is made only when some name is not in lower case. */
function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  const keys = Object.keys(headers);
  if (keys.every((key) => !UPPER_CASE.test(key))) return headers;
  const out: Record<string, string> = {};
  for (const key of keys) out[key.toLowerCase()] = headers[key]!;
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
