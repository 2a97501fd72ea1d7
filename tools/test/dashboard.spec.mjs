// The fleet dashboard at the entry point (tools/start-lib/dashboard.mjs): its files, index.html for
// its own paths, /config.json, nothing outside its build, and /api left to the services.
// Run: node --test tools/test/
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dashboardHandler, isDashboardPath, traceViewerUrl } from '../start-lib/dashboard.mjs';
import { createGateway } from '../start-lib/gateway.mjs';

describe('the dashboard at the entry point', () => {
  let dir;
  let gateway;
  let api;
  let base;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-dashboard-'));
    const build = join(dir, 'app');
    mkdirSync(join(build, 'assets'), { recursive: true });
    writeFileSync(join(build, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(join(build, 'assets', 'index-abc123.js'), 'console.log(1)');
    writeFileSync(join(dir, 'secret.txt'), 'outside the build');
    api = http.createServer((req, res) => res.end(JSON.stringify({ service: 'inventory', url: req.url })));
    await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve));
    const dashboard = dashboardHandler({ dir: build, config: { traceViewerUrl: 'http://localhost:16686/trace/{traceId}' } });
    gateway = createGateway({ targets: { inventory: `http://127.0.0.1:${api.address().port}` }, dashboard });
    base = `http://127.0.0.1:${(await gateway.listen(0, '127.0.0.1')).port}`;
  });

  after(async () => {
    await gateway?.close();
    await new Promise((resolve) => api.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers its pages with index.html, never cached, under a strict Content-Security-Policy', async () => {
    for (const path of ['/', '/clusters', '/clusters/edge-1?tab=timeline', '/upgrade-plans/plan-1']) {
      const response = await fetch(`${base}${path}`);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get('content-type'), /^text\/html/);
      assert.equal(response.headers.get('cache-control'), 'no-cache');
      assert.match(response.headers.get('content-security-policy'), /default-src 'self'.*frame-ancestors 'none'/);
      assert.equal(await response.text(), '<!doctype html><div id="root"></div>');
    }
  });

  it('serves its built files, the hashed ones for good, and 404 for a file it does not have', async () => {
    const script = await fetch(`${base}/assets/index-abc123.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type'), /^text\/javascript/);
    assert.match(script.headers.get('cache-control'), /immutable/);
    assert.equal((await fetch(`${base}/assets/gone.js`)).status, 404);
  });

  it('serves nothing outside its build', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const response = await fetch(`${base}${path}`);
      assert.doesNotMatch(await response.text(), /outside the build/, path);
    }
    const raw = await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: new URL(base).port, path: '/../secret.txt' }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += chunk)).on('end', () => resolve(body));
      }).on('error', reject);
    });
    assert.doesNotMatch(raw, /outside the build/);
  });

  it('gives the settings of this place at /config.json and refuses writes', async () => {
    assert.deepEqual(await (await fetch(`${base}/config.json`)).json(), { traceViewerUrl: 'http://localhost:16686/trace/{traceId}' });
    assert.equal((await fetch(`${base}/clusters`, { method: 'POST' })).status, 405);
  });

  it('leaves /api to the services', async () => {
    assert.deepEqual(await (await fetch(`${base}/api/v1/clusters?limit=1`)).json(), { service: 'inventory', url: '/api/v1/clusters?limit=1' });
    const unknown = await fetch(`${base}/api/v1/nothing`);
    assert.equal(unknown.status, 404);
    assert.match((await unknown.json()).message, /no Flotilla API at \/api\/v1\/nothing/);
    assert.equal(isDashboardPath('/api'), false);
    assert.equal(isDashboardPath('/apis'), true);
  });

  it('is absent until it is built', () => {
    assert.equal(dashboardHandler({ dir: join(dir, 'not-built') }), undefined);
  });
});

describe("the dashboard's trace viewer link", () => {
  it('is FLOTILLA_TRACE_VIEWER_URL, else Jaeger when traces go to a collector, else none', () => {
    assert.equal(traceViewerUrl({ FLOTILLA_TRACE_VIEWER_URL: 'https://traces.example.com/t/{traceId}' }, { env: {} }), 'https://traces.example.com/t/{traceId}');
    assert.equal(traceViewerUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, { env: {} }), 'http://localhost:16686/trace/{traceId}');
    assert.equal(traceViewerUrl({}, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318' } }), 'http://localhost:16686/trace/{traceId}');
    assert.equal(traceViewerUrl({}, { env: { OTEL_TRACES_EXPORTER: 'none' } }), undefined);
  });

  it('stops start-up naming the variable when it is not an http(s) URL', () => {
    assert.throws(() => traceViewerUrl({ FLOTILLA_TRACE_VIEWER_URL: 'javascript:alert(1)' }, { env: {} }), /FLOTILLA_TRACE_VIEWER_URL must be an http\(s\) URL/);
  });
});
