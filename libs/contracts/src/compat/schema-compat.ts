import type { JsonSchema } from '../json-schema.js';

/**
 * Backward compatibility of two JSON Schemas of the same event version (same CloudEvents `type`).
 *
 * Events already on the bus, and publishers and consumers built against the released schema, keep
 * running after a change. So the candidate must accept everything the released schema accepted
 * (old events stay valid for new consumers), and must keep every field old consumers read. Adding
 * optional fields and widening (more types, more enum values, looser bounds) is fine; anything
 * else needs a new event version.
 */
export type CompatBreakKind =
  /** A property consumers may read is gone. */
  | 'property-removed'
  /** A property that did not exist is required: every released publisher omits it. */
  | 'new-required-property'
  /** An optional property became required: released publishers may omit it. */
  | 'property-made-required'
  /** The value's JSON type no longer accepts what it did (e.g. number to integer, string to object). */
  | 'type-changed'
  /** Values accepted before are refused: enum values removed, or an enum or const added. */
  | 'enum-narrowed'
  /** A bound or format got stricter: minimum raised, maxLength lowered, pattern added or changed... */
  | 'constraint-tightened'
  /** Properties not declared in the schema were accepted and no longer are. */
  | 'additional-properties-restricted'
  /** One variant of a union (anyOf/oneOf) matches no variant of the candidate. */
  | 'variant-removed'
  /** Consumers fill a different value (or none) when a publisher omits the field. */
  | 'default-changed'
  /** A keyword the checker does not reason about changed, so compatibility cannot be shown. */
  | 'unverifiable-change';

export interface CompatBreak {
  kind: CompatBreakKind;
  /** Dotted path of the value, e.g. `data.controlPlane.count`, `data.nodePools[]`, `data.labels.*`. */
  path: string;
  message: string;
}

type SchemaObject = { [keyword: string]: unknown };

/** Returns every break of `candidate` against `released`; an empty list means compatible. */
export function compareSchemas(released: JsonSchema, candidate: JsonSchema): CompatBreak[] {
  return new Comparison(released, candidate).compare(released, candidate, '');
}

/** One line per break, for test failures and the `--release` refusal. */
export function formatBreaks(breaks: readonly CompatBreak[]): string {
  return breaks.map((b) => `${b.path || '(root)'}: ${b.message} [${b.kind}]`).join('\n');
}

/** Keywords that only document: changing them never breaks anyone. */
const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$anchor',
  '$comment',
  '$defs',
  'definitions',
  'title',
  'description',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

/** Keywords compared by the rules below; any other keyword must stay identical. */
const HANDLED = new Set([
  'type',
  'enum',
  'const',
  'default',
  'anyOf',
  'oneOf',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'minProperties',
  'maxProperties',
]);

class Comparison {
  /** Pairs of `$ref`s being compared: a recursive schema is assumed compatible on re-entry. */
  private readonly visiting = new Set<string>();

  constructor(
    private readonly releasedRoot: JsonSchema,
    private readonly candidateRoot: JsonSchema,
  ) {}

  compare(released: JsonSchema, candidate: JsonSchema, path: string): CompatBreak[] {
    const releasedRef = refOf(released);
    const candidateRef = refOf(candidate);
    if (releasedRef === undefined && candidateRef === undefined) return this.compareResolved(released, candidate, path);

    const key = `${releasedRef ?? ''}|${candidateRef ?? ''}`;
    if (this.visiting.has(key)) return [];
    const resolvedReleased = resolveRef(this.releasedRoot, released);
    const resolvedCandidate = resolveRef(this.candidateRoot, candidate);
    if (resolvedReleased === undefined || resolvedCandidate === undefined) {
      return releasedRef === candidateRef
        ? []
        : [{ kind: 'unverifiable-change', path, message: `reference changed from ${String(releasedRef)} to ${String(candidateRef)} and cannot be resolved` }];
    }
    this.visiting.add(key);
    try {
      return this.compareResolved(resolvedReleased, resolvedCandidate, path);
    } finally {
      this.visiting.delete(key);
    }
  }

