/*
 * Generators of bad HTTP request bodies, from each operation's documented example: truncated
 * JSON, a field of the wrong type, an oversized string or body, a wrong content type, invalid
 * UTF-8, deep nesting and prototype keys. Each case says what answer it must get.
 */
import fc from 'fast-check';

export interface BadBody {
  kind: string;
  contentType: string;
  body: Uint8Array;
  /** The status it must get: exactly, any 4xx, or anything but a 5xx (a bound the schema does not set). */
  status: number | '4xx' | 'not 5xx';
  /** The field a 400 must name in `errors[].field` (a prefix of it, or it of the field). */
  field?: string;
}

/** What the OpenAPI document says of an operation with a JSON body. */
export interface BodyOperation {
  method: string;
  path: string;
  example: unknown;
  /** Relayed unchanged to a Kubernetes API server, which judges the body: any refusal (4xx) will do. */
  relayed: boolean;
  /** Some field is required: a body with none (only under prototype keys) is refused. */
  requiresFields: boolean;
  /** String fields without a documented bound (`a.*.b`: any item or key): any length is theirs. */
  unboundedStrings: ReadonlySet<string>;
}

/** Over every service's JSON body limit (body-parser's 100 kB). */
export const OVERSIZED_BODY_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

type Path = (string | number)[];

/** Every path to a value inside the example, the example itself excluded. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => [[...prefix, index], ...pathsOf(item, [...prefix, index])]);
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([key, item]) => [[...prefix, key], ...pathsOf(item, [...prefix, key])]);
  return [];
}

function replaceAt(value: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let cursor = copy;
  for (const step of path.slice(0, -1)) cursor = cursor[step] as Record<string | number, unknown>;
  cursor[path.at(-1)!] = replacement;
  return copy;
}

function valueAt(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((cursor, step) => (cursor as Record<string | number, unknown>)[step], value);
}

/** A value of another JSON type than `value`'s. */
function wrongTypeFor(value: unknown): fc.Arbitrary<unknown> {
  const choices: fc.Arbitrary<unknown>[] = [];
  if (typeof value !== 'string') choices.push(fc.string({ maxLength: 20 }));
  if (typeof value !== 'number') choices.push(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
  if (typeof value !== 'boolean') choices.push(fc.boolean());
  if (!Array.isArray(value)) choices.push(fc.array(fc.integer(), { maxLength: 3 }));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) choices.push(fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.integer(), { maxKeys: 2 }));
  choices.push(fc.constant(null));
  return fc.oneof(...choices);
}

const json = (value: unknown) => encoder.encode(JSON.stringify(value));
const fieldName = (path: Path) => path.map(String).join('.');

function isUnbounded(unbounded: ReadonlySet<string>, path: Path): boolean {
  const steps = path.map(String);
  return [...unbounded].some((pattern) => {
    const parts = pattern.split('.');
    return parts.length === steps.length && parts.every((part, index) => part === '*' || part === steps[index]);
  });
}

/** Bad bodies for one operation. */
export function badBodies(operation: BodyOperation): fc.Arbitrary<BadBody> {
  const { example, relayed } = operation;
  const text = JSON.stringify(example);
  const paths = pathsOf(example);
  const stringPaths = paths.filter((path) => typeof valueAt(example, path) === 'string');
  const kinds: fc.Arbitrary<BadBody>[] = [
    fc.integer({ min: 1, max: text.length - 1 }).map((cut): BadBody => ({ kind: 'truncated JSON', contentType: 'application/json', body: encoder.encode(text.slice(0, cut)), status: relayed ? '4xx' : 400 })),
    fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream').map((contentType): BadBody => ({ kind: 'wrong content type', contentType, body: encoder.encode(text), status: relayed ? '4xx' : 415 })),
    fc.constantFrom([0xff], [0xfe, 0xff], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80]).map((bytes) => {
      // The bad bytes inside the first string of the body (or the first key).
      const at = text.indexOf('"') + 1;
      return { kind: 'invalid UTF-8', contentType: 'application/json', body: Uint8Array.from([...encoder.encode(text.slice(0, at)), ...bytes, ...encoder.encode(text.slice(at))]), status: relayed ? '4xx' : 400 };
    }),
    // Under the size limit: nesting, not size, is what is tried.
    fc.integer({ min: 1_000, max: 45_000 }).map((depth) => ({ kind: 'deep nesting', contentType: 'application/json', body: encoder.encode(`${'['.repeat(depth)}${']'.repeat(depth)}`), status: relayed ? '4xx' : 400 })),
    fc.subarray(['__proto__', 'constructor', 'prototype'] as const, { minLength: 1 }).map((keys) => ({
      kind: 'prototype keys',
      contentType: 'application/json',
      // Every field only under the prototype keys: the body itself has none of them.
      body: encoder.encode(`{${keys.map((key) => `"${key}":${text}`).join(',')}}`),
      status: relayed || !operation.requiresFields ? '4xx' : 400,
    })),
  ];
  if (paths.length > 0 && !relayed) {
    kinds.push(
      fc.constantFrom(...paths).chain((path) =>
        wrongTypeFor(valueAt(example, path)).map((wrong): BadBody => ({ kind: 'wrong type', contentType: 'application/json', body: json(replaceAt(example, path, wrong)), status: 400, field: fieldName(path) })),
      ),
    );
  }
  if (stringPaths.length > 0 && !relayed) {
    kinds.push(
      fc.tuple(fc.constantFrom(...stringPaths), fc.integer({ min: 20_000, max: 90_000 })).map(([path, length]): BadBody => ({
        kind: 'oversized string',
        contentType: 'application/json',
        body: json(replaceAt(example, path, 'x'.repeat(length))),
        status: isUnbounded(operation.unboundedStrings, path) ? 'not 5xx' : '4xx',
      })),
    );
  }
  return fc.oneof(...kinds);
}

/** A body over every limit. */
export function oversizedBody(operation: BodyOperation): BadBody {
  return { kind: 'oversized body', contentType: 'application/json', body: json({ ...(operation.example as object), padding: 'x'.repeat(OVERSIZED_BODY_BYTES) }), status: operation.relayed ? '4xx' : 413 };
}
