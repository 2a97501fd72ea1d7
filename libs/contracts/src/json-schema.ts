import { z } from 'zod';
import { CloudEventAttributes } from './envelope.js';
import type { EventDefinition } from './event-definition.js';

/** A JSON Schema document or sub-schema, as plain JSON. */
export type JsonSchema = boolean | { [keyword: string]: unknown };

/** Where the published schema files claim to live; `$id` of `schemas/<type>.json`. */
export const SCHEMA_ID_BASE = 'https://flotilla.io/schemas/';

export function schemaId(type: string): string {
  return `${SCHEMA_ID_BASE}${type}.json`;
}

export type JsonSchemaTarget = 'draft-2020-12' | 'draft-07';

/**
 * The JSON Schema of a whole CloudEvent of one type, in structured form (attributes and `data`
 * side by side). It describes what a publisher may send: fields with a default are optional and
 * carry the default, which consumers fill in when they parse.
 */
export function eventJsonSchema(definition: EventDefinition): Record<string, unknown> {
  const { $schema, ...body } = toJsonSchema(eventSchema(definition), 'draft-2020-12');
  return { $schema, $id: schemaId(definition.type), title: definition.name, description: definition.description, ...body };
}

/** The JSON Schema of `data` alone: the payload of a binary-mode message. */
export function eventDataJsonSchema(definition: EventDefinition, target: JsonSchemaTarget = 'draft-2020-12'): Record<string, unknown> {
  return toJsonSchema(definition.data, target);
}

/** The attributes of one event type (its `type` fixed), without `data`. */
export function eventAttributesJsonSchema(definition: EventDefinition, target: JsonSchemaTarget = 'draft-2020-12'): Record<string, unknown> {
  return toJsonSchema(CloudEventAttributes.extend({ type: z.literal(definition.type).describe('The event type'), subject: subjectAttribute(definition) }), target);
}

function eventSchema(definition: EventDefinition): z.ZodType {
  return CloudEventAttributes.extend({
    type: z.literal(definition.type).describe('The event type'),
    subject: subjectAttribute(definition),
    data: definition.data,
  });
}

const SUBJECT_RULES = {
  cluster: 'The cluster id: a DNS label (lower-case letters, digits and "-", at most 63). Consumers dead-letter any other subject',
  plan: 'The plan id: 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit. Consumers dead-letter any other subject',
  any: 'The subject of the rejected event, or "unknown"',
} as const;

/**
 * The subject as the schema files show it: described per event type. The rule itself is checked
 * by `validateEvent`; the released schemas did not carry it, and tightening them would read as a
 * breaking change to the compatibility guard.
 */
function subjectAttribute(definition: EventDefinition): z.ZodType {
  return CloudEventAttributes.shape.subject.describe(SUBJECT_RULES[definition.subject ?? 'cluster']);
}

function toJsonSchema(schema: z.ZodType, target: JsonSchemaTarget): Record<string, unknown> {
  // `unrepresentable: 'throw'` (the default) makes a schema that JSON Schema cannot express fail
  // generation instead of silently widening to `{}`.
  return z.toJSONSchema(schema, { target, io: 'input', unrepresentable: 'throw' });
}