  private compareResolved(released: JsonSchema, candidate: JsonSchema, path: string): CompatBreak[] {
    if (candidate === false) {
      return released === false ? [] : [{ kind: 'type-changed', path, message: 'no value is accepted any more' }];
    }
    // Nothing was accepted before, or everything is accepted now.
    if (released === false || candidate === true) return [];
    const before = normalize(released === true ? {} : released);
    const after = normalize(candidate);

    const breaks: CompatBreak[] = [];
    compareDefaults(before, after, path, breaks);
    if (isUnion(before) || isUnion(after)) {
      breaks.push(...this.compareVariants(before, after, path));
      return breaks;
    }

    const typeBreak = compareTypes(before, after, path);
    if (typeBreak) {
      // Properties and bounds of a value whose type changed say nothing more.
      breaks.push(typeBreak);
      return breaks;
    }
    compareValues(before, after, path, breaks);
    compareNumbers(before, after, path, breaks);
    compareStrings(before, after, path, breaks);
    this.compareArrays(before, after, path, breaks);
    this.compareObjects(before, after, path, breaks);
    compareOtherKeywords(before, after, path, breaks);
    return breaks;
  }

  /** Every variant accepted before must be accepted by some variant now. */
  private compareVariants(released: SchemaObject, candidate: SchemaObject, path: string): CompatBreak[] {
    const before = variants(released);
    const after = variants(candidate);
    const breaks: CompatBreak[] = [];
    for (const variant of before) {
      let closest: CompatBreak[] | undefined;
      for (const option of after) {
        const found = this.compare(variant, option, path);
        if (closest === undefined || found.length < closest.length) closest = found;
        if (found.length === 0) break;
      }
      if (closest === undefined || closest.length === 0) continue;
      if (before.length === 1) {
        breaks.push(...closest);
      } else {
        breaks.push({
          kind: 'variant-removed',
          path,
          message: `variant ${summarize(variant)} is no longer accepted (${closest.map((b) => b.message).join('; ')})`,
        });
      }
    }
    return breaks;
  }

  private compareArrays(released: SchemaObject, candidate: SchemaObject, path: string, breaks: CompatBreak[]): void {
    tightenedLowerCount(released, candidate, 'minItems', path, breaks);
    tightenedUpperCount(released, candidate, 'maxItems', path, breaks);
    if (candidate['uniqueItems'] === true && released['uniqueItems'] !== true) {
      breaks.push({ kind: 'constraint-tightened', path, message: 'items must now be unique' });
    }
    const releasedItems = asSchema(released['items']);
    const candidateItems = asSchema(candidate['items']);
    const releasedPrefix = schemaList(released['prefixItems']);
    const candidatePrefix = schemaList(candidate['prefixItems']);
    const positions = Math.max(releasedPrefix.length, candidatePrefix.length);
    for (let i = 0; i < positions; i++) {
      const before = releasedPrefix[i] ?? releasedItems ?? true;
      const after = candidatePrefix[i] ?? candidateItems ?? true;
      breaks.push(...this.compare(before, after, `${path}[${i}]`));
    }
    if (candidateItems !== undefined) breaks.push(...this.compare(releasedItems ?? true, candidateItems, `${path}[]`));
  }

