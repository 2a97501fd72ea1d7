/*
 * The operations the HTTP fuzzing covers, read from the OpenAPI document every service's routes
 * are generated into: each with a JSON request body, and each validated query parameter.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { BodyOperation } from './fuzz-bodies.js';

interface ParameterObject {
  name: string;
  in: string;
  schema?: { type?: string; enum?: string[]; pattern?: string; minimum?: number; maximum?: number; format?: string; anyOf?: unknown[] };
}

interface OperationObject {
  tags?: string[];
  parameters?: ParameterObject[];
  requestBody?: { content: Record<string, { example?: unknown; examples?: Record<string, { value: unknown }>; schema?: SchemaObject }> };
}

interface SchemaObject {
  $ref?: string;
  type?: string;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  required?: string[];
  properties?: Record<string, SchemaObject>;
  items?: SchemaObject;
  additionalProperties?: SchemaObject | boolean;
  anyOf?: SchemaObject[];
  oneOf?: SchemaObject[];
  allOf?: SchemaObject[];
}

export interface FuzzOperation extends BodyOperation {
  /** The service answering it: the last tag of the operation. */
  service: string;
}

export interface QueryOperation {
  service: string;
  path: string;
  parameters: ParameterObject[];
}

const DOCUMENT = new URL('../../../../deploy/openapi/flotilla.openapi.json', import.meta.url);

type Document = { paths: Record<string, Record<string, OperationObject>> };
let loaded: Document | undefined;
const loadDocument = (): Document => (loaded ??= JSON.parse(readFileSync(DOCUMENT, 'utf8')) as Document);

function resolve(schema: SchemaObject): SchemaObject {
  if (!schema.$ref) return schema;
  return resolve(schema.$ref.split('/').slice(1).reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], loadDocument()) as SchemaObject);
}

/**
 * The string fields a schema sets no bound on (no length, pattern, format or set of values), as
 * paths with `*` for array items and map values: an oversized value there is the schema's choice.
 */
function unboundedStrings(schema: SchemaObject | undefined, path: string, out: Set<string>): Set<string> {
  if (!schema) return out;
  const at = resolve(schema);
  if (at.type === 'string' && at.maxLength === undefined && at.pattern === undefined && at.format === undefined && at.enum === undefined && at.const === undefined) out.add(path);
  for (const option of [...(at.anyOf ?? []), ...(at.oneOf ?? []), ...(at.allOf ?? [])]) unboundedStrings(option, path, out);
  for (const [key, property] of Object.entries(at.properties ?? {})) unboundedStrings(property, path ? `${path}.${key}` : key, out);
  unboundedStrings(at.items, `${path}.*`, out);
  if (typeof at.additionalProperties === 'object') unboundedStrings(at.additionalProperties, `${path}.*`, out);
  return out;
}

function operations(): { method: string; path: string; operation: OperationObject }[] {
  const document = loadDocument();
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([, operation]) => typeof operation === 'object' && operation !== null && 'responses' in operation)
      .map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
  );
}

/** A value for each path parameter: a valid name no resource has. */
export function samplePath(path: string): string {
  return path.replace(/\{path\}/g, 'api/v1/namespaces').replace(/\{[^}]+\}/g, 'fuzz-absent');
}

export function bodyOperations(): FuzzOperation[] {
  return operations().flatMap(({ method, path, operation }) => {
    const media = operation.requestBody?.content['application/json'];
    if (!media) return [];
    const example = media.example ?? Object.values(media.examples ?? {})[0]?.value;
    if (example === undefined) throw new Error(`${method} ${path}: the document has no example body`);
    const schema = media.schema ? resolve(media.schema) : undefined;
    return [
      {
        method,
        path,
        example,
        relayed: path.includes('/k8s/'),
        service: operation.tags?.at(-1) ?? '',
        requiresFields: (schema?.required ?? []).length > 0 || (schema?.anyOf ?? schema?.oneOf ?? []).some((option) => (resolve(option).required ?? []).length > 0),
        unboundedStrings: unboundedStrings(schema, '', new Set()),
      },
    ];
  });
}

/** Operations without path parameters whose query parameters carry a constraint to break. */
export function queryOperations(): QueryOperation[] {
  return operations().flatMap(({ method, path, operation }) => {
    if (method !== 'GET' || path.includes('{')) return [];
    const parameters = (operation.parameters ?? []).filter((parameter) => parameter.in === 'query' && constrained(parameter));
    return parameters.length > 0 ? [{ service: operation.tags?.at(-1) ?? '', path, parameters }] : [];
  });
}

function constrained(parameter: ParameterObject): boolean {
  const schema = parameter.schema ?? {};
  return schema.enum !== undefined || schema.type === 'integer' || schema.type === 'number' || schema.pattern !== undefined || schema.format !== undefined || schema.type === 'boolean';
}

/** A value the parameter's schema refuses. */
export function badQueryValue(parameter: ParameterObject): fc.Arbitrary<string> {
  const schema = parameter.schema ?? {};
  if (schema.enum) return fc.string({ minLength: 1, maxLength: 12 }).filter((value) => !schema.enum!.includes(value) && value.trim() === value && value.length > 0);
  // Not `0x10` or `1e2`: the services read numbers with Number(), which takes those forms of a valid count.
  if (schema.type === 'integer' || schema.type === 'number') return fc.constantFrom('abc', '1.5x', '-1', '1e400', '99999999999999999999', 'NaN', '', '2.5');
  if (schema.type === 'boolean') return fc.constantFrom('yes please', '2', 'nope');
  if (schema.format === 'date-time') return fc.constantFrom('yesterday', '2026-13-01T00:00:00Z', 'not-a-time');
  return fc.constantFrom('!!', ' ', '../..', '\u0000', 'a'.repeat(300));
}
