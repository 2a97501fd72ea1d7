import { applyDecorators } from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery, ApiResponse } from '@nestjs/swagger';
import type { z } from 'zod';
import { ERROR_COMPONENTS } from './error-bodies.js';
import { jsonSchemaOf, type JsonSchemaObject } from './json-schema.js';

/**
 * The request body: the schema the route's ZodValidationPipe validates with, and an example
 * request. The example is checked against the schema when the controller is loaded, so a
 * documented example that the route would refuse stops the service and the document build.
 */
export function ApiRequestBody<S extends z.ZodType>(
  schema: S,
  example: z.input<S>,
  options: { description?: string; required?: boolean; more?: Record<string, { summary: string; value: z.input<S> }> } = {},
): MethodDecorator {
  const examples = { example: { summary: 'A request the route accepts', value: example }, ...options.more };
  for (const [name, { value }] of Object.entries(examples)) {
    const checked = schema.safeParse(value);
    if (!checked.success) {
      throw new Error(`the documented example request "${name}" does not pass its schema: ${checked.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ')}`);
    }
  }
  return ApiBody({
    schema: jsonSchemaOf(schema, 'input'),
    required: options.required ?? true,
    ...(options.description === undefined ? {} : { description: options.description }),
    examples,
  });
}

/** One parameter per field of a schema: type, bounds, default, enum and description as it says them. */
function parametersOf(schema: z.ZodObject, decorate: (options: { name: string; required: boolean; schema: JsonSchemaObject; description?: string }) => MethodDecorator): MethodDecorator {
  const json = jsonSchemaOf(schema, 'input');
  const required = new Set((json['required'] as string[] | undefined) ?? []);
  const properties = Object.entries((json['properties'] ?? {}) as Record<string, JsonSchemaObject>);
  return applyDecorators(
    ...properties.map(([name, property]) => {
      const description = typeof property['description'] === 'string' ? property['description'] : undefined;
      return decorate({ name, required: required.has(name), schema: property, ...(description === undefined ? {} : { description }) });
    }),
  );
}

/** The query parameters of a route, from the schema its ZodValidationPipe validates the query with. */
export function ApiQueryParameters(schema: z.ZodObject): MethodDecorator {
  return parametersOf(schema, (options) => ApiQuery(options));
}

/** The path parameters of a route, from the schema its ZodValidationPipe validates them with. */
export function ApiPathParameters(schema: z.ZodObject): MethodDecorator {
  return parametersOf(schema, (options) => ApiParam({ ...options, required: true }));
}

/** A success answer and its body, documented from the zod schema its type comes from (JSON unless said). */
export function ApiAnswer(status: number, schema: z.ZodType, description: string, contentType = 'application/json'): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, content: { [contentType]: { schema: jsonSchemaOf(schema, 'output') } } });
}

/** A success answer without a body. */
export function ApiEmptyAnswer(status: 204, description: string): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description });
}

/** A redirect: the answer is where to go, in Location. */
export function ApiRedirect(status: 301 | 302 | 303 | 307 | 308, description: string, location: string): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, headers: { Location: { description: location, schema: { type: 'string' } } } });
}

/** The 4xx and 5xx a status stands for in the document; 401 and 403 come from the route's access rule. */
export type DocumentedErrorStatus = 400 | 404 | 409 | 410 | 413 | 422 | 429 | 500 | 501 | 502 | 503 | 504;

/**
 * The errors a handler answers itself, each with when it happens. A 400 has the body of every
 * validated request (ValidationError: each bad field in `errors`), the others the common Error.
 */
export function ApiErrors(errors: Partial<Record<DocumentedErrorStatus, string>>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(errors).map(([status, description]) =>
      ApiResponse({ status: Number(status), description, schema: { $ref: `#/components/schemas/${status === '400' ? ERROR_COMPONENTS.validation : ERROR_COMPONENTS.other}` } }),
    ),
  );
}
