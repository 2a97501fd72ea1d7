import assert from 'node:assert/strict';
import { createServer as createHttpServer, request, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AgentLink, AgentListener, CALLER_GROUPS_HEADER, CALLER_USER_HEADER, forwardRequest, kubernetesForwarder } from '../src/index.js';
import { TestCa } from './pki.js';

const SERVICE_ACCOUNT_TOKEN = 'agent-service-account-token';

/** A stand-in API server: it knows only the agent's token, and says what it was asked as whom. */
function standInApiServer(ca: TestCa, closedWatches: string[]): HttpsServer {
  return createHttpsServer(ca.broker(), (req, res) => {
    if (req.headers.authorization !== `Bearer ${SERVICE_ACCOUNT_TOKEN}`) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"kind":"Status","code":401}');
    const url = new URL(req.url ?? '/', 'https://api');
    if (url.pathname === '/slow') {
      // Answers after the caller has left.
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"late":true}'), 300);
      return;
    }
    if (url.pathname === '/version') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ gitVersion: 'v1.33.2', as: req.headers['impersonate-user'] ?? null, groups: req.headers['impersonate-group'] ?? null, extra: req.headers['impersonate-extra-scopes'] ?? null }));
      return;
    }
    if (url.pathname === '/api/v1/pods' && url.searchParams.get('watch') === '1') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      let n = 0;
      const timer = setInterval(() => res.write(`${JSON.stringify({ type: 'ADDED', object: { kind: 'Pod', metadata: { name: `pod-${n++}` } } })}\n`), 20);
      req.on('close', () => {
        clearInterval(timer);
        closedWatches.push(url.search);
      });
      return;
    }
    res.writeHead(404).end();
  });
}

function open(url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function text(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe("the agent forwards the tunnel's requests to its cluster's API server as the caller", () => {
  const ca = new TestCa();
  const closedWatches: string[] = [];
  let api: HttpsServer;
  let listener: AgentListener;
  let agent: AgentLink;
  let front: Server;
  let frontUrl: string;
  let listenerPort: number;

  before(async () => {
    api = standInApiServer(ca, closedWatches);
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    listener = new AgentListener({ ...ca.broker(), ca: ca.cert });
    listenerPort = await listener.listen(0, '127.0.0.1');
    agent = new AgentLink({
      host: '127.0.0.1',
      port: listenerPort,
      ...ca.agent('edge'),
      ca: ca.cert,
      onStream: kubernetesForwarder({ apiServer: `https://127.0.0.1:${(api.address() as AddressInfo).port}`, token: () => SERVICE_ACCOUNT_TOKEN, ca: ca.cert }),
    });
    agent.start();
    while (!listener.session('edge')) await new Promise((resolve) => setTimeout(resolve, 20));
    // The broker names the caller it authenticated; a caller's own credentials never cross.
    front = createHttpServer((req, res) => {
      const caller = req.headers['x-test-caller'] === undefined ? {} : { [CALLER_USER_HEADER]: String(req.headers['x-test-caller']), [CALLER_GROUPS_HEADER]: 'team-a,system:authenticated' };
      void forwardRequest(listener.session('edge')!.session, req, res, { drop: (name) => name === 'authorization' || name.startsWith('impersonate-') || name.startsWith('flotilla-') || name === 'x-test-caller', headers: caller });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  });

  after(async () => {
    await agent.stop();
    await listener.close();
    front.closeAllConnections();
    api.closeAllConnections();
    await new Promise<void>((resolve) => front.close(() => resolve()));
    await new Promise<void>((resolve) => api.close(() => resolve()));
    ca.dispose();
  });

  it('uses its own token and impersonates the caller, whatever the caller sent', async () => {
    const response = await open(`${frontUrl}/version`, { 'x-test-caller': 'alice', authorization: 'Bearer stolen', 'impersonate-user': 'system:admin', 'impersonate-extra-scopes': 'all', [CALLER_USER_HEADER]: 'forged' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(JSON.parse(await text(response)), { gitVersion: 'v1.33.2', as: 'alice', groups: 'team-a, system:authenticated', extra: null });
  });

  it('survives a caller that leaves before the API server answers: the late answer goes nowhere, the next request is served', async () => {
    const leaving = request(`${frontUrl}/slow`, { headers: { 'x-test-caller': 'alice' } });
    leaving.on('error', () => undefined);
    leaving.end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    leaving.destroy();
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(agent.connected, 'the agent is still connected');
    const next = await open(`${frontUrl}/version`, { 'x-test-caller': 'bob' });
    assert.equal(next.statusCode, 200);
    await text(next);
  });

  it('refuses a request whose caller the broker does not name', async () => {
    const response = await open(`${frontUrl}/version`);
    assert.equal(response.statusCode, 403);
    assert.match(await text(response), /caller the broker names/);
  });

  it('trusts only its cluster CA: an API server whose certificate another CA signed is sent nothing, the caller gets a 502', async () => {
    const otherCa = new TestCa('another-cluster');
    const impostor = standInApiServer(otherCa, []);
    const asked: string[] = [];
    impostor.on('request', (req: IncomingMessage) => asked.push(req.url ?? ''));
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const misled = new AgentLink({
      host: '127.0.0.1',
      port: listenerPort,
      ...ca.agent('misled'),
      ca: ca.cert,
      onStream: kubernetesForwarder({ apiServer: `https://127.0.0.1:${(impostor.address() as AddressInfo).port}`, token: () => SERVICE_ACCOUNT_TOKEN, ca: ca.cert }),
    });
    try {
      misled.start();
      while (!listener.session('misled')) await new Promise((resolve) => setTimeout(resolve, 20));
      const relayed = createHttpServer((req, res) => void forwardRequest(listener.session('misled')!.session, req, res, { headers: { [CALLER_USER_HEADER]: 'alice' } }));
      await new Promise<void>((resolve) => relayed.listen(0, '127.0.0.1', resolve));
      try {
        for (let attempt = 0; attempt < 2; attempt++) {
          const response = await open(`http://127.0.0.1:${(relayed.address() as AddressInfo).port}/version`);
          assert.equal(response.statusCode, 502);
          assert.match(await text(response), /did not answer the agent/);
        }
      } finally {
        relayed.closeAllConnections();
        await new Promise<void>((resolve) => relayed.close(() => resolve()));
      }
      assert.deepEqual(asked, [], 'no request reached the API server of another CA');
    } finally {
      await misled.stop();
      impostor.closeAllConnections();
      await new Promise<void>((resolve) => impostor.close(() => resolve()));
      otherCa.dispose();
    }
  });

  it('streams a watch as it happens, and ends it at the API server when the caller leaves', async () => {
    const response = await open(`${frontUrl}/api/v1/pods?watch=1&test=leave`, { 'x-test-caller': 'alice' });
    assert.equal(response.statusCode, 200);
    const lines: string[] = [];
    for await (const chunk of response) {
      lines.push(...(chunk as Buffer).toString().split('\n').filter(Boolean));
      if (lines.length >= 3) break; // leaving: the iterator destroys the response
    }
    assert.deepEqual(lines.slice(0, 3).map((line) => (JSON.parse(line) as { object: { metadata: { name: string } } }).object.metadata.name), ['pod-0', 'pod-1', 'pod-2']);
    const deadline = Date.now() + 5_000;
    while (!closedWatches.includes('?watch=1&test=leave') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(closedWatches.includes('?watch=1&test=leave'), 'the watch was closed at the API server');
  });
});
