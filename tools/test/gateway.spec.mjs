// npm start's entry point (tools/start-lib/gateway.mjs) against small local HTTP servers standing
// in for the services, the development CA (tools/start-lib/tls.mjs) and the admin-token step
// (tools/start-lib/admin-token.mjs) with a stand-in token CLI. Run: node --test tools/test/
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { X509Certificate } from 'node:crypto';
import { adminTokenStale, adminTokenUsage, ensureAdminToken, jwtPayload } from '../start-lib/admin-token.mjs';
import { createGateway } from '../start-lib/gateway.mjs';
import { certificateCovers, devCaFiles, ensureDevCa, resolveTls, serverNames } from '../start-lib/tls.mjs';

const dirs = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-gateway-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * A stand-in service: answers every request with what it saw (`/stream` in three chunks, the last
 * after `release()`), and switches to any protocol asked for, echoing what it then receives;
 * `/forbidden` refuses the upgrade with 403 JSON, as the broker refuses a viewer's exec.
 */
async function standIn(name) {
  let release;
  const released = new Promise((resolve) => (release = resolve));
  const server = http.createServer((req, res) => {
    if (req.url.startsWith('/api/v1/tunnels/c-1/k8s/stream')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED"}\n');
      setTimeout(() => res.write('{"type":"MODIFIED"}\n'), 50);
      void released.then(() => res.end('{"type":"DELETED"}\n'));
      return;
    }
    let body = '';
    req.setEncoding('utf8').on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ service: name, method: req.method, url: req.url, body, proto: req.headers['x-forwarded-proto'], forwardedFor: req.headers['x-forwarded-for'] }));
    });
  });
  const upgraded = new Set();
  const seen = [];
  server.on('upgrade', (req, socket, head) => {
    upgraded.add(socket);
    seen.push({ method: req.method, url: req.url, headers: req.headers, head: String(head) });
    if (req.url.endsWith('/forbidden')) {
      const text = JSON.stringify({ kind: 'Status', code: 403, reason: 'Forbidden' });
      socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`);
      return;
    }
    const protocol = req.headers.upgrade;
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: ${protocol}\r\nconnection: Upgrade\r\nx-service: ${name}\r\nx-url: ${req.url}\r\nx-protocol: ${protocol}\r\nx-proto: ${req.headers['x-forwarded-proto']}\r\n\r\n`,
    );
    socket.on('data', (chunk) => socket.write(Buffer.concat([Buffer.from(`${name} echoes `), chunk])));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => {
    release();
    for (const socket of upgraded) socket.destroy();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return { url: `http://127.0.0.1:${server.address().port}`, close, seen, release };
}

/** A port nothing listens on. */
async function closedPort() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function request(url, { method = 'GET', body, ca, headers = {} } = {}) {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method, ca, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Opens an upgrade through the gateway (WebSocket unless `protocol` says otherwise, as kubectl's
 * SPDY fallback: POST with `Upgrade: SPDY/3.1`); resolves with the 101 response and socket, or the refusal.
 */
function upgrade(url, { ca, protocol = 'websocket', method = 'GET', headers = {} } = {}) {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, { ca, method, headers: { connection: 'Upgrade', upgrade: protocol, ...headers } });
    req.on('upgrade', (res, socket, head) => resolve({ status: res.statusCode, headers: res.headers, socket, head }));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The next chunk the socket receives, as text (or the bytes, with `raw`). */
const nextData = (socket, { raw = false } = {}) => new Promise((resolve) => socket.once('data', (chunk) => resolve(raw ? chunk : String(chunk))));

describe('the entry point (gateway)', () => {
  let standIns;
  let gateway;
  let base;
  let ca;
  before(async () => {
    standIns = { inventory: await standIn('inventory'), importer: await standIn('importer'), 'tunnel-broker': await standIn('tunnel-broker') };
    const tls = await resolveTls({}, join(tempDir(), 'tls'));
    ca = readFileSync(tls.caFile);
    gateway = createGateway({
      targets: {
        ...Object.fromEntries(Object.entries(standIns).map(([name, s]) => [name, s.url])),
        provisioner: `http://127.0.0.1:${await closedPort()}`,
      },
      tls: { cert: tls.cert, key: tls.key },
      notRunningHint: 'not started here',
    });
    const { port } = await gateway.listen(0, '127.0.0.1');
    base = `https://localhost:${port}`;
  });
  after(async () => {
    await gateway?.close();
    await Promise.all(Object.values(standIns ?? {}).map((s) => s.close()));
  });

  it('serves HTTPS whose certificate verifies against the development CA, for localhost and 127.0.0.1', async () => {
    const response = await request(`${base}/api/v1/clusters`, { ca });
    assert.equal(response.status, 200);
    const ip = await request(`${base.replace('localhost', '127.0.0.1')}/api/v1/clusters`, { ca });
    assert.equal(ip.status, 200);
    await assert.rejects(request(`${base}/api/v1/clusters`), /self-signed|unable to verify|self signed/i, 'without the CA the certificate is not trusted');
  });

  it('routes each path prefix to its service, with the path, query, body and X-Forwarded-* headers', async () => {
    const clusters = (await request(`${base}/api/v1/clusters/c-1?view=full`, { ca })).json();
    assert.deepEqual([clusters.service, clusters.url, clusters.proto], ['inventory', '/api/v1/clusters/c-1?view=full', 'https']);
    assert.ok(clusters.forwardedFor, 'X-Forwarded-For is set');
    assert.equal((await request(`${base}/api/docs/openapi.json`, { ca })).json().service, 'inventory');
    const created = (await request(`${base}/api/v1/imports`, { ca, method: 'POST', body: '{"name":"eks-1"}', headers: { 'content-type': 'application/json' } })).json();
    assert.deepEqual([created.service, created.method, created.body], ['importer', 'POST', '{"name":"eks-1"}']);
    assert.equal((await request(`${base}/api/v1/tunnels`, { ca })).json().service, 'tunnel-broker');
  });

  it('answers 404 for paths outside the table, on whole segments only', async () => {
    for (const path of ['/api/v1/clustersx', '/api/v2/clusters', '/', '/metrics']) {
      const response = await request(`${base}${path}`, { ca });
      assert.equal(response.status, 404, path);
      assert.match(response.json().message, /no Flotilla API at/);
    }
  });

  it('answers 502 JSON naming a service that does not answer, and 503 for one not running', async () => {
    const down = await request(`${base}/api/v1/ssh-keys`, { ca });
    assert.equal(down.status, 502);
    assert.match(down.headers['content-type'], /application\/json/);
    assert.equal(down.json().service, 'provisioner');
    assert.match(down.json().message, /^provisioner is not answering at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    const missing = await request(`${base}/api/v1/upgrade-plans`, { ca });
    assert.equal(missing.status, 503);
    assert.deepEqual(missing.json(), { statusCode: 503, error: 'Service Unavailable', service: 'upgrade-planner', message: 'upgrade-planner is not started here' });
  });

  it('relays WebSocket upgrades to the service of the path, both ways', async () => {
    const opened = await upgrade(`${base}/api/v1/tunnels/t-1/connect`, { ca });
    assert.equal(opened.status, 101);
    assert.equal(opened.headers['x-service'], 'tunnel-broker');
    assert.equal(opened.headers['x-url'], '/api/v1/tunnels/t-1/connect');
    assert.equal(opened.headers['x-protocol'], 'websocket');
    assert.equal(opened.headers['x-proto'], 'https', 'X-Forwarded-Proto reaches the service');
    const echoed = nextData(opened.socket);
    opened.socket.write('hello');
    assert.equal(await echoed, 'tunnel-broker echoes hello');
    opened.socket.destroy();
  });

  it('relays any other upgrade too (kubectl falls back to SPDY/3.1), with the request head as sent', async () => {
    const path = '/api/v1/tunnels/c-1/k8s/api/v1/namespaces/default/pods/web/exec?command=sh&stdin=true&tty=true';
    const opened = await upgrade(`${base}${path}`, {
      ca,
      method: 'POST',
      protocol: 'SPDY/3.1',
      headers: { authorization: 'Bearer t0ken', 'x-stream-protocol-version': 'v4.channel.k8s.io', 'X-Forwarded-For': '203.0.113.9' },
    });
    assert.equal(opened.status, 101);
    assert.deepEqual([opened.headers.upgrade, opened.headers['x-service'], opened.headers['x-url']], ['SPDY/3.1', 'tunnel-broker', path]);
    const seen = standIns['tunnel-broker'].seen.at(-1);
    assert.equal(seen.method, 'POST');
    assert.equal(seen.headers.upgrade, 'SPDY/3.1');
    assert.equal(seen.headers.authorization, 'Bearer t0ken');
    assert.equal(seen.headers['x-stream-protocol-version'], 'v4.channel.k8s.io');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.match(seen.headers['x-forwarded-for'], /^203\.0\.113\.9,(127\.0\.0\.1|::1)$/, 'the client address is appended');
    assert.match(seen.headers['x-forwarded-host'], /^localhost:\d+$/);
    // Binary frames, both ways, in order.
    const frames = Buffer.from([0x80, 0x03, 0x00, 0x01, 0xff, 0x00]);
    const echoed = nextData(opened.socket, { raw: true });
    opened.socket.write(frames);
    assert.deepEqual(await echoed, Buffer.concat([Buffer.from('tunnel-broker echoes '), frames]));
    const again = nextData(opened.socket);
    opened.socket.write('ls\n');
    assert.equal(await again, 'tunnel-broker echoes ls\n');
    opened.socket.destroy();
  });

  it("passes on the service's own refusal of an upgrade", async () => {
    const refused = await upgrade(`${base}/api/v1/tunnels/c-1/k8s/api/v1/namespaces/default/pods/web/forbidden`, { ca, method: 'POST', protocol: 'SPDY/3.1' });
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.json(), { kind: 'Status', code: 403, reason: 'Forbidden' });
  });

  it('refuses an upgrade outside the table with 404, to a service not running with 503 and to one not answering with 502, naming it', async () => {
    const outside = await upgrade(`${base}/api/v2/anything`, { ca, protocol: 'SPDY/3.1' });
    assert.equal(outside.status, 404);
    assert.match(outside.json().message, /no Flotilla API at \/api\/v2\/anything/);
    const missing = await upgrade(`${base}/api/v1/upgrade-plans/p-1/watch`, { ca });
    assert.equal(missing.status, 503);
    assert.deepEqual(missing.json(), { statusCode: 503, error: 'Service Unavailable', service: 'upgrade-planner', message: 'upgrade-planner is not started here' });
    const refused = await upgrade(`${base}/api/v1/management-clusters/x/watch`, { ca, protocol: 'SPDY/3.1' });
    assert.equal(refused.status, 502);
    assert.equal(refused.json().service, 'provisioner');
    assert.match(refused.json().message, /ECONNREFUSED/);
  });

  it('streams answers as they come (a watch), not once they end', async () => {
    const chunks = [];
    const done = new Promise((resolve, reject) => {
      https
        .get(`${base}/api/v1/tunnels/c-1/k8s/stream?watch=true`, { ca }, (res) => {
          res.setEncoding('utf8').on('data', (chunk) => {
            chunks.push(chunk);
            if (chunks.join('').includes('MODIFIED')) standIns['tunnel-broker'].release();
          });
          res.on('end', resolve);
        })
        .on('error', reject);
    });
    await done;
    assert.equal(chunks.join(''), '{"type":"ADDED"}\n{"type":"MODIFIED"}\n{"type":"DELETED"}\n');
    assert.ok(chunks.length >= 2, 'the events arrived in more than one piece');
  });
});

describe('the entry point (gateway) closing', () => {
  it('ends upgraded connections when it closes', async () => {
    const service = await standIn('tunnel-broker');
    const gateway = createGateway({ targets: { 'tunnel-broker': service.url } });
    const { port } = await gateway.listen(0, '127.0.0.1');
    try {
      const opened = await upgrade(`http://127.0.0.1:${port}/api/v1/tunnels/c-1/k8s/api/v1/namespaces/default/pods/web/portforward`, { protocol: 'SPDY/3.1', method: 'POST' });
      assert.equal(opened.status, 101);
      const closed = new Promise((resolve) => opened.socket.once('close', resolve));
      await gateway.close();
      await closed;
    } finally {
      await service.close();
    }
  });
});

describe('the development CA', () => {
  it('is made on first start with 0600 keys, reused on the second, and covers localhost, gateway (inside docker compose), 127.0.0.1 and ::1', async () => {
    const dir = join(tempDir(), 'tls');
    const first = await ensureDevCa(dir);
    assert.equal(first.origin, 'new');
    for (const key of [first.caKey, first.key]) assert.equal(statSync(key).mode & 0o777, 0o600, `${key} is 0600`);
    const caCert = new X509Certificate(readFileSync(first.caCert));
    const server = new X509Certificate(readFileSync(first.cert));
    assert.ok(caCert.ca, 'the CA certificate is a CA');
    assert.ok(server.verify(caCert.publicKey), 'the server certificate is signed by the CA');
    assert.ok(!server.ca);
    assert.equal(server.subjectAltName, 'DNS:localhost, DNS:gateway, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.ok(server.checkHost('localhost') && server.checkHost('gateway') && server.checkIP('127.0.0.1') && server.checkIP('::1'));

    const before = Object.fromEntries(Object.entries(devCaFiles(dir)).filter(([k]) => k !== 'dir').map(([k, file]) => [k, readFileSync(file, 'utf8')]));
    const second = await ensureDevCa(dir);
    assert.equal(second.origin, 'kept');
    for (const [k, text] of Object.entries(before)) assert.equal(readFileSync(second[k], 'utf8'), text, `${k} is reused`);
  });

  it('names the extra hosts asked for (where tunnel agents enroll), and issues the certificate again under the same CA when one is missing', async () => {
    const dir = join(tempDir(), 'tls');
    const first = await ensureDevCa(dir);
    const caText = readFileSync(first.caCert, 'utf8');
    const named = await ensureDevCa(dir, { names: ['192.168.1.20', 'flotilla.lan'] });
    assert.equal(named.origin, 'renewed');
    assert.equal(readFileSync(named.caCert, 'utf8'), caText, 'the CA is kept');
    const pem = readFileSync(named.cert, 'utf8');
    for (const host of ['localhost', 'gateway', '127.0.0.1', '::1', '192.168.1.20', 'flotilla.lan']) assert.ok(certificateCovers(pem, host), host);
    assert.equal(certificateCovers(pem, '192.168.1.21'), false);
    assert.equal(certificateCovers(pem, 'other.lan'), false);
    assert.equal((await ensureDevCa(dir, { names: ['192.168.1.20'] })).origin, 'kept', 'a certificate naming more is kept');
    const tls = await resolveTls({}, dir, { names: ['[fd00::5]'] });
    assert.ok(certificateCovers(tls.cert, 'fd00::5'));
    assert.deepEqual(serverNames(['Flotilla.LAN', '10.0.0.1']), { dns: ['localhost', 'gateway', 'flotilla.lan'], ip: ['127.0.0.1', '::1', '10.0.0.1'] });
    assert.throws(() => serverNames(['not a name']), /not a name is neither a host name nor an IP address/);
  });

  it('issues the server certificate again under the same CA when it nears its end', async () => {
    const dir = join(tempDir(), 'tls');
    const first = await ensureDevCa(dir);
    const caText = readFileSync(first.caCert, 'utf8');
    const serverText = readFileSync(first.cert, 'utf8');
    const later = new Date(Date.now() + 350 * 24 * 60 * 60 * 1000);
    const renewed = await ensureDevCa(dir, { now: later });
    assert.equal(renewed.origin, 'renewed');
    assert.equal(readFileSync(renewed.caCert, 'utf8'), caText, 'the CA is kept');
    assert.notEqual(readFileSync(renewed.cert, 'utf8'), serverText);
    assert.ok(new X509Certificate(readFileSync(renewed.cert)).verify(new X509Certificate(caText).publicKey));
    assert.equal(statSync(renewed.key).mode & 0o777, 0o600);
  });

  it('uses FLOTILLA_TLS_CERT_FILE and FLOTILLA_TLS_KEY_FILE instead, both or neither', async () => {
    const made = await ensureDevCa(join(tempDir(), 'elsewhere'));
    const dir = join(tempDir(), 'tls');
    const given = await resolveTls({ FLOTILLA_TLS_CERT_FILE: made.cert, FLOTILLA_TLS_KEY_FILE: made.key }, dir);
    assert.equal(given.certFile, made.cert);
    assert.equal(given.caFile, undefined);
    assert.equal(existsSync(dir), false, 'no development CA is made');
    await assert.rejects(resolveTls({ FLOTILLA_TLS_CERT_FILE: made.cert }, dir), /set both FLOTILLA_TLS_CERT_FILE and FLOTILLA_TLS_KEY_FILE/);
    await assert.rejects(resolveTls({ FLOTILLA_TLS_CERT_FILE: made.cert, FLOTILLA_TLS_KEY_FILE: '/nowhere/key.pem' }, dir), /\/nowhere\/key\.pem .* does not exist/);
  });
});

const jwt = (payload) => ['{"alg":"EdDSA","typ":"JWT"}', JSON.stringify(payload), 'signature'].map((part, i) => (i < 2 ? Buffer.from(part).toString('base64url') : part)).join('.');

/** A stand-in of services/inventory/dist/src/cli/tokens.js: checks its arguments and environment, prints a token. */
function fakeCli(dir, { exitCode = 0, calls = join(dir, 'calls') } = {}) {
  const file = join(dir, 'tokens.js');
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ args: process.argv.slice(2), DATABASE_URL: process.env.DATABASE_URL, FLOTILLA_SERVICE: process.env.FLOTILLA_SERVICE }) + '\\n');
if (${exitCode} !== 0) { console.error('cannot reach the database'); process.exit(${exitCode}); }
const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
console.log([part({ alg: 'EdDSA' }), part({ sub: 'local-admin', exp: Math.floor(Date.now() / 1000) + 3600 }), 'sig'].join('.'));
`,
  );
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  return { file, calls: () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []) };
}

describe('the admin token of a local run', () => {
  const env = { ...process.env, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/flotilla', FLOTILLA_SERVICE: 'inventory' };

  it('reads exp without verifying and tells missing, unreadable, expired and good files apart', () => {
    const dir = tempDir();
    const file = join(dir, 'admin-token');
    assert.equal(adminTokenStale(file), 'missing');
    writeFileSync(file, 'not a token');
    assert.equal(adminTokenStale(file), 'unreadable');
    writeFileSync(file, `${jwt({ exp: 1_000 })}\n`);
    assert.equal(jwtPayload(readFileSync(file, 'utf8')).exp, 1_000);
    assert.equal(adminTokenStale(file), 'expired');
    writeFileSync(file, jwt({ exp: Math.floor(Date.now() / 1000) + 60 }));
    assert.equal(adminTokenStale(file), undefined);
    assert.equal(adminTokenStale(file, Date.now() + 120_000), 'expired');
  });

  it('warns instead of failing when the token CLI is not built', async () => {
    const dir = tempDir();
    const result = await ensureAdminToken({ root: dir, dataRoot: join(dir, '.data'), env });
    assert.equal(result.status, 'no-cli');
    assert.equal(result.reason, 'missing');
    assert.match(result.message, /services\/inventory\/dist\/src\/cli\/tokens\.js is not built/);
  });

  it('makes the token with the CLI and the inventory environment, 0600, and keeps it while it is good', async () => {
    const dir = tempDir();
    const cli = fakeCli(dir);
    const made = await ensureAdminToken({ root: dir, dataRoot: dir, env, cli: cli.file });
    assert.equal(made.status, 'created');
    assert.equal(statSync(made.file).mode & 0o777, 0o600);
    assert.equal(jwtPayload(readFileSync(made.file, 'utf8')).sub, 'local-admin');
    assert.deepEqual(cli.calls(), [
      { args: ['create', '--subject', 'local-admin', '--role', 'admin', '--expires-in', '90d'], DATABASE_URL: env.DATABASE_URL, FLOTILLA_SERVICE: 'inventory' },
    ]);
    const kept = await ensureAdminToken({ root: dir, dataRoot: dir, env, cli: cli.file });
    assert.equal(kept.status, 'kept');
    assert.equal(cli.calls().length, 1, 'a good token is not made again');
  });

  it('makes a token again that the inventory no longer accepts', async () => {
    const dir = tempDir();
    const cli = fakeCli(dir);
    const file = join(dir, 'admin-token');
    writeFileSync(file, jwt({ sub: 'local-admin', exp: Math.floor(Date.now() / 1000) + 3600 }), { mode: 0o600 });
    const seen = [];
    const result = await ensureAdminToken({ root: dir, dataRoot: dir, env, cli: cli.file, accepts: async (token) => (seen.push(token), false) });
    assert.deepEqual([result.status, result.reason], ['created', 'refused']);
    assert.equal(seen.length, 1, 'the kept token was tried');
    assert.equal(cli.calls().length, 1);
  });

  it('makes an expired token again', async () => {
    const dir = tempDir();
    const cli = fakeCli(dir);
    const file = join(dir, 'admin-token');
    writeFileSync(file, jwt({ sub: 'local-admin', exp: Math.floor(Date.now() / 1000) - 10 }), { mode: 0o644 });
    chmodSync(file, 0o644);
    const result = await ensureAdminToken({ root: dir, dataRoot: dir, env, cli: cli.file });
    assert.deepEqual([result.status, result.reason], ['created', 'expired']);
    assert.ok(jwtPayload(readFileSync(file, 'utf8')).exp * 1000 > Date.now());
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('reports the CLI error from stderr and leaves no file', async () => {
    const dir = tempDir();
    const cli = fakeCli(dir, { exitCode: 2 });
    const result = await ensureAdminToken({ root: dir, dataRoot: dir, env, cli: cli.file });
    assert.equal(result.status, 'failed');
    assert.match(result.message, /cannot reach the database/);
    assert.equal(existsSync(join(dir, 'admin-token')), false);
  });

  it('says how to use it against the entry point', () => {
    assert.deepEqual(adminTokenUsage({ file: '/r/.data/admin-token', root: '/r', baseUrl: 'https://localhost:8443', caFile: '/r/.data/tls/ca.crt' }), [
      'export FLOTILLA_TOKEN=$(cat .data/admin-token)',
      'curl --cacert .data/tls/ca.crt -H "Authorization: Bearer $FLOTILLA_TOKEN" https://localhost:8443/api/v1/clusters',
    ]);
  });
});
