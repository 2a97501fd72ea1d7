// The one route table (deploy/routes.mjs) against the code: every @Controller('api/v1/...') in
// services/*/src is routed to its own service, and the table itself is well-formed. Run: node --test tools/test/
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { routeFor, ROUTES } from '../../deploy/routes.mjs';
import { SERVICES } from '../start-lib/env.mjs';
import { STREAMING_PREFIXES } from '../start-lib/gateway.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../../..');

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every controller prefix under api/ in the services' sources: { service, prefix, file }. */
function controllerPrefixes() {
  const found = [];
  for (const service of readdirSync(join(root, 'services'))) {
    let files;
    try {
      files = sourceFiles(join(root, 'services', service, 'src'));
    } catch {
      continue;
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      // @Controller('api/v1/x'), @Controller("/api/v1/x"), @Controller({ path: 'api/v1/x', ... })
      for (const match of text.matchAll(/@Controller\(\s*(?:\{[^}]*?path\s*:\s*)?(['"`])\/?(api\/[^'"`]*)\1/g)) {
        found.push({ service, prefix: `/${match[2]}`, file: relative(root, file) });
      }
    }
  }
  return found;
}

describe('the route table', () => {
  it('routes every API controller to its own service', () => {
    const controllers = controllerPrefixes();
    assert.ok(controllers.length >= 15, `found the controllers (${controllers.length})`);
    const wrong = controllers
      .map((c) => ({ ...c, routedTo: routeFor(c.prefix)?.service }))
      .filter((c) => c.routedTo !== c.service)
      .map((c) => `${c.file}: ${c.prefix} belongs to ${c.service} but is routed to ${c.routedTo ?? 'nothing'}; add it to deploy/routes.mjs`);
    assert.deepEqual(wrong, []);
  });

  it('names known services, has one entry per prefix, and routes on whole segments', () => {
    const names = SERVICES.map((s) => s.name);
    for (const { prefix, service } of ROUTES) {
      assert.ok(names.includes(service), `${prefix}: ${service} is not a service`);
      assert.match(prefix, /^\/api\/[a-z0-9/-]+[a-z0-9]$/, `${prefix} is a clean path prefix`);
    }
    assert.equal(new Set(ROUTES.map((r) => r.prefix)).size, ROUTES.length, 'no prefix twice');
    for (const name of names) assert.ok(ROUTES.some((r) => r.service === name), `${name} has routes`);
    assert.equal(routeFor('/api/v1/clusters')?.service, 'inventory');
    assert.equal(routeFor('/api/v1/clusters/c-1/node-pools?x=1')?.service, 'inventory');
    assert.equal(routeFor('/api/v1/provisioner/clusters/c-1')?.service, 'provisioner');
    assert.equal(routeFor('/api/docs')?.service, 'inventory');
    assert.equal(routeFor('/api/v1/clustersx'), undefined);
    assert.equal(routeFor('/api/v1'), undefined);
    assert.equal(routeFor('/healthz'), undefined);
  });

  it('streams routes of the table only: the Kubernetes API through the tunnel', () => {
    for (const prefix of STREAMING_PREFIXES) assert.ok(ROUTES.some((r) => r.prefix === prefix), `${prefix} is a route`);
    assert.equal(routeFor('/api/v1/tunnels/c-1/k8s/api/v1/pods?watch=true')?.prefix, '/api/v1/tunnels');
    assert.ok(STREAMING_PREFIXES.includes('/api/v1/tunnels'));
  });
});
