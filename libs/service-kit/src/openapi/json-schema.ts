import type { z } from 'zod';
import { z as zod } from 'zod';

/** The OpenAPI version of every Flotilla document: its Schema Objects are JSON Schema 2020-12. */
export const OPENAPI_VERSION = '3.1.0';

export type JsonSchemaObject = Record<string, unknown>;

/**
 * The schema a zod schema validates (`input`: what a request may send) or produces (`output`:
 * what an answer holds), as an OpenAPI 3.1 Schema Object. Schemas are inlined: a `$defs`
 * reference would point at the document's root, so a recursive schema is refused here.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchemaObject {
  const { $schema: _dialect, ...converted } = zod.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    cycles: 'throw',
    reused: 'inline',
    unrepresentable: 'throw',
    // `format: date-time` says it; zod's long pattern for it adds nothing a reader or a client needs.
    override: ({ jsonSchema }) => {
      if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
    },
  }) as JsonSchemaObject;
  return converted;
}