  private compareObjects(released: SchemaObject, candidate: SchemaObject, path: string, breaks: CompatBreak[]): void {
    const releasedProperties = schemaMap(released['properties']);
    const candidateProperties = schemaMap(candidate['properties']);
    for (const [name, before] of releasedProperties) {
      const after = candidateProperties.get(name);
      if (after === undefined) {
        breaks.push({ kind: 'property-removed', path: join(path, name), message: 'property removed' });
      } else {
        breaks.push(...this.compare(before, after, join(path, name)));
      }
    }

    const releasedRequired = new Set(stringList(released['required']));
    for (const name of stringList(candidate['required'])) {
      if (releasedRequired.has(name)) continue;
      breaks.push(
        releasedProperties.has(name)
          ? { kind: 'property-made-required', path: join(path, name), message: 'optional property is now required' }
          : { kind: 'new-required-property', path: join(path, name), message: 'new property is required' },
      );
    }

    const releasedAdditional = asSchema(released['additionalProperties']) ?? true;
    const candidateAdditional = asSchema(candidate['additionalProperties']);
    if (candidateAdditional === false && releasedAdditional !== false) {
      breaks.push({ kind: 'additional-properties-restricted', path, message: 'properties not declared in the schema are no longer accepted' });
    } else if (candidateAdditional !== undefined) {
      breaks.push(...this.compare(releasedAdditional, candidateAdditional, join(path, '*')));
    }
    const candidateNames = asSchema(candidate['propertyNames']);
    if (candidateNames !== undefined) {
      breaks.push(...this.compare(asSchema(released['propertyNames']) ?? true, candidateNames, `${join(path, '*')} (key)`));
    }
    tightenedLowerCount(released, candidate, 'minProperties', path, breaks);
    tightenedUpperCount(released, candidate, 'maxProperties', path, breaks);
  }
}

function compareDefaults(released: SchemaObject, candidate: SchemaObject, path: string, breaks: CompatBreak[]): void {
  if (!('default' in released)) return;
  if (!('default' in candidate)) {
    breaks.push({ kind: 'default-changed', path, message: `default ${show(released['default'])} removed` });
  } else if (!deepEqual(released['default'], candidate['default'])) {
    breaks.push({
      kind: 'default-changed',
      path,
      message: `default changed from ${show(released['default'])} to ${show(candidate['default'])}`,
    });
  }
}

function compareTypes(released: SchemaObject, candidate: SchemaObject, path: string): CompatBreak | undefined {
  // With an enum or const, the per-value check in compareValues is exact; the type adds nothing.
  if (allowedValues(released) !== undefined) return undefined;
  const after = typesOf(candidate);
  if (after === undefined) return undefined;
  const before = typesOf(released);
  if (before === undefined) {
    return { kind: 'type-changed', path, message: `any type was accepted, now only ${after.join(' | ')}` };
  }
  const lost = before.filter((type) => !typeAccepted(after, type));
  if (lost.length === 0) return undefined;
  return { kind: 'type-changed', path, message: `type changed from ${before.join(' | ')} to ${after.join(' | ')}` };
}

function compareValues(released: SchemaObject, candidate: SchemaObject, path: string, breaks: CompatBreak[]): void {
  const before = allowedValues(released);
  const after = allowedValues(candidate);
  const afterTypes = typesOf(candidate);
  if (before === undefined) {
    if (after !== undefined) breaks.push({ kind: 'enum-narrowed', path, message: `now restricted to ${after.map(show).join(', ')}` });
    return;
  }
  const refused = before.filter(
    (value) => !typeAccepted(afterTypes, jsonType(value)) || (after !== undefined && !after.some((allowed) => deepEqual(allowed, value))),
  );
  if (refused.length > 0) {
    breaks.push({ kind: 'enum-narrowed', path, message: `no longer accepts ${refused.map(show).join(', ')}` });
  }
}

function compareNumbers(released: SchemaObject, candidate: SchemaObject, path: string, breaks: CompatBreak[]): void {
  const lowerBefore = bound(released, 'minimum', 'exclusiveMinimum');
  const lowerAfter = bound(candidate, 'minimum', 'exclusiveMinimum');
  if (lowerAfter && (!lowerBefore || lowerAfter.value > lowerBefore.value || (lowerAfter.value === lowerBefore.value && lowerAfter.exclusive && !lowerBefore.exclusive))) {
    breaks.push({
      kind: 'constraint-tightened',
      path,
      message: lowerBefore ? `minimum raised from ${showBound('>', lowerBefore)} to ${showBound('>', lowerAfter)}` : `minimum added: ${showBound('>', lowerAfter)}`,
    });
  }
  const upperBefore = bound(released, 'maximum', 'exclusiveMaximum');
  const upperAfter = bound(candidate, 'maximum', 'exclusiveMaximum');
  if (upperAfter && (!upperBefore || upperAfter.value < upperBefore.value || (upperAfter.value === upperBefore.value && upperAfter.exclusive && !upperBefore.exclusive))) {
    breaks.push({
      kind: 'constraint-tightened',
      path,
      message: upperBefore ? `maximum lowered from ${showBound('<', upperBefore)} to ${showBound('<', upperAfter)}` : `maximum added: ${showBound('<', upperAfter)}`,
    });
  }
  const stepBefore = numberOf(released['multipleOf']);
  const stepAfter = numberOf(candidate['multipleOf']);
  // Every multiple of the old step is still a multiple of the new one only if the new divides the old.
  if (stepAfter !== undefined && (stepBefore === undefined || !Number.isInteger(stepBefore / stepAfter))) {
    breaks.push({ kind: 'constraint-tightened', path, message: `must now be a multiple of ${stepAfter}` });
  }
}

