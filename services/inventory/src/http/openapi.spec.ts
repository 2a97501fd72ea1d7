import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { OpenAPIObject } from '@nestjs/swagger';
import { operatorsDocument } from './openapi.js';

const dir = mkdtempSync(join(tmpdir(), 'inventory-openapi-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const own: OpenAPIObject = {
  openapi: '3.0.0',
  info: { title: 'Flotilla inventory', version: '1' },
  paths: {
    '/healthz': { get: { responses: {} } },
    '/api/v1/clusters': { get: { operationId: 'ClustersController_list', responses: {} } },
  },
};

describe('the document the inventory serves at /api/docs', () => {
  it('is the merged document, with the inventory routes from its live document', () => {
    const file = join(dir, 'merged.json');
    writeFileSync(
      file,
      JSON.stringify({
        openapi: '3.0.0',
        info: { title: 'Flotilla API', version: '1' },
        security: [{ bearerAuth: [] }, { oidc: [] }],
        components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
        paths: {
          '/api/v1/tunnels': { 'x-flotilla-service': 'tunnel-broker', get: { responses: {} } },
          '/api/v1/clusters/stale': { 'x-flotilla-service': 'inventory', get: { responses: {} } },
        },
      }),
    );
    const document = operatorsDocument(own, file);
    assert.deepEqual(Object.keys(document.paths), ['/api/v1/clusters', '/api/v1/tunnels']);
    assert.deepEqual(document.paths['/api/v1/clusters']?.get, { operationId: 'inventory_ClustersController_list', responses: {}, tags: ['inventory'] });
    assert.deepEqual(document.security, [{ bearerAuth: [] }, { oidc: [] }]);
    assert.ok(document.components?.securitySchemes?.['bearerAuth']);
  });

  it('is the inventory document alone when the merged file is missing', () => {
    assert.equal(operatorsDocument(own, join(dir, 'missing.json')), own);
  });
});
