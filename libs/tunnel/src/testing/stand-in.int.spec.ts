import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { TestCa } from '../../test/pki.js';
import { StandInApiServer } from './index.js';

const TOKEN = 'service-account-token';

describe('the stand-in Kubernetes API server', () => {
  const ca = new TestCa();
  let api: StandInApiServer;

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const req = request(`${api.url}${path}`, { method, ca: ca.cert, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const open = (path: string): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const req = request(`${api.url}${path}`, { ca: ca.cert, headers: { authorization: `Bearer ${TOKEN}` } }, resolve);
      req.on('error', reject);
      req.end();
    });
  const lines = async (response: IncomingMessage, count: number): Promise<string[]> => {
    const seen: string[] = [];
    let rest = '';
    for await (const chunk of response) {
      rest += (chunk as Buffer).toString();
      const parts = rest.split('\n');
      rest = parts.pop()!;
      seen.push(...parts);
      if (seen.length >= count) break;
    }
    return seen;
  };
  const exec = (pod: string, command: string[], protocols: string[], stdin?: string): Promise<{ protocol: string; stdout: string; stderr: string; status: Record<string, unknown> }> =>
    new Promise((resolve, reject) => {
      const query = command.map((part) => `command=${encodeURIComponent(part)}`).join('&');
      const socket = new WebSocket(`${api.url.replace('https', 'wss')}/api/v1/namespaces/default/pods/${pod}/exec?${query}&stdout=true&stderr=true${stdin === undefined ? '' : '&stdin=true'}`, protocols, { ca: ca.cert, headers: { authorization: `Bearer ${TOKEN}` } });
      let stdout = '';
      let stderr = '';
      let status: Record<string, unknown> = {};
      socket.on('open', () => {
        if (stdin === undefined) return;
        socket.send(Buffer.concat([Buffer.of(0), Buffer.from(stdin)]));
        socket.send(Buffer.of(255, 0));
      });
      socket.on('message', (data: Buffer) => {
        if (data[0] === 1) stdout += data.subarray(1).toString();
        if (data[0] === 2) stderr += data.subarray(1).toString();
        if (data[0] === 3) status = JSON.parse(data.subarray(1).toString()) as Record<string, unknown>;
      });
      socket.on('close', () => resolve({ protocol: socket.protocol, stdout, stderr, status }));
      socket.on('error', reject);
    });

  before(async () => {
    api = new StandInApiServer({ ...ca.broker(), tokens: [TOKEN], gitVersion: 'v1.32.9' });
    await api.listen();
    api.addPod('default', 'web', { log: 'first\n' });
  });

  after(async () => {
    await api.close();
    ca.dispose();
  });

  it('answers an unknown token with a 401 Status, and records who was impersonated', async () => {
    const refused = await call('GET', '/version', undefined, { authorization: 'Bearer nope' });
    assert.equal(refused.status, 401);
    assert.equal(refused.json.kind, 'Status');
    const version = await call('GET', '/version', undefined, { 'impersonate-user': 'alice' });
    assert.equal(version.json.gitVersion, 'v1.32.9');
    assert.deepEqual(api.requests.at(-1), { method: 'GET', path: '/version', user: 'alice', groups: [], upgrade: undefined, authenticated: true });
    assert.equal(api.requests.at(-2)?.authenticated, false);
  });

  it('keeps secrets with resourceVersions: create, conflict, merge and JSON patches, delete', async () => {
    const created = await call('POST', '/api/v1/namespaces/flotilla/secrets', { metadata: { name: 'credential' }, stringData: { key: 'one' } });
    assert.equal(created.status, 201);
    const meta = created.json.metadata as { resourceVersion: string };
    assert.deepEqual(created.json.data, { key: Buffer.from('one').toString('base64') });
    assert.equal((await call('POST', '/api/v1/namespaces/flotilla/secrets', { metadata: { name: 'credential' } })).status, 409);
    const replaced = await call('PUT', '/api/v1/namespaces/flotilla/secrets/credential', { metadata: { name: 'credential', resourceVersion: meta.resourceVersion }, data: { key: 'dHdv' } });
    assert.equal(replaced.status, 200);
    const stale = await call('PUT', '/api/v1/namespaces/flotilla/secrets/credential', { metadata: { name: 'credential', resourceVersion: meta.resourceVersion }, data: {} });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.reason, 'Conflict');
    const merged = await call('PATCH', '/api/v1/namespaces/flotilla/secrets/credential', { data: { other: 'eA==' } }, { 'content-type': 'application/merge-patch+json' });
    assert.deepEqual(merged.json.data, { key: 'dHdv', other: 'eA==' });
    const patched = await call('PATCH', '/api/v1/namespaces/flotilla/secrets/credential', [{ op: 'remove', path: '/data/other' }], { 'content-type': 'application/json-patch+json' });
    assert.deepEqual(patched.json.data, { key: 'dHdv' });
    assert.deepEqual(api.secret('flotilla', 'credential')?.data, { key: 'dHdv' });
    assert.equal((await call('DELETE', '/api/v1/namespaces/flotilla/secrets/credential')).status, 200);
    assert.equal((await call('GET', '/api/v1/namespaces/flotilla/secrets/credential')).status, 404);
    assert.ok(((await call('GET', '/api/v1/namespaces')).json.items as Array<{ metadata: { name: string } }>).some((ns) => ns.metadata.name === 'flotilla'));
  });

  it('streams a pod watch from a list resourceVersion, and ends it when the caller leaves', async () => {
    const listed = await call('GET', '/api/v1/namespaces/default/pods');
    const resourceVersion = (listed.json.metadata as { resourceVersion: string }).resourceVersion;
    assert.deepEqual((listed.json.items as Array<{ metadata: { name: string } }>).map((pod) => pod.metadata.name), ['web']);
    const watch = await open(`/api/v1/namespaces/default/pods?watch=true&resourceVersion=${resourceVersion}`);
    api.addPod('default', 'job', { phase: 'Pending' });
    api.updatePod('default', 'job', { phase: 'Running' });
    api.deletePod('default', 'job');
    const events = (await lines(watch, 3)).map((line) => JSON.parse(line) as { type: string; object: { metadata: { name: string }; status: { phase: string } } });
    assert.deepEqual(events.map((event) => `${event.type} ${event.object.metadata.name} ${event.object.status.phase}`), ['ADDED job Pending', 'MODIFIED job Running', 'DELETED job Running']);
    const deadline = Date.now() + 5_000;
    while (api.openStreams > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(api.openStreams, 0);
  });

  it('follows a log, and sends a large one whole', async () => {
    const log = await open('/api/v1/namespaces/default/pods/web/log?follow=true');
    const reading = lines(log, 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    api.appendLog('default', 'web', 'second\n');
    assert.deepEqual(await reading, ['first', 'second']);
    api.addPod('default', 'big', { logBytes: 5 * 1024 * 1024 + 7 });
    let size = 0;
    for await (const chunk of await open('/api/v1/namespaces/default/pods/big/log')) size += (chunk as Buffer).length;
    assert.equal(size, 5 * 1024 * 1024 + 7);
  });

  it('runs commands over WebSocket in v5 and v4: stdout, stderr, stdin, exit codes', async () => {
    const echo = await exec('web', ['echo', 'hello', 'there'], ['v5.channel.k8s.io', 'v4.channel.k8s.io']);
    assert.deepEqual(echo, { protocol: 'v5.channel.k8s.io', stdout: 'hello there\n', stderr: '', status: { metadata: {}, status: 'Success' } });
    const cat = await exec('web', ['cat'], ['v5.channel.k8s.io'], 'typed in\n');
    assert.equal(cat.stdout, 'typed in\n');
    const failing = await exec('web', ['sh', '-c', 'echo oops >&2; exit 3'], ['v4.channel.k8s.io']);
    assert.equal(failing.protocol, 'v4.channel.k8s.io');
    assert.equal(failing.stderr, 'oops\n');
    assert.equal(failing.status.reason, 'NonZeroExitCode');
    assert.deepEqual(failing.status.details, { causes: [{ reason: 'ExitCode', message: '3' }] });
  });

  it('echoes a raw upgraded port-forward stream, and holds /stall open', async () => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(api.url).port), ca: ca.cert, servername: 'localhost' });
    await once(socket, 'secureConnect');
    socket.write(`POST /api/v1/namespaces/default/pods/web/portforward HTTP/1.1\r\nHost: k\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\nearly`);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    while (!received.includes('early')) await once(socket, 'data');
    socket.write('-later');
    while (!received.includes('-later')) await once(socket, 'data');
    assert.match(received, /^HTTP\/1\.1 101 Switching Protocols\r\n[^]*X-Stream-Protocol-Version: portforward\.k8s\.io\r\n\r\nearly-later$/);
    socket.destroy();
    const stalled = await open('/stall');
    assert.equal(stalled.statusCode, 200);
    assert.deepEqual(await lines(stalled, 1), ['stalled']);
  });
});
