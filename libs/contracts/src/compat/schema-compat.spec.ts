import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { EVENT_CATALOGUE } from '../catalogue.js';
import { eventJsonSchema, type JsonSchema } from '../json-schema.js';
import { compareSchemas, formatBreaks, type CompatBreak, type CompatBreakKind } from './schema-compat.js';

/** The JSON Schema the generator would publish for a zod schema. */
function published(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input' });
}

function breaksOf(released: z.ZodType, candidate: z.ZodType): CompatBreak[] {
  return compareSchemas(published(released), published(candidate));
}

function assertBreak(breaks: CompatBreak[], kind: CompatBreakKind, path: string): CompatBreak {
  const found = breaks.find((b) => b.kind === kind && b.path === path);
  assert.ok(found, `expected a ${kind} break at ${path}, got:\n${formatBreaks(breaks) || '(none)'}`);
  return found;
}

const Released = z.object({
  name: z.string().min(1).max(63).regex(/^[a-z0-9-]+$/),
  count: z.number().int().min(1).max(10),
  size: z.enum(['small', 'medium', 'large']),
  replicas: z.union([z.literal(1), z.literal(3), z.literal(5)]),
  labels: z.record(z.string(), z.string()).default({}),
  pools: z.array(z.object({ name: z.string(), nodes: z.number().int() })),
  note: z.string().optional(),
});

describe('compareSchemas: additive changes pass', () => {
  it('accepts an identical schema', () => {
    assert.deepEqual(breaksOf(Released, Released), []);
  });

  it('accepts a new optional property, also in nested objects', () => {
    const candidate = Released.extend({
      zone: z.string().optional(),
      pools: z.array(z.object({ name: z.string(), nodes: z.number().int(), taint: z.string().optional() })),
    });
    assert.deepEqual(breaksOf(Released, candidate), []);
  });

  it('accepts a new property with a default (publishers may omit it)', () => {
    assert.deepEqual(breaksOf(Released, Released.extend({ priority: z.number().default(0) })), []);
  });

  it('accepts widenings: enum value added, union member added, looser bounds, integer to number, pattern dropped', () => {
    const candidate = Released.extend({
      name: z.string().min(0).max(253),
      count: z.number().min(0),
      size: z.enum(['small', 'medium', 'large', 'xlarge']),
      replicas: z.union([z.literal(1), z.literal(3), z.literal(5), z.literal(7)]),
    });
    assert.deepEqual(breaksOf(Released, candidate), []);
  });

  it('accepts a required property made optional and a value made nullable', () => {
    const candidate = Released.extend({ size: z.enum(['small', 'medium', 'large']).optional(), note: z.string().nullable().optional() });
    assert.deepEqual(breaksOf(Released, candidate), []);
  });

  it('ignores descriptions and titles', () => {
    assert.deepEqual(breaksOf(Released, Released.extend({ note: z.string().optional().describe('Free text') })), []);
  });
});