function compareStrings(released: SchemaObject, candidate: SchemaObject, path: string, breaks: CompatBreak[]): void {
  tightenedLowerCount(released, candidate, 'minLength', path, breaks);
  tightenedUpperCount(released, candidate, 'maxLength', path, breaks);
  // Regular expressions cannot be compared for inclusion, so any new or different pattern counts.
  for (const keyword of ['pattern', 'format'] as const) {
    const before = released[keyword];
    const after = candidate[keyword];
    if (after === undefined || after === before) continue;
    breaks.push({
      kind: 'constraint-tightened',
      path,
      message: before === undefined ? `${keyword} added: ${show(after)}` : `${keyword} changed from ${show(before)} to ${show(after)}`,
    });
  }
}

function compareOtherKeywords(released: SchemaObject, candidate: SchemaObject, path: string, breaks: CompatBreak[]): void {
  const keywords = new Set([...Object.keys(released), ...Object.keys(candidate)]);
  for (const keyword of [...keywords].sort()) {
    if (HANDLED.has(keyword) || ANNOTATIONS.has(keyword) || keyword === '$ref' || keyword.startsWith('x-')) continue;
    if (!deepEqual(released[keyword], candidate[keyword])) {
      breaks.push({ kind: 'unverifiable-change', path, message: `keyword "${keyword}" changed; compatibility cannot be shown` });
    }
  }
}

function tightenedLowerCount(released: SchemaObject, candidate: SchemaObject, keyword: string, path: string, breaks: CompatBreak[]): void {
  const before = numberOf(released[keyword]) ?? 0;
  const after = numberOf(candidate[keyword]) ?? 0;
  if (after > before) breaks.push({ kind: 'constraint-tightened', path, message: `${keyword} raised from ${before} to ${after}` });
}

function tightenedUpperCount(released: SchemaObject, candidate: SchemaObject, keyword: string, path: string, breaks: CompatBreak[]): void {
  const before = numberOf(released[keyword]);
  const after = numberOf(candidate[keyword]);
  if (after === undefined) return;
  if (before === undefined) breaks.push({ kind: 'constraint-tightened', path, message: `${keyword} added: ${after}` });
  else if (after < before) breaks.push({ kind: 'constraint-tightened', path, message: `${keyword} lowered from ${before} to ${after}` });
}

interface Bound {
  value: number;
  exclusive: boolean;
}

function bound(schema: SchemaObject, inclusiveKeyword: string, exclusiveKeyword: string): Bound | undefined {
  const inclusive = numberOf(schema[inclusiveKeyword]);
  const exclusive = numberOf(schema[exclusiveKeyword]);
  if (exclusive !== undefined && (inclusive === undefined || (inclusiveKeyword === 'minimum' ? exclusive >= inclusive : exclusive <= inclusive))) {
    return { value: exclusive, exclusive: true };
  }
  return inclusive === undefined ? undefined : { value: inclusive, exclusive: false };
}

function showBound(direction: '>' | '<', b: Bound): string {
  return `${direction}${b.exclusive ? '' : '='} ${b.value}`;
}

