#!/usr/bin/env node
// One OpenAPI document for the whole Flotilla API: each service's Nest/Swagger document, built
// from its compiled module in Nest's preview mode (controllers and their metadata only: no
// provider is created, so no database or NATS is needed), merged into
// deploy/openapi/flotilla.openapi.json. The inventory serves that file at /api/docs, which the
// entry point routes to it. Paths outside /api/ (health, metrics) stay per service.
//
// Each service's document comes from @flotilla/service-kit's apiDocument: the zod schemas of its
// requests and answers, the shared error bodies, and each route's access from its @Access rule.
//
// Usage: node tools/openapi.mjs [--check]   (after npm run build; --check fails when the file is stale)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SERVICES } from './start-lib/env.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../..');
export const OPENAPI_FILE = join(root, 'deploy/openapi/flotilla.openapi.json');

/** Values that satisfy each service's configuration schema; nothing connects in preview mode. */
const PREVIEW_ENV = {
  DATABASE_URL: 'postgres://preview@127.0.0.1:1/preview',
  NATS_URL: 'nats://127.0.0.1:1',
  SECRETS_KEYS: `preview:${Buffer.alloc(32).toString('base64')}`,
  LOG_LEVEL: 'silent',
};

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** The document of one service, as its controllers declare it. */
export async function serviceDocument(name) {
  const dist = join(root, 'services', name, 'dist/src/service.js');
  if (!existsSync(dist)) throw new Error(`${relative(root, dist)} is missing: run npm run build first`);
  const requireFromService = createRequire(join(root, 'services', name, 'package.json'));
  requireFromService('reflect-metadata');
  const load = (pkg) => import(pathToFileURL(requireFromService.resolve(pkg)).href);
  const [{ NestFactory }, { apiDocument, loadConfig }] = await Promise.all([load('@nestjs/core'), load('@flotilla/service-kit')]);
  const exports = await import(pathToFileURL(dist).href);
  const definition = Object.values(exports).find((value) => value?.name === name && typeof value.module === 'function' && value.config);
  if (!definition) throw new Error(`${relative(root, dist)} exports no service definition named ${name}`);
  const config = loadConfig(definition.config, { ...PREVIEW_ENV, FLOTILLA_SERVICE: name });
  const app = await NestFactory.create(definition.module(config), { preview: true, logger: false, abortOnError: false });
  try {
    return apiDocument(app, { title: name });
  } finally {
    await app.close();
  }
}

/** Rewrites `#/components/<kind>/<from>` references to `<to>` everywhere in `value`. */
function renameRefs(value, kind, renames) {
  if (Array.isArray(value)) return value.map((v) => renameRefs(v, kind, renames));
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [key, v] of Object.entries(value)) {
    const prefix = `#/components/${kind}/`;
    out[key] = key === '$ref' && typeof v === 'string' && v.startsWith(prefix) && renames.has(v.slice(prefix.length)) ? prefix + renames.get(v.slice(prefix.length)) : renameRefs(v, kind, renames);
  }
  return out;
}

const pascal = (name) => name.replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase());
const stable = (value) => JSON.stringify(value);

/**
 * Merges the services' documents: /api/ paths (a path claimed twice is an error), every operation
 * tagged with its service and its operationId prefixed with it, components merged (a name used
 * by two services for different things gets the service's name in front, references follow).
 */
