import type { INestApplication } from '@nestjs/common';
import { declaredRoutes, type AccessRule } from '@flotilla/auth';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { ERROR_COMPONENTS, ErrorBody, ValidationErrorBody } from './error-bodies.js';
import { jsonSchemaOf, OPENAPI_VERSION } from './json-schema.js';

/** How callers authenticate on every protected route: a Flotilla token, or one of the OIDC issuer. */
export const API_SECURITY_SCHEMES = {
  bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Flotilla token (e.g. the admin token npm start keeps in .data/admin-token)' },
  oidc: {
    type: 'openIdConnect',
    openIdConnectUrl: 'https://oidc-issuer.example/.well-known/openid-configuration',
    description: 'A token of the OpenID Connect issuer set by OIDC_ISSUER_URL (its /.well-known/openid-configuration; the URL here is a placeholder)',
  },
} as const;

/** Either scheme will do. */
export const API_SECURITY: Record<string, string[]>[] = [{ bearerAuth: [] }, { oidc: [] }];

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Operation = { security?: unknown; responses?: Record<string, unknown>; [extension: `x-${string}`]: unknown };

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_COMPONENTS.other}` } } } });

/** `/api/v1/clusters/:id` and `*path` as OpenAPI writes them: `{id}`, `{path}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/[:*]([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * What the access rule of a route means for its callers, written into its operation: the
 * security schemes (none for a public route, with its reason), the role it needs, and the 401
 * and 403 the guard answers. Taken from the same metadata the guard enforces, so the document
 * cannot promise another access than the service applies.
 */
function documentAccess(operation: Operation, rule: AccessRule): void {
  if (rule.kind === 'public') {
    operation.security = [];
    operation['x-flotilla-public'] = rule.reason;
    return;
  }
  operation.security = API_SECURITY;
  operation['x-flotilla-role'] = rule.role;
  const responses = (operation.responses ??= {});
  responses['401'] ??= errorResponse('No token, or one that is expired, revoked or not signed by a known key (WWW-Authenticate says which)');
  responses['403'] ??= errorResponse(
    rule.scoped
      ? `The token's role is below ${rule.role}, or the cluster is outside the token's label scope`
      : `The token's role is below ${rule.role}, or the token is label-scoped (this route acts beyond single clusters)`,
  );
}

/**
 * The OpenAPI document of a service's HTTP API: its controllers' Swagger metadata, the shared
 * error bodies, and each route's access from its @Access or @Public rule. Every service serves
 * it, and tools/openapi.mjs merges them into the one document of the whole API.
 */
export function apiDocument(app: INestApplication, options: { title: string; description?: string }): OpenAPIObject {
  const builder = new DocumentBuilder().setOpenAPIVersion(OPENAPI_VERSION).setTitle(options.title).setVersion('1');
  if (options.description !== undefined) builder.setDescription(options.description);
  for (const [name, scheme] of Object.entries(API_SECURITY_SCHEMES)) builder.addSecurity(name, { ...scheme });
  const document = SwaggerModule.createDocument(app, builder.build());
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, [ERROR_COMPONENTS.validation]: jsonSchemaOf(ValidationErrorBody, 'output'), [ERROR_COMPONENTS.other]: jsonSchemaOf(ErrorBody, 'output') },
  };
  document.security = API_SECURITY;
  for (const { operation } of operationsOf(document)) {
    // A path segment is a string when nothing says more (wildcards, parameters validated as a whole).
    for (const parameter of (operation['parameters'] ?? []) as { in?: string; schema?: Record<string, unknown> }[]) {
      if (parameter.in === 'path' && Object.keys(parameter.schema ?? {}).length === 0) parameter.schema = { type: 'string' };
    }
    // JsonBodyInterceptor answers any body that is not JSON, after authentication and before validation.
    if (operation['requestBody'] !== undefined) {
      const responses = ((operation as Operation).responses ??= {});
      responses['415'] ??= errorResponse('The body is not application/json (`errors` names content-type)');
    }
  }
  for (const route of declaredRoutes(app)) {
    if (route.rule === undefined) continue; // the guard refuses it; checkRouteAccess names it
    const operation = (document.paths[openApiPath(route.path)] as Record<string, Operation> | undefined)?.[route.method.toLowerCase()];
    if (operation) documentAccess(operation, route.rule);
  }
  return document;
}

/** Every operation of a document, by method and path. */
export function operationsOf(document: Pick<OpenAPIObject, 'paths'>): { method: string; path: string; operation: Record<string, unknown> }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined).map((method) => ({ method, path, operation: item[method] as unknown as Record<string, unknown> })),
  );
}
