/*
 * Generators of bad bus messages: what a careless or hostile publisher could put on an event's
 * subject. Each case says which rejection codes a consumer may give it; none may be handled.
 */
import { randomUUID } from 'node:crypto';
import { CE_HEADER_PREFIX, CONTENT_TYPE_HEADER, NATS_MSG_ID_HEADER, serviceSource, SERVICES, STRUCTURED_CONTENT_TYPE, type EventDefinition, type RejectionCode } from '@flotilla/contracts';
import fc from 'fast-check';

/** Cases per event type and kind; `FUZZ_RUNS` raises it locally. */
export const FUZZ_RUNS = Number(process.env['FUZZ_RUNS'] ?? '') || 0;

export interface BadMessage {
  kind: string;
  headers: Record<string, string>;
  payload: Uint8Array;
  /** The codes a consumer may dead-letter it with. */
  codes: readonly RejectionCode[];
  /** The id it carries (unique per case unless the case is about a reused id). */
  id: string;
}

const encoder = new TextEncoder();

/** A cluster id no other case uses (a DNS label). */
export const fuzzSubject = (): string => `fuzz-${randomUUID().slice(0, 13)}`;

/** Binary-mode headers of an event of the definition, as a good producer would set them. */
export function envelopeHeaders(definition: EventDefinition, overrides: { id?: string; source?: string; type?: string; subject?: string; msgId?: string | null } = {}): Record<string, string> {
  const id = overrides.id ?? randomUUID();
  const headers: Record<string, string> = {
    [`${CE_HEADER_PREFIX}specversion`]: '1.0',
    [`${CE_HEADER_PREFIX}id`]: id,
    [`${CE_HEADER_PREFIX}source`]: overrides.source ?? '/fuzz/publisher',
    [`${CE_HEADER_PREFIX}type`]: overrides.type ?? definition.type,
    [`${CE_HEADER_PREFIX}subject`]: overrides.subject ?? (definition.subject === 'plan' ? randomUUID() : fuzzSubject()),
    [`${CE_HEADER_PREFIX}time`]: new Date().toISOString(),
    [CONTENT_TYPE_HEADER]: 'application/json',
  };
  // A publisher reusing an id on purpose leaves JetStream's de-duplication out of it.
  if (overrides.msgId !== null) headers[NATS_MSG_ID_HEADER] = overrides.msgId ?? id;
  return headers;
}

/** Data a schema of object shape would need filled in: the smallest plausible object. */
const SOME_DATA = '{"model":"connected","kubernetesVersion":"1.34"}';

/** A JSON value that is not an object: never the data of any event. */
const notAnObject: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.string({ maxLength: 64 }),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
);

/** Bytes that are never valid UTF-8: stray continuation bytes, overlong forms, surrogates, 0xFE/0xFF. */
const invalidUtf8: fc.Arbitrary<number[]> = fc.constantFrom([0xff], [0xfe, 0xff], [0x80], [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc3]);

/** Attribute headers with a value of the wrong shape. */
const badAttribute: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('specversion'), fc.constantFrom('0.3', '2.0', '1', '')),
  fc.tuple(fc.constant('time'), fc.constantFrom('yesterday', '2026-13-01T00:00:00Z', '1733480000', '')),
  fc.tuple(fc.constant('id'), fc.constant('')),
  fc.tuple(fc.constant('subject'), fc.constantFrom('Not A Cluster', '', '-leading-dash', 'a'.repeat(64), '../etc', 'UPPER')),
  fc.tuple(fc.constant(CONTENT_TYPE_HEADER), fc.constantFrom('text/plain', 'application/xml', 'application/json; charset=latin1', 'application/octet-stream')),
);

/** `depth` arrays inside each other, as JSON text. */
const nested = (depth: number, inner = '1'): string => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

/** JSON text whose required fields are only reachable through the prototype keys. */
const prototypeKeys: fc.Arbitrary<string> = fc
  .subarray(['__proto__', 'constructor', 'prototype'] as const, { minLength: 1 })
  .map((keys) => `{${keys.map((key) => (key === 'constructor' ? `"constructor":{"prototype":${SOME_DATA}}` : `"${key}":${SOME_DATA}`)).join(',')}}`);

