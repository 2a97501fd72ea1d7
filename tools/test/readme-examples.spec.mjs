// The README's example requests are real: every `curl -d '<json>' https://localhost:8443/api/v1/...`
// in a fenced sh block is parsed and checked against the zod schema its route validates with
// (the services' built code), cluster requests also by the provisioner's own rules, and together
// they show one request for each cluster model. Needs the workspace built (npm test builds it first).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OPENAPI_FILE } from '../openapi.mjs';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const load = (path) => import(join(root, path));

/** The schema each documented route validates its body with, from the service that serves it. */
const BODY_SCHEMAS = {
  'POST /api/v1/clusters': ['services/inventory/dist/src/http/cluster-requests.js', 'CreateClusterBody'],
  'POST /api/v1/imports': ['services/importer/dist/src/http/import-requests.js', 'CreateImportBody'],
  'POST /api/v1/credentials': ['services/importer/dist/src/credentials/registration.js', 'RegisterCredentialBody'],
  'POST /api/v1/registrations': ['services/importer/dist/src/registration/registration-settings.js', 'CreateRegistrationBody'],
  'POST /api/v1/ssh-keys': ['services/provisioner/dist/src/hosts/ssh-keys.controller.js', 'RegisterSshKeyBody'],
};

/** Every request of the README's sh blocks that sends a body: method, path and the body's text. */
function exampleRequests(markdown) {
  const requests = [];
  for (const [, block] of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const text = block.replace(/\\\n/g, ' ');
    for (const [, body, path] of text.matchAll(/-d '([^']*)'\s+https:\/\/localhost:8443(\/api\/v1\/[^\s'"|]+)/g)) {
      requests.push({ method: 'POST', path, body });
    }
  }
  return requests;
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');

describe('the README example requests', () => {
  const requests = exampleRequests(readme);

  it('are found: one of each cluster model, an import with its credential, a registration', () => {
    const routes = requests.map((request) => `${request.method} ${request.path}`);
    for (const route of ['POST /api/v1/credentials', 'POST /api/v1/imports', 'POST /api/v1/registrations']) assert.ok(routes.includes(route), `the README shows ${route}`);
    const models = requests.filter((request) => request.path === '/api/v1/clusters').map((request) => JSON.parse(request.body).model);
    assert.deepEqual([...new Set(models)].sort(), ['hosted-control-plane', 'platform-provisioned', 'user-provisioned']);
  });

  it('are JSON that the route accepts: its own zod schema, and an operation of the API document with a request body', async () => {
    const document = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));
    for (const { method, path, body } of requests) {
      const route = `${method} ${path}`;
      assert.ok(BODY_SCHEMAS[route], `${route}: the README shows a route this test knows the schema of`);
      assert.ok(document.paths[path]?.[method.toLowerCase()]?.requestBody, `${route} is in the API document with a request body`);
      const [module, name] = BODY_SCHEMAS[route];
      const schema = (await load(module))[name];
      let parsed;
      assert.doesNotThrow(() => (parsed = JSON.parse(body)), `${route}: the body is JSON`);
      const result = schema.safeParse(parsed);
      assert.ok(result.success, `${route}: ${result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    }
  });

  it('ask for clusters the provisioner takes (its rules, the newest release of the shipped matrix, the simulated provider)', async () => {
    const { validateClusterRequest } = await load('services/provisioner/dist/src/domain/spec-validation.js');
    const { CreateClusterBody } = await load('services/inventory/dist/src/http/cluster-requests.js');
    const { defaultSupportMatrix } = await load('libs/contracts/dist/src/index.js');
    const minor = (release) => release.split('.').map(Number);
    const newest = [...defaultSupportMatrix.releases.keys()].sort((a, b) => minor(a)[0] - minor(b)[0] || minor(a)[1] - minor(b)[1]).at(-1);
    for (const { body } of requests.filter((request) => request.path === '/api/v1/clusters')) {
      const { id, ...spec } = CreateClusterBody.parse(JSON.parse(body));
      assert.deepEqual(validateClusterRequest({ clusterId: id, spec, release: newest, providers: ['simulated'] }), [], `${id}: the provisioner finds nothing wrong`);
    }
  });

  it('would catch a body its route refuses', async () => {
    const [bad] = exampleRequests("```sh\napi -d '{\"clusterName\": \"\"}' https://localhost:8443/api/v1/registrations\n```\n");
    const [module, name] = BODY_SCHEMAS[`${bad.method} ${bad.path}`];
    assert.equal((await load(module))[name].safeParse(JSON.parse(bad.body)).success, false);
  });
});