describe('compareSchemas: breaks are caught', () => {
  it('property removed', () => {
    const breaks = breaksOf(Released, Released.omit({ note: true }));
    assertBreak(breaks, 'property-removed', 'note');
    assert.equal(breaks.length, 1);
  });

  it('property removed inside array items', () => {
    const breaks = breaksOf(Released, Released.extend({ pools: z.array(z.object({ name: z.string() })) }));
    assertBreak(breaks, 'property-removed', 'pools[].nodes');
  });

  it('type changed', () => {
    assertBreak(breaksOf(Released, Released.extend({ note: z.number().optional() })), 'type-changed', 'note');
  });

  it('type narrowed from number to integer', () => {
    const released = z.object({ ratio: z.number() });
    const breaks = breaksOf(released, z.object({ ratio: z.number().int() }));
    assert.match(assertBreak(breaks, 'type-changed', 'ratio').message, /number to integer/);
  });

  it('enum value removed', () => {
    const breaks = breaksOf(Released, Released.extend({ size: z.enum(['small', 'medium']) }));
    assert.match(assertBreak(breaks, 'enum-narrowed', 'size').message, /"large"/);
  });

  it('literal removed from a union', () => {
    const breaks = breaksOf(Released, Released.extend({ replicas: z.union([z.literal(3), z.literal(5)]) }));
    assert.match(assertBreak(breaks, 'enum-narrowed', 'replicas').message, /no longer accepts 1/);
  });

  it('free value restricted to an enum', () => {
    assertBreak(breaksOf(Released, Released.extend({ note: z.enum(['a', 'b']).optional() })), 'enum-narrowed', 'note');
  });

  it('minimum raised and maximum lowered', () => {
    const breaks = breaksOf(Released, Released.extend({ count: z.number().int().min(2).max(5) }));
    assert.match(assertBreak(breaks, 'constraint-tightened', 'count').message, /minimum raised from >= 1 to >= 2/);
    assert.ok(breaks.some((b) => b.path === 'count' && /maximum lowered from <= 10 to <= 5/.test(b.message)));
  });

  it('exclusive bound replacing an inclusive one at the same value', () => {
    const breaks = breaksOf(Released, Released.extend({ count: z.number().int().gt(1).max(10) }));
    assertBreak(breaks, 'constraint-tightened', 'count');
  });

  it('maxLength lowered and minLength raised', () => {
    const breaks = breaksOf(Released, Released.extend({ name: z.string().min(3).max(32).regex(/^[a-z0-9-]+$/) }));
    assert.ok(breaks.some((b) => b.path === 'name' && /maxLength lowered from 63 to 32/.test(b.message)));
    assert.ok(breaks.some((b) => b.path === 'name' && /minLength raised from 1 to 3/.test(b.message)));
  });

  it('pattern changed or added', () => {
    const changed = breaksOf(Released, Released.extend({ name: z.string().min(1).max(63).regex(/^[a-z]+$/) }));
    assert.match(assertBreak(changed, 'constraint-tightened', 'name').message, /pattern changed/);
    const added = breaksOf(Released, Released.extend({ note: z.string().regex(/^x/).optional() }));
    assert.match(assertBreak(added, 'constraint-tightened', 'note').message, /pattern added/);
  });

  it('format added', () => {
    const breaks = breaksOf(Released, Released.extend({ note: z.email().optional() }));
    assert.ok(breaks.some((b) => b.kind === 'constraint-tightened' && b.path === 'note' && /format added: "email"/.test(b.message)));
  });

  it('new required property', () => {
    const breaks = breaksOf(Released, Released.extend({ zone: z.string() }));
    assertBreak(breaks, 'new-required-property', 'zone');
    assert.equal(breaks.length, 1);
  });

  it('optional property made required', () => {
    assertBreak(breaksOf(Released, Released.extend({ note: z.string() })), 'property-made-required', 'note');
  });

  it('default dropped: the property becomes required and consumers lose the default', () => {
    const breaks = breaksOf(Released, Released.extend({ labels: z.record(z.string(), z.string()) }));
    assertBreak(breaks, 'property-made-required', 'labels');
    assertBreak(breaks, 'default-changed', 'labels');
  });

  it('default changed', () => {
    const released = z.object({ port: z.number().default(22) });
    assertBreak(breaksOf(released, z.object({ port: z.number().default(2222) })), 'default-changed', 'port');
  });

  it('record values narrowed', () => {
    const breaks = breaksOf(Released, Released.extend({ labels: z.record(z.string(), z.string().max(63)).default({}) }));
    assertBreak(breaks, 'constraint-tightened', 'labels.*');
  });

  it('undeclared properties closed off', () => {
    const breaks = compareSchemas(
      { type: 'object', properties: { a: { type: 'string' } } },
      { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false },
    );
    assertBreak(breaks, 'additional-properties-restricted', '');
  });

  it('a union variant removed', () => {
    const released = z.object({ target: z.union([z.string(), z.object({ host: z.string() })]) });
    const breaks = breaksOf(released, z.object({ target: z.string() }));
    assertBreak(breaks, 'variant-removed', 'target');
  });

  it('nested paths name the field, as validateEvent does', () => {
    const released = z.object({ controlPlane: z.object({ count: z.union([z.literal(1), z.literal(3), z.literal(5)]) }) });
    const candidate = z.object({ controlPlane: z.object({ count: z.union([z.literal(3), z.literal(5)]) }) });
    assertBreak(breaksOf(released, candidate), 'enum-narrowed', 'controlPlane.count');
  });

  it('a keyword the checker does not model is reported when it changes', () => {
    const breaks = compareSchemas({ type: 'object', dependentRequired: { a: ['b'] } }, { type: 'object', dependentRequired: { a: ['c'] } });
    assertBreak(breaks, 'unverifiable-change', '');
  });

  it('schema accepting nothing', () => {
    assertBreak(compareSchemas({ type: 'string' }, false), 'type-changed', '');
    assert.deepEqual(compareSchemas(false, { type: 'string' }), []);
  });
});

describe('compareSchemas: references', () => {
  const withDefs = (node: JsonSchema): JsonSchema => ({
    type: 'object',
    properties: { node: { $ref: '#/$defs/Node' } },
    $defs: { Node: node },
  });

  it('follows local $refs', () => {
    const breaks = compareSchemas(
      withDefs({ type: 'object', properties: { name: { type: 'string' } } }),
      withDefs({ type: 'object', properties: {} }),
    );
    assertBreak(breaks, 'property-removed', 'node.name');
  });

  it('terminates on recursive schemas', () => {
    const tree = (extra: Record<string, JsonSchema>): JsonSchema => ({
      $ref: '#/$defs/Tree',
      $defs: { Tree: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/$defs/Tree' } }, ...extra } } },
    });
    assert.deepEqual(compareSchemas(tree({}), tree({ label: { type: 'string' } })), []);
    assertBreak(compareSchemas(tree({ label: { type: 'string' } }), tree({})), 'property-removed', 'label');
  });
});

describe('compareSchemas over the catalogue', () => {
  it('finds every event schema compatible with itself', () => {
    for (const definition of EVENT_CATALOGUE) {
      const schema = eventJsonSchema(definition);
      assert.deepEqual(compareSchemas(schema, structuredClone(schema)), [], definition.type);
    }
  });

  it('names the data path of a break in a whole CloudEvent schema', () => {
    const [definition] = EVENT_CATALOGUE;
    const released = eventJsonSchema(definition) as { properties: { data: { required: string[] } } };
    const candidate = structuredClone(released);
    candidate.properties.data.required.push('nodeOs');
    assertBreak(compareSchemas(released, candidate), 'property-made-required', 'data.nodeOs');
  });
});

describe('formatBreaks', () => {
  it('prints one line per break with its path and kind', () => {
    assert.equal(
      formatBreaks([
        { kind: 'property-removed', path: 'data.name', message: 'property removed' },
        { kind: 'type-changed', path: '', message: 'no value is accepted any more' },
      ]),
      'data.name: property removed [property-removed]\n(root): no value is accepted any more [type-changed]',
    );
  });
});
