import type { OpenAPIObject } from '@nestjs/swagger';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface MediaTypes {
  content?: Record<string, { schema?: unknown; example?: unknown; examples?: Record<string, unknown> }>;
  headers?: Record<string, unknown>;
}
interface OperationShape {
  parameters?: { name?: string; in?: string; schema?: Record<string, unknown> }[];
  security?: unknown[];
  responses?: Record<string, MediaTypes>;
  requestBody?: MediaTypes;
  'x-flotilla-public'?: string;
}

const hasSchema = (part: MediaTypes | undefined) => Object.values(part?.content ?? {}).some((media) => media.schema !== undefined);

/**
 * What an operation of the document leaves out, one line each: a success answer with a schema
 * (or a 204, or a redirect with its Location), the errors it answers with their schemas, a schema
 * for each parameter, an example of its request body, and its security (or `security: []` with
 * the reason it is public). Empty for a complete document.
 */
export function documentationGaps(document: Pick<OpenAPIObject, 'paths'>): string[] {
  const gaps: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as OperationShape | undefined;
      if (!operation) continue;
      const where = `${method.toUpperCase()} ${path}`;
      const responses = Object.entries(operation.responses ?? {});
      const answered = responses.some(([status, response]) => (/^2\d\d$/.test(status) && (status === '204' || hasSchema(response))) || (/^3\d\d$/.test(status) && response.headers?.['Location'] !== undefined));
      if (!answered) gaps.push(`${where}: no success answer with a schema`);
      const errors = responses.filter(([status]) => /^[45]\d\d$/.test(status));
      if (errors.length === 0) gaps.push(`${where}: no error answers`);
      for (const [status, response] of errors) if (!hasSchema(response)) gaps.push(`${where}: the ${status} answer has no schema`);
      for (const parameter of operation.parameters ?? []) {
        if (Object.keys(parameter.schema ?? {}).length === 0) gaps.push(`${where}: the ${parameter.in ?? ''} parameter ${parameter.name ?? ''} has no schema`);
      }
      if (operation.requestBody) {
        const media = Object.values(operation.requestBody.content ?? {});
        if (!media.some((one) => one.schema !== undefined)) gaps.push(`${where}: the request body has no schema`);
        if (!media.some((one) => one.example !== undefined || Object.keys(one.examples ?? {}).length > 0)) gaps.push(`${where}: the request body has no example`);
        if (!operation.responses?.['415']) gaps.push(`${where}: takes a body, but no 415 for one that is not JSON`);
      }
      if (!Array.isArray(operation.security)) gaps.push(`${where}: no security requirement (or security: [] for a public route)`);
      else if (operation.security.length === 0 && !operation['x-flotilla-public']) gaps.push(`${where}: security: [] without x-flotilla-public saying why`);
      else if (operation.security.length > 0 && !(operation.responses?.['401'] && operation.responses['403'])) gaps.push(`${where}: protected, but no 401 and 403`);
    }
  }
  return gaps;
}
