import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Access, Public } from '@flotilla/auth';
import type { OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { ZodValidationPipe } from '../validation.js';
import { describes } from './answer-schema.js';
import { documentationGaps } from './completeness.js';
import { ApiAnswer, ApiErrors, ApiQueryParameters, ApiRequestBody } from './decorators.js';
import { apiDocument } from './document.js';

const CreateWidget = z.object({ name: z.string().min(1), size: z.number().int().positive() }).strict();
interface Widget {
  id: string;
  name: string;
  createdAt: string;
}
const ListWidgets = z.object({
  colour: z.enum(['red', 'blue']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).describe('nextCursor of the previous page'),
});
const WidgetAnswer = describes<Widget>()(z.object({ id: z.string(), name: z.string(), createdAt: z.iso.datetime() }));

@Controller('api/v1/widgets')
class WidgetsController {
  @Post()
  @Access('operator', { scoped: true })
  @ApiRequestBody(CreateWidget, { name: 'w', size: 3 })
  @ApiAnswer(201, WidgetAnswer, 'The widget')
  @ApiErrors({ 400: 'Invalid request', 409: 'The name is taken' })
  create(@Body(new ZodValidationPipe(CreateWidget)) body: z.infer<typeof CreateWidget>): Widget {
    return { id: '1', name: body.name, createdAt: new Date(0).toISOString() };
  }

  @Get()
  @Access('viewer')
  @ApiQueryParameters(ListWidgets)
  list(): Widget[] {
    return [];
  }

  @Get('status')
  @Public('anyone may ask')
  @ApiAnswer(200, z.object({ ok: z.boolean() }), 'Up')
  @ApiErrors({ 503: 'Down' })
  status(): { ok: boolean } {
    return { ok: true };
  }
}

@Module({ controllers: [WidgetsController] })
class WidgetsModule {}

async function widgetsDocument(): Promise<OpenAPIObject> {
  const app = await NestFactory.create(WidgetsModule, { preview: true, logger: false, abortOnError: false });
  try {
    return apiDocument(app, { title: 'widgets' });
  } finally {
    await app.close();
  }
}

type Responses = Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }> }>;