/** Folds `anyOf: [{const: 1}, {const: 3}]` (what zod emits for a union of literals) into an enum. */
function normalize(schema: SchemaObject): SchemaObject {
  const branches = schema['anyOf'] ?? schema['oneOf'];
  if (!Array.isArray(branches) || branches.length === 0 || 'enum' in schema || 'const' in schema) return schema;
  const literal = (branch: unknown): branch is SchemaObject =>
    isObject(branch) && 'const' in branch && Object.keys(branch).every((k) => k === 'const' || k === 'type' || ANNOTATIONS.has(k));
  if (!branches.every(literal)) return schema;
  const { anyOf: _anyOf, oneOf: _oneOf, ...rest } = schema;
  const types = branches.map((branch) => branch['type']);
  const folded: SchemaObject = { ...rest, enum: branches.map((branch) => branch['const']) };
  if (types.every((type): type is string => typeof type === 'string')) {
    const unique = [...new Set(types)];
    folded['type'] = unique.length === 1 ? unique[0] : unique;
  }
  return folded;
}

function isUnion(schema: SchemaObject): boolean {
  return Array.isArray(schema['anyOf']) || Array.isArray(schema['oneOf']);
}

/**
 * The alternatives of a schema; keywords beside `anyOf` apply to every alternative. The default
 * is left out: it belongs to the whole value and was compared already.
 */
function variants(schema: SchemaObject): JsonSchema[] {
  const { anyOf: _anyOf, oneOf: _oneOf, default: _default, ...shared } = schema;
  const branches = schema['anyOf'] ?? schema['oneOf'];
  if (!Array.isArray(branches)) return [shared];
  return branches.map((branch): JsonSchema => {
    if (typeof branch === 'boolean') return branch;
    return isObject(branch) ? { ...shared, ...branch } : true;
  });
}

function summarize(schema: JsonSchema): string {
  if (typeof schema === 'boolean') return String(schema);
  const values = allowedValues(schema);
  if (values) return values.map(show).join(' | ');
  const types = typesOf(schema);
  return types ? types.join(' | ') : show(schema);
}

function typesOf(schema: SchemaObject): string[] | undefined {
  const type = schema['type'];
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string');
  return undefined;
}

function typeAccepted(types: readonly string[] | undefined, type: string): boolean {
  return types === undefined || types.includes(type) || (type === 'integer' && types.includes('number'));
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function allowedValues(schema: SchemaObject): unknown[] | undefined {
  if (Array.isArray(schema['enum'])) return schema['enum'] as unknown[];
  return 'const' in schema ? [schema['const']] : undefined;
}

function refOf(schema: JsonSchema): string | undefined {
  return typeof schema === 'object' && typeof schema['$ref'] === 'string' ? schema['$ref'] : undefined;
}

/** Resolves a local `$ref` (`#/$defs/...`); keywords beside it are kept. Undefined if it cannot be resolved. */
function resolveRef(root: JsonSchema, schema: JsonSchema): JsonSchema | undefined {
  const ref = refOf(schema);
  if (ref === undefined || typeof schema !== 'object') return schema;
  if (!ref.startsWith('#')) return undefined;
  let target: unknown = root;
  for (const token of ref.slice(1).split('/').filter((t) => t.length > 0)) {
    const key = decodeURIComponent(token).replaceAll('~1', '/').replaceAll('~0', '~');
    if (!isObject(target) && !Array.isArray(target)) return undefined;
    target = (target as Record<string, unknown>)[key];
  }
  const resolved = asSchema(target);
  if (resolved === undefined) return undefined;
  const { $ref: _ref, ...siblings } = schema;
  if (typeof resolved === 'boolean') return Object.keys(siblings).length === 0 ? resolved : siblings;
  return { ...resolved, ...siblings };
}

function asSchema(value: unknown): JsonSchema | undefined {
  return typeof value === 'boolean' || isObject(value) ? value : undefined;
}

function schemaList(value: unknown): JsonSchema[] {
  return Array.isArray(value) ? value.map((item) => asSchema(item) ?? true) : [];
}

function schemaMap(value: unknown): Map<string, JsonSchema> {
  if (!isObject(value)) return new Map();
  return new Map(Object.entries(value).map(([name, schema]) => [name, asSchema(schema) ?? true]));
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function numberOf(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function isObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => key in b && deepEqual(a[key], b[key]));
  }
  return false;
}
