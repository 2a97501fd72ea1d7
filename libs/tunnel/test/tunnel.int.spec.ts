import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AgentLink, AgentListener, forwardRequest, type AgentListenerEvent } from '../src/index.js';
import { TestCa } from './pki.js';

/** What a workload cluster's API would answer; `/stall` never finishes, `/big?mb=N` streams N MiB. */
function serveLikeAnApiServer(stream: ServerHttp2Stream, headers: Record<string, string | string[] | undefined>): void {
  const url = new URL(String(headers[':path']), 'http://agent');
  switch (url.pathname) {
    case '/version':
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify({ gitVersion: 'v1.34.1', caller: headers['x-caller'] ?? null, forwardedAuthorization: headers['authorization'] ?? null }));
      return;
    case '/echo': {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        stream.respond({ ':status': 201, 'content-type': 'application/octet-stream' });
        stream.end(Buffer.concat(chunks));
      });
      return;
    }
    case '/stall':
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.write('started\n'); // then nothing, until the caller leaves
      return;
    case '/big': {
      const total = Number(url.searchParams.get('mb') ?? 1) * 1024 * 1024;
      const chunk = Buffer.alloc(256 * 1024, 7);
      stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': String(total) });
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
          sent += piece.length;
          if (!stream.write(piece)) return void stream.once('drain', pump);
        }
        stream.end();
      };
      pump();
      return;
    }
    default:
      stream.respond({ ':status': 404 });
      stream.end();
  }
}

function get(url: string, init: { method?: string; body?: Buffer; headers?: Record<string, string> } = {}): Promise<{ status: number; body: Buffer; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('the tunnel transport: agents dial out over mutual TLS and serve HTTP/2 to the broker', () => {
  const ca = new TestCa();
  const rogue = new TestCa('someone-else');
  const events: AgentListenerEvent[] = [];
  const refusedClusters = new Set<string>();
  let listener: AgentListener;
  let agentPort: number;
  let front: Server;
  let frontUrl: string;
  const links: AgentLink[] = [];

  const link = (clusterId: string, issued = ca.agent(clusterId), authority = ca.cert): AgentLink => {
    const agent = new AgentLink({ host: '127.0.0.1', port: agentPort, ...issued, ca: authority, onStream: serveLikeAnApiServer, backoff: { initialMs: 50, maxMs: 200 }, keepaliveMs: 1_000, keepaliveTimeoutMs: 5_000 });
    links.push(agent);
    agent.start();
    return agent;
  };
  const connected = async (agent: AgentLink) => {
    while (!agent.connected) await once(agent, 'change');
  };
  const until = async (check: () => boolean, what: string, ms = 5_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  before(async () => {
    listener = new AgentListener({ ...ca.broker(), ca: ca.cert, keepaliveMs: 1_000, keepaliveTimeoutMs: 5_000, refuse: (clusterId) => (refusedClusters.has(clusterId) ? `cluster ${clusterId} was removed` : undefined) });
    listener.on('change', (event) => events.push(event));
    agentPort = await listener.listen(0, '127.0.0.1');
    // The broker's front: /clusters/<id>/<path> goes to that cluster's agent.
    front = createServer((req, res) => {
      const match = /^\/clusters\/([^/]+)(\/.*)$/.exec(req.url ?? '');
      const session = match ? listener.session(match[1]!) : undefined;
      if (!match || !session) return void res.writeHead(404).end();
      void forwardRequest(session.session, req, res, { path: match[2], drop: (name) => name === 'authorization' || name.startsWith('impersonate-'), headers: { 'x-caller': 'alice' } });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const agent of links) await agent.stop();
    await listener.close();
    front.closeAllConnections();
    await new Promise<void>((resolve) => front.close(() => resolve()));
    ca.dispose();
    rogue.dispose();
  });

  it('carries requests and bodies to the agent of the cluster its certificate names, with the identity the broker sets', async () => {
    await connected(link('alpha'));
    const version = await get(`${frontUrl}/clusters/alpha/version`, { headers: { authorization: 'Bearer caller-token', 'impersonate-user': 'system:admin' } });
    assert.equal(version.status, 200);
    assert.deepEqual(JSON.parse(version.body.toString()), { gitVersion: 'v1.34.1', caller: 'alice', forwardedAuthorization: null });
    const payload = Buffer.from('x'.repeat(100_000));
    const echoed = await get(`${frontUrl}/clusters/alpha/echo`, { method: 'POST', body: payload, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(echoed.status, 201);
    assert.ok(echoed.body.equals(payload));
    assert.equal((await get(`${frontUrl}/clusters/nobody/version`)).status, 404);
  });

  it('keeps other streams fast while one stream of the same agent is stalled', async () => {
    const stalled = request(`${frontUrl}/clusters/alpha/stall`);
    stalled.end();
    const [response] = (await once(stalled, 'response')) as [import('node:http').IncomingMessage];
    response.once('data', () => undefined);
    const times: number[] = [];
    for (let i = 0; i < 50; i++) times.push((await get(`${frontUrl}/clusters/alpha/version`)).ms);
    times.sort((a, b) => a - b);
    assert.ok(times[Math.floor(times.length * 0.99)]! < 250, `p99 of small requests beside a stalled stream: ${times.at(-1)} ms`);
    stalled.destroy();
  });

  it('carries a 100 MiB response whole, beside small requests', async () => {
    const big = get(`${frontUrl}/clusters/alpha/big?mb=100`);
    const small = await get(`${frontUrl}/clusters/alpha/version`);
    assert.equal(small.status, 200);
    const answer = await big;
    assert.equal(answer.status, 200);
    assert.equal(answer.body.length, 100 * 1024 * 1024);
  });

  it('refuses agents without a certificate of its CA, naming no single cluster, or removed', async () => {
    const before = events.length;
    link('beta', rogue.agent('beta'));
    link('gamma', ca.client(undefined));
    link('delta', ca.client('URI:spiffe://flotilla/cluster/delta,URI:spiffe://flotilla/cluster/alpha'));
    refusedClusters.add('removed');
    link('removed');
    await until(() => events.slice(before).filter((event) => event.kind === 'refused').length >= 4, 'four refusals');
    assert.ok(!events.slice(before).some((event) => event.kind === 'connected'), 'none of them connected');
    assert.ok(listener.clusterIds.every((id) => id === 'alpha'));
    for (const agent of links.slice(1)) await agent.stop();
  });

  it('reconnects an agent whose connection was dropped, and requests resume', async () => {
    const agent = links[0]!;
    listener.disconnect('alpha', 'test');
    await until(() => listener.session('alpha') === undefined, 'the drop');
    await until(() => listener.session('alpha') !== undefined, 'the agent to come back');
    assert.ok(agent.connected);
    assert.equal((await get(`${frontUrl}/clusters/alpha/version`)).status, 200);
    assert.ok(events.some((event) => event.kind === 'disconnected' && event.clusterId === 'alpha'));
  });
});