describe('the OpenAPI document of a service', () => {
  it('is OpenAPI 3.1 with JSON Schema 2020-12 from the zod schemas, the shared error bodies and the security schemes', async () => {
    const document = await widgetsDocument();
    assert.equal(document.openapi, '3.1.0');
    assert.deepEqual(Object.keys(document.components?.securitySchemes ?? {}).sort(), ['bearerAuth', 'oidc']);
    assert.ok(document.components?.schemas?.['ValidationError'] && document.components.schemas['Error']);
    const create = document.paths['/api/v1/widgets']!.post!;
    const body = (create.requestBody as { content: Record<string, { schema: Record<string, unknown>; examples: Record<string, { value: unknown }> }> }).content['application/json']!;
    assert.deepEqual(body.schema['required'], ['name', 'size']);
    assert.equal(body.schema['additionalProperties'], false);
    assert.deepEqual(body.examples['example']!.value, { name: 'w', size: 3 });
    const responses = create.responses as Responses;
    const answer = responses['201']!.content!['application/json']!.schema;
    assert.equal((answer['properties'] as Record<string, Record<string, unknown>>)['createdAt']!['format'], 'date-time');
    assert.equal(answer['$schema'], undefined);
    assert.deepEqual(responses['400']!.content!['application/json']!.schema, { $ref: '#/components/schemas/ValidationError' });
    assert.deepEqual(responses['409']!.content!['application/json']!.schema, { $ref: '#/components/schemas/Error' });
    assert.deepEqual(responses['415']!.content!['application/json']!.schema, { $ref: '#/components/schemas/Error' }, 'a body that is not JSON');
    assert.equal((document.paths['/api/v1/widgets']!.get!.responses as Responses)['415'], undefined, 'no body, no 415');
  });

  it('documents query parameters from the schema the query is validated with', async () => {
    const document = await widgetsDocument();
    const parameters = document.paths['/api/v1/widgets']!.get!.parameters as { name: string; in: string; required: boolean; description?: string; schema: Record<string, unknown> }[];
    const byName = Object.fromEntries(parameters.map((parameter) => [parameter.name, parameter]));
    assert.deepEqual(Object.keys(byName).sort(), ['colour', 'cursor', 'limit']);
    assert.ok(parameters.every((parameter) => parameter.in === 'query'));
    assert.deepEqual(byName['colour']!.schema['enum'], ['red', 'blue']);
    assert.equal(byName['colour']!.required, false);
    assert.deepEqual([byName['limit']!.schema['minimum'], byName['limit']!.schema['maximum'], byName['limit']!.schema['default']], [1, 500, 50]);
    assert.equal(byName['cursor']!.required, true);
    assert.equal(byName['cursor']!.description, 'nextCursor of the previous page');
  });

  it('takes each route\'s security, role, 401 and 403 from its access rule, and none for a public route', async () => {
    const document = await widgetsDocument();
    const create = document.paths['/api/v1/widgets']!.post! as unknown as Record<string, unknown> & { responses: Responses };
    assert.deepEqual(create['security'], [{ bearerAuth: [] }, { oidc: [] }]);
    assert.equal(create['x-flotilla-role'], 'operator');
    assert.match(create.responses['403']!.description, /below operator, or the cluster is outside/);
    assert.ok(create.responses['401']);
    const list = document.paths['/api/v1/widgets']!.get! as unknown as { responses: Responses };
    assert.match(list.responses['403']!.description, /label-scoped/);
    const status = document.paths['/api/v1/widgets/status']!.get! as unknown as Record<string, unknown> & { responses: Responses };
    assert.deepEqual(status['security'], []);
    assert.equal(status['x-flotilla-public'], 'anyone may ask');
    assert.equal(status.responses['401'], undefined);
  });

  it('names every operation that leaves out its answer, errors, example or security', async () => {
    assert.deepEqual(documentationGaps(await widgetsDocument()), ['GET /api/v1/widgets: no success answer with a schema']);
    const gaps = documentationGaps({
      paths: <OpenAPIObject['paths']>{
        '/x': {
          post: {
            parameters: [{ name: 'dry', in: 'query', schema: {} }],
            responses: { 200: { description: 'ok' }, 404: { description: 'none' } },
            requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
          },
          delete: { responses: { 204: { description: 'gone' }, 404: { description: 'none', content: { 'application/json': { schema: {} } } } }, security: [] },
        },
        '/elsewhere': {
          get: {
            responses: { 307: { description: 'there', headers: { Location: { schema: { type: 'string' } } } }, 404: { description: 'none', content: { 'application/json': { schema: {} } } } },
            security: [],
            'x-flotilla-public': 'a redirect is a complete answer',
          },
          put: { responses: { 307: { description: 'there, but says not where' }, 404: { description: 'none', content: { 'application/json': { schema: {} } } } }, security: [], 'x-flotilla-public': 'x' },
        },
      },
    });
    assert.deepEqual(gaps, [
      'POST /x: no success answer with a schema',
      'POST /x: the 404 answer has no schema',
      'POST /x: the query parameter dry has no schema',
      'POST /x: the request body has no example',
      'POST /x: takes a body, but no 415 for one that is not JSON',
      'POST /x: no security requirement (or security: [] for a public route)',
      'DELETE /x: security: [] without x-flotilla-public saying why',
      'PUT /elsewhere: no success answer with a schema',
    ]);
  });

  it('refuses an example request its own schema would refuse', () => {
    assert.throws(() => ApiRequestBody(CreateWidget, { name: '', size: 3 }), /example request "example" does not pass its schema: name: /);
    assert.throws(() => ApiRequestBody(CreateWidget, { name: 'w', size: 3, colour: 'red' } as z.input<typeof CreateWidget>), /Unrecognized key/);
    assert.throws(() => ApiRequestBody(CreateWidget, { name: 'w', size: 3 }, { more: { big: { summary: 'big', value: { name: 'w', size: -1 } } } }), /"big" does not pass its schema: size: /);
  });

  it('ties an answer schema to its type at compile time', () => {
    // Each line below fails to compile if describes() stops catching the drift it names.
    // @ts-expect-error a field the type has and the schema lacks
    describes<Widget>()(z.object({ id: z.string(), name: z.string() }));
    // @ts-expect-error a field of another type
    describes<Widget>()(z.object({ id: z.number(), name: z.string(), createdAt: z.string() }));
    // @ts-expect-error an optional field the schema has and the type does not
    describes<Widget>()(z.object({ id: z.string(), name: z.string(), createdAt: z.string(), note: z.string().optional() }));
    assert.ok(describes<Widget>()(WidgetAnswer));
  });
});
