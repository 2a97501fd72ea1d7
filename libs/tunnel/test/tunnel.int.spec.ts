import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { constants, type Http2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AgentLink, AgentListener, forwardRequest, pingOrDrop, type AgentLinkOptions, type AgentListenerEvent } from '../src/index.js';
import { TestCa, type Issued } from './pki.js';

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
  let alpha: Issued;

  const link = (clusterId: string, issued = ca.agent(clusterId), authority = ca.cert, options: Partial<AgentLinkOptions> = {}): AgentLink => {
    const agent = new AgentLink({ host: '127.0.0.1', port: agentPort, ...issued, ca: authority, onStream: serveLikeAnApiServer, backoff: { initialMs: 50, maxMs: 200 }, keepaliveMs: 1_000, keepaliveTimeoutMs: 5_000, ...options });
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
    alpha = ca.agent('alpha');
    await connected(link('alpha', alpha));
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

  it("keeps the agent's verified certificate with its session: DER, expiry, serial and fingerprint", () => {
    const issued = new X509Certificate(alpha.cert);
    const { certificate } = listener.session('alpha')!;
    assert.ok(certificate.raw.equals(issued.raw));
    assert.equal(certificate.validTo.getTime(), new Date(issued.validTo).getTime());
    assert.equal(certificate.serialNumber, issued.serialNumber);
    assert.equal(certificate.fingerprint256, issued.fingerprint256);
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

  it('comes back within seconds when its HTTP/2 server ended the connection on its own after 1,000 stream resets, and the broker says why', async () => {
    // node's HTTP/2 server (the agent) answers a peer that reset more streams than nghttp2's
    // "rapid reset" defence allows (1,000 at once, then 33 a second) with GOAWAY INTERNAL_ERROR,
    // emits nothing, and reads no more: not even the broker closing the connection is seen. Only
    // an unanswered ping tells; with pings a minute apart the cluster would stay unreachable that
    // long, so the agent checks its connection about a second after its streams close.
    const agent = link('resets', ca.agent('resets'), ca.cert, { keepaliveMs: 60_000, keepaliveTimeoutMs: 1_000 });
    await until(() => listener.session('resets') !== undefined, 'the agent to connect');
    const before = events.length;
    const first = listener.session('resets')!;
    for (let i = 0; i < 1_200 && !first.session.closed && !first.session.destroyed; i++) {
      await new Promise<void>((resolve) => {
        const stream = first.session.request({ ':path': '/version' }, { endStream: true });
        stream.on('error', () => resolve());
        stream.resume();
        // Reset once answered whole, as a broker that resets every finished stream does: the agent's end is already closed.
        stream.once('end', () => {
          stream.close(constants.NGHTTP2_CANCEL);
          resolve();
        });
      });
    }
    await until(() => events.slice(before).some((event) => event.kind === 'disconnected' && event.clusterId === 'resets'), 'the broker to see the connection end');
    const dropped = events.slice(before).find((event) => event.kind === 'disconnected' && event.clusterId === 'resets');
    assert.match(dropped?.kind === 'disconnected' ? dropped.reason : '', /^the agent ended the connection: INTERNAL_ERROR \(2\)/);
    await until(() => listener.session('resets') !== undefined, 'the agent to come back', 10_000);
    assert.equal((await get(`${frontUrl}/clusters/resets/version`)).status, 200);
    await agent.stop();
  });

  it('survives its connection dropping in the middle of an answer, and comes back', async () => {
    const agent = link('dropped', ca.agent('dropped'));
    await until(() => listener.session('dropped') !== undefined, 'the agent to connect');
    const stream = listener.session('dropped')!.session.request({ ':path': '/big?mb=1000' }, { endStream: true });
    stream.on('error', () => undefined);
    await once(stream, 'data');
    // As the broker's keepalive drops a connection (GOAWAY INTERNAL_ERROR): the agent's stream fails mid-write, and no process may go down for it.
    listener.session('dropped')!.session.destroy(new Error('dropped by the test'));
    await new Promise((resolve) => stream.once('close', resolve));
    await until(() => listener.session('dropped') !== undefined, 'the agent to come back');
    assert.equal((await get(`${frontUrl}/clusters/dropped/version`)).status, 200);
    await agent.stop();
  });

  it('keeps a connection whose ping answer is late while bytes keep arriving, and drops one that is silent', async () => {
    const fake = (bytes: () => number) => {
      const state = { destroyed: false, reason: '' };
      const session = {
        get destroyed() {
          return state.destroyed;
        },
        socket: {
          get bytesRead() {
            return bytes();
          },
        },
        ping: () => true, // the answer never comes in time
        destroy: (error?: Error) => {
          state.destroyed = true;
          state.reason = error?.message ?? '';
        },
      };
      return { session: session as unknown as Http2Session, state };
    };
    let arriving = 0;
    const busy = fake(() => (arriving += 16_384)); // a large transfer on a slow link: the answer waits behind it
    const silent = fake(() => 0);
    pingOrDrop(busy.session, 20);
    pingOrDrop(silent.session, 20);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(busy.state.destroyed, false);
    assert.equal(silent.state.destroyed, true);
    assert.match(silent.state.reason, /no answer to a ping within 20 ms/);
  });

  it('encrypts the tunnel with AES-128-GCM', () => {
    const socket = listener.session('alpha')!.session.socket as unknown as import('node:tls').TLSSocket;
    assert.equal(socket.getCipher().standardName, 'TLS_AES_128_GCM_SHA256');
  });

  it('stays up when a session is dropped as it connects, before its HTTP/2 handshake is done', async () => {
    const drop = (event: AgentListenerEvent) => {
      if (event.kind === 'connected' && event.clusterId === 'hasty') listener.disconnect('hasty', 'dropped as it connected');
    };
    listener.on('change', drop);
    const before = events.length;
    const agent = link('hasty', ca.agent('hasty'));
    try {
      await until(() => events.slice(before).filter((event) => event.kind === 'disconnected' && event.clusterId === 'hasty').length >= 2, 'two sessions dropped');
      await new Promise((resolve) => setTimeout(resolve, 50)); // their 'connect' comes after the drop
    } finally {
      listener.off('change', drop);
      await agent.stop();
    }
    assert.equal((await get(`${frontUrl}/clusters/alpha/version`)).status, 200);
  });

  // Each reset costs the agent one of the 1,000 (then 33 a second) its HTTP/2 server takes before it drops the connection.
  it('resets no stream whose answer it relayed whole', async () => {
    const { session } = listener.session('alpha')!;
    const streams: ReturnType<typeof session.request>[] = [];
    const request = session.request.bind(session);
    session.request = (...args: Parameters<typeof session.request>) => {
      const stream = request(...args);
      streams.push(stream);
      return stream;
    };
    try {
      for (let i = 0; i < 20; i++) assert.equal((await get(`${frontUrl}/clusters/alpha/version`)).status, 200);
      await until(() => streams.every((stream) => stream.destroyed), 'the streams to close');
      assert.deepEqual(
        streams.map((stream) => stream.rstCode),
        streams.map(() => constants.NGHTTP2_NO_ERROR),
      );
    } finally {
      session.request = request;
    }
  });
});
