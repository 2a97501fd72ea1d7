// The one OpenAPI document (tools/openapi.mjs -> deploy/openapi/flotilla.openapi.json): it is up
// to date with the built services' controllers, covers every route of the table, and merges
// documents without clashes. Needs the workspace built (npm test builds it first).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { routeFor } from '../../deploy/routes.mjs';
import { mergeDocuments, OPENAPI_FILE } from '../openapi.mjs';
import { documentationGaps } from '../../libs/service-kit/dist/src/index.js';

const root = resolve(fileURLToPath(import.meta.url), '../../..');

describe('the merged OpenAPI document', () => {
  it('is up to date with the services (node tools/openapi.mjs --check)', { timeout: 120_000 }, () => {
    const result = spawnSync(process.execPath, [join(root, 'tools/openapi.mjs'), '--check'], { cwd: root, encoding: 'utf8' });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });

  it('declares bearerAuth and oidc, required globally, and routes every path to the service that declares it', () => {
    const document = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));
    assert.deepEqual(document.components.securitySchemes.bearerAuth, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: document.components.securitySchemes.bearerAuth.description });
    assert.equal(document.components.securitySchemes.oidc.type, 'openIdConnect');
    assert.match(document.components.securitySchemes.oidc.description, /OIDC_ISSUER_URL/);
    assert.deepEqual(document.security, [{ bearerAuth: [] }, { oidc: [] }]);
    const services = new Set();
    for (const [path, item] of Object.entries(document.paths)) {
      assert.equal(routeFor(path)?.service, item['x-flotilla-service'], `${path} is routed to the service that declares it`);
      services.add(item['x-flotilla-service']);
    }
    assert.deepEqual([...services].sort(), ['importer', 'inventory', 'provisioner', 'tunnel-broker', 'upgrade-planner']);
  });

  it('documents every operation: a success answer with its schema, its errors, an example request body, and its security or why it is public', () => {
    const document = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));
    assert.equal(document.openapi, '3.1.0', 'OpenAPI 3.1: the schemas are JSON Schema 2020-12, as zod writes them');
    assert.deepEqual(documentationGaps(document), []);
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (method.startsWith('x-')) continue;
        if (operation.security.length === 0) assert.ok(operation['x-flotilla-public'], `${method} ${path}: public, and says why`);
        else assert.ok(['viewer', 'operator', 'admin'].includes(operation['x-flotilla-role']), `${method} ${path}: names its role`);
      }
    }
  });

  it('resolves every $ref it holds to a component it defines', () => {
    const document = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));
    const refs = new Set();
    const walk = (value) => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === 'object') for (const [key, child] of Object.entries(value)) key === '$ref' ? refs.add(child) : walk(child);
    };
    walk(document);
    assert.ok(refs.size > 0);
    for (const ref of refs) {
      const [, kind, name] = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref) ?? [];
      assert.ok(kind && document.components[kind]?.[name], `${ref} resolves`);
    }
  });

  it('refuses documents of different OpenAPI versions, and a security scheme two services define differently', () => {
    const doc = (openapi, securitySchemes = {}) => ({ openapi, info: { title: 'x', version: '1' }, paths: {}, components: { securitySchemes } });
    assert.throws(() => mergeDocuments([{ service: 'inventory', document: doc('3.1.0') }, { service: 'importer', document: doc('3.0.0') }]), /different OpenAPI versions: 3\.1\.0, 3\.0\.0/);
    assert.throws(
      () => mergeDocuments([{ service: 'inventory', document: doc('3.1.0', { bearerAuth: { type: 'http', scheme: 'bearer' } }) }, { service: 'importer', document: doc('3.1.0', { bearerAuth: { type: 'apiKey' } }) }]),
      /security scheme bearerAuth differs between services/,
    );
    assert.equal(mergeDocuments([{ service: 'inventory', document: doc('3.1.0') }]).openapi, '3.1.0');
  });

  it('renames components two services define differently, keeps shared identical ones, and refuses a path declared twice', () => {
    const doc = (schemas, paths) => ({ openapi: '3.0.0', info: { title: 'x', version: '1' }, paths, components: { schemas } });
    const op = (ref) => ({ get: { operationId: 'C_get', responses: { 200: { content: { 'application/json': { schema: { $ref: ref } } } } } } });
    const merged = mergeDocuments([
      { service: 'inventory', document: doc({ Cluster: { type: 'object' }, Page: { type: 'array' } }, { '/api/v1/clusters': op('#/components/schemas/Cluster'), '/healthz': {} }) },
      { service: 'upgrade-planner', document: doc({ Cluster: { type: 'string' }, Page: { type: 'array' } }, { '/api/v1/fleet': op('#/components/schemas/Cluster') }) },
    ]);
    assert.deepEqual(Object.keys(merged.components.schemas), ['Cluster', 'Page', 'UpgradePlannerCluster']);
    assert.equal(merged.paths['/api/v1/fleet'].get.responses[200].content['application/json'].schema.$ref, '#/components/schemas/UpgradePlannerCluster');
    assert.equal(merged.paths['/api/v1/clusters'].get.responses[200].content['application/json'].schema.$ref, '#/components/schemas/Cluster');
    assert.equal(merged.paths['/api/v1/fleet'].get.operationId, 'upgrade-planner_C_get');
    assert.deepEqual(merged.paths['/api/v1/fleet'].get.tags, ['upgrade-planner']);
    assert.equal(merged.paths['/healthz'], undefined, 'health stays per service');
    assert.throws(
      () => mergeDocuments([{ service: 'inventory', document: doc({}, { '/api/v1/x': {} }) }, { service: 'importer', document: doc({}, { '/api/v1/x': {} }) }]),
      /\/api\/v1\/x is declared by inventory and importer/,
    );
  });
});