function message(kind: string, headers: Record<string, string>, payload: string | Uint8Array, codes: readonly RejectionCode[]): BadMessage {
  return { kind, headers, payload: typeof payload === 'string' ? encoder.encode(payload) : payload, codes, id: headers[`${CE_HEADER_PREFIX}id`] ?? '' };
}

/**
 * Bad messages on one event type's subject. `emptyDataValid`: the type's data schema takes `{}`,
 * so prototype keys alone do not make it wrong (they are stripped like any unknown key).
 */
export function badMessages(definition: EventDefinition): fc.Arbitrary<BadMessage> {
  const emptyDataValid = definition.data.safeParse({}).success;
  const kinds: fc.Arbitrary<BadMessage>[] = [
    fc.string({ minLength: 0, maxLength: 200 }).chain((text) => {
      const full = JSON.stringify({ model: 'connected', note: text });
      return fc.integer({ min: 1, max: full.length - 1 }).map((cut) => message('truncated JSON', envelopeHeaders(definition), full.slice(0, cut), ['unparseable']));
    }),
    fc.tuple(invalidUtf8, fc.string({ maxLength: 20 })).map(([bytes, text]) => {
      const [head, tail] = [encoder.encode(`{"model":"${text.replace(/["\\]/g, '')}`), encoder.encode('"}')];
      return message('invalid UTF-8', envelopeHeaders(definition), Uint8Array.from([...head, ...bytes, ...tail]), ['unparseable']);
    }),
    notAnObject.map((data) => message('wrong type of data', envelopeHeaders(definition), JSON.stringify(data), ['schema-invalid'])),
    fc.tuple(badAttribute, fc.constant(SOME_DATA)).map(([[name, value], data]) => {
      const headers = envelopeHeaders(definition);
      headers[name === CONTENT_TYPE_HEADER ? name : `${CE_HEADER_PREFIX}${name}`] = value;
      return message(`wrong attribute ${name}`, headers, data, ['schema-invalid', 'unparseable']);
    }),
    fc.integer({ min: 2, max: 999 }).map((version) => {
      const type = definition.type.replace(/\.v\d+$/, `.v${version === definition.version ? version + 1 : version}`);
      return message('unknown version', envelopeHeaders(definition, { type }), SOME_DATA, ['unknown-type']);
    }),
    // The data itself nested (a schema that takes `{}` strips an unknown key, however deep).
    fc.integer({ min: 100, max: 50_000 }).map((depth) => message('deep nesting', envelopeHeaders(definition), nested(depth, SOME_DATA), ['schema-invalid', 'unparseable'])),
    // The whole event in structured mode, its attributes only under the prototype keys.
    fc.subarray(['__proto__', 'constructor', 'prototype'] as const, { minLength: 1 }).map((keys) => {
      const headers = envelopeHeaders(definition);
      const attributes = JSON.stringify({ specversion: '1.0', id: headers[`${CE_HEADER_PREFIX}id`], source: '/fuzz/publisher', type: definition.type, subject: headers[`${CE_HEADER_PREFIX}subject`], time: new Date().toISOString(), data: {} });
      return message('prototype keys (structured)', { [CONTENT_TYPE_HEADER]: STRUCTURED_CONTENT_TYPE, [NATS_MSG_ID_HEADER]: headers[NATS_MSG_ID_HEADER]!, [`${CE_HEADER_PREFIX}id`]: headers[`${CE_HEADER_PREFIX}id`]! }, `{${keys.map((key) => `"${key}":${attributes}`).join(',')}}`, ['schema-invalid']);
    }),
  ];
  if (!emptyDataValid) kinds.push(prototypeKeys.map((data) => message('prototype keys (data)', envelopeHeaders(definition), data, ['schema-invalid'])));
  return fc.oneof(...kinds);
}

/** A payload over the consumers' cap (256 KiB by default). */
export function oversized(definition: EventDefinition, bytes: number): BadMessage {
  return message('oversized', envelopeHeaders(definition), JSON.stringify({ model: 'connected', padding: 'x'.repeat(bytes) }), ['too-large']);
}

/** A Flotilla service that may not produce events of the definition. */
export function forgedSources(definition: EventDefinition): string[] {
  return SERVICES.filter((service) => !definition.producers.includes(service)).map(serviceSource);
}