export function mergeDocuments(documents) {
  const versions = [...new Set(documents.map(({ document }) => document.openapi))];
  if (versions.length > 1) throw new Error(`the services' documents are of different OpenAPI versions: ${versions.join(', ')}`);
  const merged = {
    openapi: versions[0] ?? '3.1.0',
    info: {
      title: 'Flotilla API',
      version: '1',
      description:
        "Every operator-facing API of Flotilla's five services, behind one address (npm start: https://localhost:8443; docker compose and the Kubernetes Ingress likewise). " +
        'Callers authenticate with a Flotilla token (bearerAuth) or, when OIDC_ISSUER_URL is set, a token of that OpenID Connect issuer (oidc). ' +
        'Each operation names the role it needs (x-flotilla-role), or why it is public (x-flotilla-public, with security: []). ' +
        'Errors share two bodies: ValidationError (every 400: each bad field in errors[]) and Error (statusCode, message, and a code where callers act on the reason).',
    },
    servers: [{ url: '/', description: 'the Flotilla entry point this document is served from' }],
    tags: [],
    paths: {},
    components: { securitySchemes: {} },
    security: [{ bearerAuth: [] }, { oidc: [] }],
  };
  const owners = new Map(); // "kind/name" -> { service, value }
  for (const { service, document } of documents) {
    // Components first: names taken by another service with another meaning are renamed.
    const renamesByKind = new Map();
    for (const [name, scheme] of Object.entries(document.components?.securitySchemes ?? {})) {
      const known = merged.components.securitySchemes[name];
      if (known && stable(known) !== stable(scheme)) throw new Error(`security scheme ${name} differs between services`);
      merged.components.securitySchemes[name] = scheme;
    }
    for (const [kind, entries] of Object.entries(document.components ?? {})) {
      if (kind === 'securitySchemes') continue;
      const renames = new Map();
      for (const [name, value] of Object.entries(entries)) {
        const owner = owners.get(`${kind}/${name}`);
        if (owner && owner.service !== service && stable(owner.value) !== stable(value)) renames.set(name, `${pascal(service)}${name}`);
      }
      renamesByKind.set(kind, renames);
    }
    let doc = document;
    for (const [kind, renames] of renamesByKind) if (renames.size > 0) doc = renameRefs(doc, kind, renames);
    for (const [kind, entries] of Object.entries(doc.components ?? {})) {
      if (kind === 'securitySchemes') continue;
      merged.components[kind] ??= {};
      for (const [original, value] of Object.entries(entries)) {
        const name = renamesByKind.get(kind)?.get(original) ?? original;
        if (!owners.has(`${kind}/${name}`)) owners.set(`${kind}/${name}`, { service, value });
        merged.components[kind][name] = value;
      }
    }
    merged.tags.push({ name: service, description: `served by the ${service} service` });
    for (const [path, item] of Object.entries(doc.paths ?? {})) {
      if (!path.startsWith('/api/')) continue;
      if (merged.paths[path]) throw new Error(`${path} is declared by ${merged.paths[path]['x-flotilla-service']} and ${service}`);
      const operations = {};
      for (const [method, operation] of Object.entries(item)) {
        if (!METHODS.includes(method)) {
          operations[method] = operation;
          continue;
        }
        operations[method] = {
          ...operation,
          operationId: operation.operationId ? `${service}_${operation.operationId}` : undefined,
          tags: [...new Set([...(operation.tags ?? []), service])],
        };
      }
      merged.paths[path] = { 'x-flotilla-service': service, ...operations };
    }
  }
  merged.paths = Object.fromEntries(Object.entries(merged.paths).sort(([a], [b]) => a.localeCompare(b)));
  for (const kind of Object.keys(merged.components)) {
    merged.components[kind] = Object.fromEntries(Object.entries(merged.components[kind]).sort(([a], [b]) => a.localeCompare(b)));
  }
  return JSON.parse(JSON.stringify(merged)); // drops undefined operationIds
}

export async function buildDocument() {
  const documents = [];
  for (const { name } of SERVICES) documents.push({ service: name, document: await serviceDocument(name) });
  return mergeDocuments(documents);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  try {
    const text = `${JSON.stringify(await buildDocument(), null, 2)}\n`;
    const current = existsSync(OPENAPI_FILE) ? readFileSync(OPENAPI_FILE, 'utf8') : undefined;
    if (check) {
      if (current !== text) {
        console.error(`${relative(root, OPENAPI_FILE)} is out of date: run npm run build && node tools/openapi.mjs, and commit it`);
        process.exit(1);
      }
      console.log(`${relative(root, OPENAPI_FILE)} is up to date`);
    } else if (current === text) {
      console.log(`${relative(root, OPENAPI_FILE)} unchanged`);
    } else {
      mkdirSync(dirname(OPENAPI_FILE), { recursive: true });
      writeFileSync(OPENAPI_FILE, text);
      console.log(`wrote ${relative(root, OPENAPI_FILE)}`);
    }
    process.exit(0);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
