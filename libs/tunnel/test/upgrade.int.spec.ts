import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { AgentLink, AgentListener, kubernetesForwarder, kubernetesFront, type ForwardResult } from '../src/index.js';
import { StandInApiServer } from '../src/testing/index.js';
import { TestCa } from './pki.js';

const SERVICE_ACCOUNT_TOKEN = 'agent-service-account-token';

interface Exec {
  protocol: string;
  stdout: string;
  stderr: string;
  status: { status?: string; reason?: string; details?: unknown };
}

describe('upgraded connections (exec, attach, port-forward) through the tunnel', () => {
  const ca = new TestCa();
  const results: ForwardResult[] = [];
  let api: StandInApiServer;
  let listener: AgentListener;
  let agent: AgentLink;
  let front: Server;
  let port: number;

  const until = async (check: () => boolean, what: string, ms = 5_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  /** A WebSocket exec through the front, as kubectl >= 1.30 does it. */
  const exec = (command: string[], options: { protocols?: string[]; stdin?: string[]; pod?: string } = {}): Promise<Exec> =>
    new Promise((resolve, reject) => {
      const query = command.map((part) => `command=${encodeURIComponent(part)}`).join('&');
      const url = `ws://127.0.0.1:${port}/clusters/edge/k8s/api/v1/namespaces/default/pods/${options.pod ?? 'shell'}/exec?${query}&stdout=true&stderr=true`;
      const socket = new WebSocket(url, options.protocols ?? ['v5.channel.k8s.io', 'v4.channel.k8s.io'], { headers: { authorization: 'Bearer flotilla-token-of-alice', 'impersonate-user': 'system:admin' } });
      const result: Exec = { protocol: '', stdout: '', stderr: '', status: {} };
      socket.on('open', () => {
        result.protocol = socket.protocol;
        if (!options.stdin) return;
        for (const line of options.stdin) socket.send(Buffer.concat([Buffer.of(0), Buffer.from(line)]));
        socket.send(Buffer.of(255, 0)); // v5: stdin closed
      });
      socket.on('message', (data: Buffer) => {
        if (data[0] === 1) result.stdout += data.subarray(1).toString();
        if (data[0] === 2) result.stderr += data.subarray(1).toString();
        if (data[0] === 3) result.status = JSON.parse(data.subarray(1).toString()) as Exec['status'];
      });
      socket.on('unexpected-response', (_request, response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => reject(Object.assign(new Error(`HTTP ${response.statusCode}`), { statusCode: response.statusCode, body: Buffer.concat(chunks).toString() })));
      });
      socket.on('close', () => resolve(result));
      socket.on('error', reject);
    });

  /** A raw upgrade in a made-up protocol: the request line, its headers and the first bytes in one write. */
  const rawUpgrade = async (protocol: string, first: Buffer): Promise<{ socket: Socket; head: string; received: () => Buffer; receivedSize: () => number }> => {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const chunks: Buffer[] = [];
    let size = 0;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    const all = (): Buffer => {
      if (chunks.length > 1) chunks.splice(0, chunks.length, Buffer.concat(chunks));
      return chunks[0] ?? Buffer.alloc(0);
    };
    socket.write(
      Buffer.concat([
        Buffer.from(`POST /clusters/edge/k8s/api/v1/namespaces/default/pods/shell/portforward HTTP/1.1\r\nHost: front\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\nAuthorization: Bearer flotilla-token-of-alice\r\n\r\n`),
        first,
      ]),
    );
    await until(() => all().includes('\r\n\r\n'), 'the response head');
    const end = all().indexOf('\r\n\r\n') + 4;
    const head = all().subarray(0, end).toString();
    return { socket, head, received: () => all().subarray(end), receivedSize: () => size - end };
  };

  before(async () => {
    api = new StandInApiServer({ ...ca.broker(), tokens: [SERVICE_ACCOUNT_TOKEN] });
    await api.listen();
    api.addPod('default', 'shell');
    listener = new AgentListener({ ...ca.broker(), ca: ca.cert });
    const agentPort = await listener.listen(0, '127.0.0.1');
    agent = new AgentLink({ host: '127.0.0.1', port: agentPort, ...ca.agent('edge'), ca: ca.cert, onStream: kubernetesForwarder({ apiServer: api.url, token: () => SERVICE_ACCOUNT_TOKEN, ca: ca.cert }) });
    agent.start();
    await until(() => listener.session('edge') !== undefined, 'the agent');
    // The broker's front: /clusters/<id>/k8s/<path>; every caller here is alice, an operator.
    const routes = kubernetesFront((request) => {
      const match = /^\/clusters\/([^/]+)\/k8s(\/.*)$/.exec(request.url ?? '');
      const session = match ? listener.session(match[1]!) : undefined;
      if (!match || !session) return { status: 404, message: 'no such cluster' };
      return { session: session.session, path: match[2]!, caller: { user: 'alice', groups: ['flotilla:operator'] } };
    });
    front = createServer((request, response) => void routes.request(request, response));
    front.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => void routes.upgrade(request, socket, head).then((result) => results.push(result)));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    port = (front.address() as AddressInfo).port;
  });

  after(async () => {
    await agent.stop();
    await listener.close();
    front.closeAllConnections();
    await new Promise<void>((resolve) => front.close(() => resolve()));
    await api.close();
    ca.dispose();
  });

  it('runs a WebSocket exec as the caller, with the agent credentials, and the status and exit code come back', async () => {
    const before = api.requests.length;
    const started = Date.now();
    const echo = await exec(['echo', 'hello', 'tunnel']);
    // The API server closing its end closes the caller's (a WebSocket client would wait 30 s for it).
    assert.ok(Date.now() - started < 5_000, 'the connection closed when the command ended');
    assert.deepEqual(echo, { protocol: 'v5.channel.k8s.io', stdout: 'hello tunnel\n', stderr: '', status: { metadata: {}, status: 'Success' } });
    const seen = api.requests.slice(before).find((request) => request.path.includes('/exec?'));
    assert.deepEqual({ ...seen, path: undefined }, { method: 'GET', path: undefined, user: 'alice', groups: ['flotilla:operator'], upgrade: 'websocket', authenticated: true });
    const failing = await exec(['sh', '-c', 'echo broken >&2; exit 3']);
    assert.equal(failing.stderr, 'broken\n');
    assert.equal(failing.status.reason, 'NonZeroExitCode');
    assert.deepEqual(failing.status.details, { causes: [{ reason: 'ExitCode', message: '3' }] });
  });

  it('carries stdin to the command and back, and negotiates the older subprotocol when only it is offered', async () => {
    const cat = await exec(['cat'], { stdin: ['one\n', 'two\n'] });
    assert.equal(cat.stdout, 'one\ntwo\n');
    const older = await exec(['echo', 'v4'], { protocols: ['v4.channel.k8s.io'] });
    assert.equal(older.protocol, 'v4.channel.k8s.io');
    assert.equal(older.stdout, 'v4\n');
  });

  it('relays a refused upgrade as an ordinary response with its Status', async () => {
    await assert.rejects(exec(['echo'], { pod: 'missing' }), (error: Error & { statusCode: number; body: string }) => {
      assert.equal(error.statusCode, 404);
      assert.match(error.body, /"reason":"NotFound"/);
      return true;
    });
    await assert.rejects(exec(['echo'], { protocols: ['v1.channel.k8s.io'] }), (error: Error & { statusCode: number }) => error.statusCode === 400);
  });

  it('carries a raw upgrade of a made-up protocol byte for byte, the first bytes included, and counts both ways', async () => {
    const before = results.length;
    const first = Buffer.from('sent-with-the-request');
    const { socket, head, received, receivedSize } = await rawUpgrade('x-made-up/1', first);
    assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(head, /\r\nUpgrade: x-made-up\/1\r\n/i);
    assert.match(head, /\r\nx-stream-protocol-version: portforward\.k8s\.io\r\n/i);
    await until(() => received().length >= first.length, 'the first bytes echoed');
    const payload = randomBytes(8 * 1024 * 1024);
    socket.write(payload);
    await until(() => receivedSize() >= first.length + payload.length, 'the payload echoed', 30_000);
    assert.ok(received().equals(Buffer.concat([first, payload])), 'echoed byte for byte');
    // The caller half-closes: the API server side ends, and so does the caller's connection.
    socket.end();
    await once(socket, 'close');
    await until(() => results.length > before, 'the relay to finish');
    assert.deepEqual(results.at(-1), { status: 101, bytesIn: first.length + payload.length, bytesOut: first.length + payload.length });
    await until(() => api.openStreams === 0, 'the API server side to close');
  });

  it('closes the API server side when the caller\'s connection breaks', async () => {
    const { socket, received } = await rawUpgrade('SPDY/3.1', Buffer.from('ping'));
    await until(() => received().length >= 4, 'the echo');
    assert.equal(api.openStreams, 1);
    socket.resetAndDestroy(); // an abrupt end (TCP RST), not a half-close
    await until(() => api.openStreams === 0, 'the API server side to close');
  });
});
