import type { z } from 'zod';
import { findDefinition } from './catalogue.js';
import { CloudEventAttributes, type CloudEvent } from './envelope.js';
import type { EventDefinition } from './event-definition.js';

export type ValidationFailure = { ok: false; code: 'schema-invalid' | 'unknown-type'; reason: string };
export type ValidationResult = { ok: true; event: CloudEvent; definition: EventDefinition } | ValidationFailure;

/**
 * Checks decoded attributes and data against the catalogue. A failure names every bad field,
 * e.g. `data.controlPlane.count: Invalid input`.
 */
export function validateEvent(raw: Record<string, unknown>): ValidationResult {
  const attributes = CloudEventAttributes.safeParse(raw);
  if (!attributes.success) {
    return { ok: false, code: 'schema-invalid', reason: describeIssues(attributes.error) };
  }
  const definition = findDefinition(attributes.data.type);
  if (!definition) {
    return { ok: false, code: 'unknown-type', reason: `unknown event type "${attributes.data.type}"` };
  }
  const data = definition.data.safeParse(raw['data']);
  if (!data.success) {
    return { ok: false, code: 'schema-invalid', reason: describeIssues(data.error, 'data') };
  }
  const event: CloudEvent = {
    ...attributes.data,
    datacontenttype: 'application/json',
    data: data.data,
  };
  return { ok: true, event, definition };
}

/** One line per problem, each naming the field path. */
export function describeIssues(error: z.ZodError, root?: string): string {
  return error.issues
    .map((issue) => {
      const path = [...(root ? [root] : []), ...issue.path.map(String)].join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}
