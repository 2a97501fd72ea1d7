// The tunnel on loopback, in one run. Run with `npm run bench -- tunnel`.
//
// Every party is its own process, as in a deployment: a stand-in Kubernetes API server (HTTPS),
// the agent (AgentLink + kubernetesForwarder), the broker's end (AgentListener + an HTTP front
// that forwards with forwardRequest, waiting up to 10 s for an agent that is reconnecting) and
// this process, the caller.
//
//   throughput   a BENCH_MB response from the API server, direct (HTTPS), through the tunnel
//                (front -> HTTP/2 over mutual TLS -> agent -> API server) and through the HTTP
//                floor (below), in turn, 3 rounds: medians, and their ratios
//   latency      BENCH_SMALL small requests, direct, through the tunnel and through the HTTP
//                floor, in turn, after WARMUP_SMALL of each: p50, p99, and what each adds to the
//                direct path; the agents' and the fronts' CPU per small request
//   HTTP floor   the tunnel's processes with nothing of the tunnel's own: an HTTP/1 server whose
//                requests become streams of node's HTTP/2 client on the agent's TLS connection,
//                and an agent serving them with node's HTTPS client; headers and bodies piped.
//                Measured with the transport (throughput and latency), beside the tunnel
//   stalled      twice as many small requests through the tunnel, in blocks alternating without
//                and with a stalled stream on the same agent: a large answer whose caller stopped
//                reading, held until its window and every buffer on its way are full; p99 of each
//   floor        what this machine allows any relay, the same legs with nothing but sockets: a
//                BENCH_MB stream over TLS direct and through two bare relay processes (TLS in and
//                TLS out, as the agent; TLS in and plain out, as the front; bytes moved by the
//                tunnel's own relay()), then BENCH_SMALL 200-byte round trips direct and through
//                them: ratio, added p50 and p99. The tunnel cannot do better than this floor:
//                when a target lies beyond it, the machine, not the tunnel, bounds it; when it
//                lies beyond the HTTP floor only, node's HTTP modules, which the tunnel is built
//                on, do.
//   agents       BENCH_AGENTS agents (10,000) in two processes connect to a broker process: its
//                memory per idle connected agent (RSS after GC, less the RSS before), and the time
//                for all of them to come back after the broker drops every connection and listens
//                again (a restart), with the CPU time the broker and the agents spent on it. Here
//                10,000 agents share the machine's cores with their broker, so their handshakes
//                (several ms each) bound these times as much as the broker's do; and an agent
//                process that busy answers pings late, so pings wait 30 s here, not 5 s, lest a
//                busy machine pass for dead agents.
//
// Also recorded: tunnel connections that dropped while measuring (and why), the machine's cores
// and load average before and after (other work on it skews every figure).
// Writes bench/results/tunnel.json. Environment: BENCH_AGENTS (10000), BENCH_MB (200),
// BENCH_SMALL (2000), BENCH_RESULTS_DIR.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, createServer as createHttpServer, request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { connect as http2Connect, performServerHandshake, type ClientHttp2Session } from 'node:http2';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { AgentLink, AgentListener, CALLER_GROUPS_HEADER, CALLER_USER_HEADER, forwardRequest, kubernetesForwarder, TUNNEL_ALPN, TUNNEL_CIPHERS, TUNNEL_CONNECTION_WINDOW, TUNNEL_SETTINGS } from '../src/index.js';
import { relay } from '../src/relay.js';
import { benchPki } from './bench-pki.js';

const AGENTS = Number(process.env['BENCH_AGENTS'] ?? 10_000);
const MB = Number(process.env['BENCH_MB'] ?? 200);
const SMALL = Number(process.env['BENCH_SMALL'] ?? 2_000);
const RESULTS_DIR = process.env['BENCH_RESULTS_DIR'] ?? fileURLToPath(new URL('../../../../bench/results/', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
/**
 * Blocks of small requests alternating without and with the stalled stream (half of each), and
 * requests in each condition. A p99 is a tail of a few dozen requests: with 2,000 in four blocks,
 * the same run with the conditions' order swapped moved it by 15% either way.
 */
const STALL_BLOCKS = 10;
const STALL_SAMPLES = 2 * SMALL;
/**
 * Small round trips on each path before any is timed. A broker and an agent run for weeks: their
 * request paths are compiled by then. The first thousands of requests here still run partly
 * interpreted (the agent's CPU per request falls from about 1 ms to a third of that), and would
 * be measured as the tunnel's latency.
 */
const WARMUP_SMALL = 1_000;
/** How long the fleet's broker and agents wait for a ping's answer (see the header). */
const FLEET_PING_TIMEOUT_MS = 30_000;

interface PkiFile {
  ca: string;
  broker: { cert: string; key: string };
  agentKey: string;
  agentCerts: string[];
}

type Message = { op: string } & Record<string, unknown>;

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
const median = (values: number[]) => percentile(values, 50);
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
const log = (message: string) => process.stderr.write(`${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const readPki = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as PkiFile;
const send = (message: Message) => process.send!(message);
const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

// ---------------------------------------------------------------- child processes

/** The stand-in Kubernetes API server: `/big?mb=N`, `/stall` (data until its caller leaves), anything else a small JSON answer. */
async function apiProcess(pkiFile: string): Promise<void> {
  const pki = readPki(pkiFile);
  const chunk = Buffer.alloc(1024 * 1024, 1);
  const stall = { open: false, bytes: 0, blockedSince: 0 };
  const api = createHttpsServer(pki.broker, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://api');
    if (url.pathname === '/big') {
      const total = Number(url.searchParams.get('mb')) * chunk.length;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    } else if (url.pathname === '/stall') {
      // A log or a watch that keeps coming while its caller reads nothing.
      Object.assign(stall, { open: true, bytes: 0, blockedSince: 0 });
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = () => {
        stall.blockedSince = 0;
        while (!res.destroyed) {
          stall.bytes += chunk.length;
          if (!res.write(chunk)) {
            stall.blockedSince = performance.now();
            return void res.once('drain', pump);
          }
        }
      };
      res.once('close', () => (stall.open = false));
      pump();
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Status","apiVersion":"v1","status":"Success"}');
    }
  });
  api.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  process.on('message', (message: Message) => {
    if (message.op === 'stall') send({ op: 'stall', open: stall.open, mb: stall.bytes / chunk.length, blockedMs: stall.blockedSince ? performance.now() - stall.blockedSince : 0 });
    if (message.op === 'cpu') send({ op: 'cpu', ms: cpuMs() });
  });
  send({ op: 'ready', port: (api.address() as AddressInfo).port });
}

/** The broker's end for the transport measurements: the agents' listener and an HTTP front forwarding to the one agent. */
async function frontProcess(pkiFile: string): Promise<void> {
  const pki = readPki(pkiFile);
  const listener = new AgentListener({ ...pki.broker, ca: pki.ca });
  const drops = new Map<string, number>();
  listener.on('change', (event) => {
    if (event.kind === 'connected') send({ op: 'connected', clusterId: event.clusterId });
    if (event.kind === 'disconnected') {
      count(drops, event.reason);
      log(`broker: the agent's connection ended (${event.reason})`);
    }
  });
  const agentPort = await listener.listen(0, '127.0.0.1');
  // A request waits (up to 10 s) for its agent to be connected, as the broker does while an agent reconnects.
  const sessionOf = async (clusterId: string) => {
    for (let waited = 0; waited < 10_000 && !listener.session(clusterId); waited += 10) await sleep(10);
    return listener.session(clusterId);
  };
  const front = createHttpServer((req, res) => {
    void sessionOf('agent-0').then(async (session) => {
      if (session) await forwardRequest(session.session, req, res, { headers: { [CALLER_USER_HEADER]: 'bench', [CALLER_GROUPS_HEADER]: 'bench' } });
      else res.writeHead(503).end();
    });
  });
  front.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  process.on('message', (message: Message) => {
    if (message.op === 'drops') send({ op: 'drops', drops: Object.fromEntries(drops) });
    if (message.op === 'cpu') send({ op: 'cpu', ms: cpuMs() });
  });
  send({ op: 'ready', agentPort, frontPort: (front.address() as AddressInfo).port });
}

/** The agent of cluster agent-0: its streams go to the stand-in API server. */
function agentProcess(pkiFile: string, port: number, apiPort: number): void {
  const pki = readPki(pkiFile);
  const link = new AgentLink({ host: '127.0.0.1', port, cert: pki.agentCerts[0]!, key: pki.agentKey, ca: pki.ca, onStream: kubernetesForwarder({ apiServer: `https://127.0.0.1:${apiPort}`, token: () => 'bench-token', ca: pki.ca }) });
  link.on('change', (event) => {
    if (event.kind !== 'retrying') log(`agent: ${event.kind}${event.kind === 'disconnected' ? ` (${event.reason})` : ''}`);
  });
  link.start();
  process.on('message', (message: Message) => {
    if (message.op === 'cpu') send({ op: 'cpu', ms: cpuMs() });
  });
}

/**
 * The HTTP floor's broker end: node's HTTP/1 server for callers and its HTTP/2 client on the
 * agent's TLS connection, as the front has, with nothing of the tunnel's own: each request becomes
 * a stream, its answer's status, headers and body are piped back.
 */
async function httpFloorFrontProcess(pkiFile: string): Promise<void> {
  const pki = readPki(pkiFile);
  let session: ClientHttp2Session | undefined;
  const agents = createTlsServer({ ...pki.broker, ca: pki.ca, requestCert: true, rejectUnauthorized: true, ALPNProtocols: [TUNNEL_ALPN], ciphers: TUNNEL_CIPHERS }, (socket) => {
    socket.setNoDelay(true);
    const opened = http2Connect('http://agent', { createConnection: () => socket, settings: TUNNEL_SETTINGS });
    opened.once('connect', () => {
      opened.setLocalWindowSize(TUNNEL_CONNECTION_WINDOW);
      session = opened;
      send({ op: 'connected' });
    });
  });
  const front = createHttpServer((req, res) => {
    if (!session) return void res.writeHead(503).end();
    const stream = session.request({ ':method': req.method ?? 'GET', ':path': req.url ?? '/' }, { endStream: req.method === 'GET' });
    if (req.method !== 'GET') req.pipe(stream);
    stream.on('response', (headers) => {
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(headers)) if (!name.startsWith(':') && value !== undefined) out[name] = value;
      res.writeHead(Number(headers[':status']), out);
      stream.pipe(res);
    });
    stream.on('error', () => res.destroy());
  });
  front.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => agents.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  process.on('message', (message: Message) => {
    if (message.op === 'cpu') send({ op: 'cpu', ms: cpuMs() });
  });
  send({ op: 'ready', agentPort: (agents.address() as AddressInfo).port, frontPort: (front.address() as AddressInfo).port });
}

/** The HTTP floor's agent: dials the front, serves HTTP/2 on that connection, each stream a request to the API server through node's HTTPS client. */
function httpFloorAgentProcess(pkiFile: string, port: number, apiPort: number): void {
  const pki = readPki(pkiFile);
  const agent = new HttpsAgent({ keepAlive: true, ca: pki.ca });
  const socket = tlsConnect({ host: '127.0.0.1', port, cert: pki.agentCerts[0]!, key: pki.agentKey, ca: pki.ca, ALPNProtocols: [TUNNEL_ALPN], ciphers: TUNNEL_CIPHERS });
  socket.setNoDelay(true);
  socket.once('secureConnect', () => {
    const session = performServerHandshake(socket, { settings: TUNNEL_SETTINGS });
    session.setLocalWindowSize(TUNNEL_CONNECTION_WINDOW);
    session.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      const method = String(headers[':method']);
      const upstream = httpsRequest({ host: '127.0.0.1', port: apiPort, method, path: String(headers[':path']), agent }, (response) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(response.headers)) if (name !== 'connection' && name !== 'keep-alive' && name !== 'transfer-encoding' && value !== undefined) out[name] = value;
        stream.respond({ ':status': response.statusCode ?? 502, ...out });
        response.pipe(stream);
      });
      upstream.on('error', () => stream.destroy());
      stream.on('close', () => upstream.destroy());
      if (method === 'GET') upstream.end();
      else stream.pipe(upstream);
    });
  });
  socket.on('error', (error: Error) => log(`http floor agent: ${error.message}`));
  process.on('message', (message: Message) => {
    if (message.op === 'cpu') send({ op: 'cpu', ms: cpuMs() });
  });
}

/** The floor's API server: `B` asks for BENCH_MB MiB, any other bytes come back as they are. */
async function floorApiProcess(pkiFile: string): Promise<void> {
  const pki = readPki(pkiFile);
  const chunk = Buffer.alloc(1024 * 1024, 1);
  const server = createTlsServer(pki.broker, (socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.on('data', (data: Buffer) => {
      if (data[0] !== 0x42) return void socket.write(data);
      let sent = 0;
      const pump = () => {
        while (sent < MB) {
          sent++;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  send({ op: 'ready', port: (server.address() as AddressInfo).port });
}

/**
 * A bare relay of the floor: each connection it accepts (TLS as the agent's side of the tunnel,
 * plain as the front's) is joined to a new TLS connection to `upstream`, bytes moved both ways
 * with the tunnel's relay().
 */
async function floorRelayProcess(pkiFile: string, upstream: number, side: 'agent' | 'front'): Promise<void> {
  const pki = readPki(pkiFile);
  // The agent's leg to the API server with node's ciphers, the tunnel's leg with the tunnel's.
  const ciphers = side === 'agent' ? undefined : TUNNEL_CIPHERS;
  const join = (socket: Socket) => {
    socket.setNoDelay(true);
    const next = tlsConnect({ host: '127.0.0.1', port: upstream, ca: pki.ca, ...(ciphers ? { ciphers } : {}) });
    next.setNoDelay(true);
    for (const end of [socket, next]) end.on('error', () => (socket.destroy(), next.destroy()));
    relay(socket, next);
    relay(next, socket);
  };
  const server = side === 'agent' ? createTlsServer({ ...pki.broker, ciphers: TUNNEL_CIPHERS }, join) : createNetServer(join);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  send({ op: 'ready', port: (server.address() as AddressInfo).port });
}

/** The broker for the fleet measurements: only the agents' listener. */
async function brokerProcess(pkiFile: string): Promise<void> {
  const pki = readPki(pkiFile);
  const drops = new Map<string, number>();
  const refusals = new Map<string, number>();
  const open = () => {
    const listener = new AgentListener({ ...pki.broker, ca: pki.ca, keepaliveTimeoutMs: FLEET_PING_TIMEOUT_MS });
    listener.on('change', (event) => {
      if (event.kind === 'disconnected' && event.reason !== 'broker-stopping') count(drops, event.reason);
      if (event.kind === 'refused') count(refusals, event.reason);
    });
    return listener;
  };
  let listener = open();
  const port = await listener.listen(0, '127.0.0.1');
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (message: Message) => {
    void (async () => {
      switch (message.op) {
        case 'count':
          return send({ op: 'count', count: listener.clusterIds.length });
        case 'memory': {
          gc?.();
          await sleep(200);
          gc?.();
          const { rss, heapUsed } = process.memoryUsage();
          return send({ op: 'memory', rss, heapUsed });
        }
        case 'drops':
          return send({ op: 'drops', drops: Object.fromEntries(drops), refusals: Object.fromEntries(refusals) });
        case 'cpu':
          return send({ op: 'cpu', ms: cpuMs() });
        case 'restart':
          await listener.close();
          listener = open();
          await listener.listen(port, '127.0.0.1');
          return send({ op: 'restarted' });
      }
    })();
  });
  send({ op: 'ready', port });
}

function agentsProcess(pkiFile: string, port: number, from: number, count: number): void {
  const pki = readPki(pkiFile);
  const links: AgentLink[] = [];
  for (let i = from; i < from + count; i++) {
    const link = new AgentLink({ host: '127.0.0.1', port, cert: pki.agentCerts[i]!, key: pki.agentKey, ca: pki.ca, keepaliveTimeoutMs: FLEET_PING_TIMEOUT_MS, onStream: (stream) => stream.respond({ ':status': 204 }, { endStream: true }) });
    links.push(link);
    link.start();
  }
  process.on('message', (message: Message) => {
    if (message.op === 'cpu') return send({ op: 'cpu', ms: cpuMs() });
    void Promise.all(links.map((link) => link.stop())).then(() => process.exit(0));
  });
}

// ---------------------------------------------------------------- the measurements

/** A child process that exited before it was stopped: what went wrong (its own output says more). */
let crashed: string | undefined;
const stopping = new Set<ChildProcess>();

function start(role: string, args: (string | number)[], execArgv: string[] = []): ChildProcess {
  const child = fork(SELF, [role, ...args.map(String)], { execArgv: [...process.execArgv, ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.once('exit', (code, signal) => {
    if (!stopping.has(child)) crashed ??= `the ${role} process exited (${code ?? signal}) while being measured`;
  });
  return child;
}

function alive(): void {
  if (crashed) throw new Error(crashed);
}

function next<T>(child: ChildProcess, op: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Message) => {
      if (message.op !== op) return;
      child.off('message', onMessage).off('exit', onExit);
      resolve(message as T);
    };
    const onExit = (code: number | null) => reject(new Error(`a ${op} was awaited from a child process that exited (${code})`));
    child.on('message', onMessage).once('exit', onExit);
  });
}

function ask<T>(child: ChildProcess, op: string, answer = op): Promise<T> {
  const answered = next<T>(child, answer);
  child.send({ op });
  return answered;
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((alive(), !(await check()))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopping.add(child);
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    }),
  );
}

type Get = (path: string, onResponse: (response: IncomingMessage) => void) => ClientRequest;

function timed(get: Get, path: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = get(path, (response) => {
      let bytes = 0;
      let text = '';
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (response.statusCode !== 200 && text.length < 500) text += chunk.toString();
      });
      response.on('end', () => (response.statusCode === 200 ? resolve({ ms: performance.now() - started, bytes }) : reject(new Error(`${path}: HTTP ${response.statusCode} ${text}`))));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Small requests that failed, by what went wrong: a caller would have seen these. */
const failures = new Map<string, number>();

/** One small request: its time, or (failed) nothing, counted in `failures`. */
async function small(get: Get, into: number[]): Promise<void> {
  alive();
  try {
    into.push((await timed(get, '/small')).ms);
  } catch (error) {
    count(failures, (error as Error).message);
  }
}

async function transport(pkiFile: string, ca: string): Promise<Record<string, unknown>> {
  const api = start('api', [pkiFile]);
  const front = start('front', [pkiFile]);
  const floorFront = start('http-floor-front', [pkiFile]);
  const children = [api, front, floorFront];
  try {
    type Ports = { agentPort: number; frontPort: number };
    const [{ port: apiPort }, { agentPort, frontPort }, floorPorts] = await Promise.all([next<{ port: number }>(api, 'ready'), next<Ports>(front, 'ready'), next<Ports>(floorFront, 'ready')]);
    const connected = Promise.all([next(front, 'connected'), next(floorFront, 'connected')]);
    const agent = start('agent', [pkiFile, agentPort, apiPort]);
    const floorAgent = start('http-floor-agent', [pkiFile, floorPorts.agentPort, apiPort]);
    children.push(agent, floorAgent);
    await connected;
    /** CPU time (ms) of each process so far. */
    const cpu = async () => {
      const [api_, agent_, front_, floorAgent_, floorFront_] = await Promise.all([api, agent, front, floorAgent, floorFront].map(async (child) => (await ask<{ ms: number }>(child, 'cpu')).ms));
      return { api: api_!, agent: agent_!, front: front_!, floorAgent: floorAgent_!, floorFront: floorFront_!, caller: cpuMs() };
    };
    const cpuSpent: Record<'direct' | 'tunnel', { api: number; agent: number; front: number; caller: number }> = { direct: { api: 0, agent: 0, front: 0, caller: 0 }, tunnel: { api: 0, agent: 0, front: 0, caller: 0 } };

    const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca });
    const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const direct: Get = (path, onResponse) => httpsRequest(`https://127.0.0.1:${apiPort}${path}`, { agent: httpsAgent }, onResponse);
    const tunnel: Get = (path, onResponse) => httpRequest(`http://127.0.0.1:${frontPort}${path}`, { agent: httpAgent }, onResponse);
    const floorHttpAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    const httpFloor: Get = (path, onResponse) => httpRequest(`http://127.0.0.1:${floorPorts.frontPort}${path}`, { agent: floorHttpAgent }, onResponse);
    try {
      const directRates: number[] = [];
      const tunnelRates: number[] = [];
      const floorRates: number[] = [];
      for (let round = 0; round < 3; round++) {
        for (const [rates, get, path] of [
          [directRates, direct, 'direct'],
          [tunnelRates, tunnel, 'tunnel'],
          [floorRates, httpFloor, undefined],
        ] as const) {
          const before = await cpu();
          const { ms, bytes } = await timed(get, `/big?mb=${MB}`);
          if (bytes !== MB * 1024 * 1024) throw new Error(`short transfer: ${bytes} bytes`);
          rates.push(bytes / 1024 / 1024 / (ms / 1000));
          const after = await cpu();
          if (path) for (const party of ['api', 'agent', 'front', 'caller'] as const) cpuSpent[path][party] += after[party] - before[party];
        }
        log(`throughput round ${round + 1}: direct ${round1(directRates.at(-1)!)} MB/s, tunnel ${round1(tunnelRates.at(-1)!)} MB/s, HTTP floor ${round1(floorRates.at(-1)!)} MB/s`);
      }

      const warmup: number[] = [];
      for (let i = 0; i < WARMUP_SMALL; i++) {
        await small(direct, warmup);
        await small(tunnel, warmup);
        await small(httpFloor, warmup);
      }
      const directSmall: number[] = [];
      const tunnelSmall: number[] = [];
      const floorSmall: number[] = [];
      const smallBefore = await cpu();
      for (let i = 0; i < SMALL; i++) {
        await small(direct, directSmall);
        await small(tunnel, tunnelSmall);
        await small(httpFloor, floorSmall);
      }
      const smallAfter = await cpu();
      /** CPU time (us) per small request of a process that serves one path only. */
      const usPerSmall = (party: 'agent' | 'front' | 'floorAgent' | 'floorFront') => Math.round(((smallAfter[party] - smallBefore[party]) * 1000) / SMALL);
      log(`small requests: direct p50 ${round(median(directSmall))} ms p99 ${round(percentile(directSmall, 99))} ms, tunnel p50 ${round(median(tunnelSmall))} ms p99 ${round(percentile(tunnelSmall, 99))} ms, HTTP floor p50 ${round(median(floorSmall))} ms p99 ${round(percentile(floorSmall, 99))} ms`);

      // Without and with a stalled stream, in alternating blocks (drift on a busy machine touches both alike).
      const unstalled: number[] = [];
      const stalled: number[] = [];
      const stalledMb: number[] = [];
      for (let block = 0; block < STALL_BLOCKS; block++) {
        const withStall = block % 2 === 1;
        let stall: ClientRequest | undefined;
        if (withStall) {
          stall = httpRequest(`http://127.0.0.1:${frontPort}/stall`);
          stall.end();
          const [response] = (await once(stall, 'response')) as [IncomingMessage];
          response.pause(); // the caller reads nothing more
          let state = { mb: 0, blockedMs: 0 };
          await until(
            async () => {
              state = await ask<typeof state>(api, 'stall');
              return state.blockedMs > 300;
            },
            30_000,
            'the stalled stream to fill its window',
            50,
          );
          stalledMb.push(state.mb);
        }
        const samples = withStall ? stalled : unstalled;
        for (let i = 0; i < STALL_SAMPLES / (STALL_BLOCKS / 2); i++) await small(tunnel, samples);
        if (stall) {
          stall.destroy();
          await until(async () => !(await ask<{ open: boolean }>(api, 'stall')).open, 10_000, 'the stalled stream to close', 50);
        }
      }
      log(`beside a stalled stream (${round1(median(stalledMb))} MiB in flight when it stalled): p99 ${round(percentile(stalled, 99))} ms, without ${round(percentile(unstalled, 99))} ms`);
      const { drops } = await ask<{ drops: Record<string, number> }>(front, 'drops');

      return {
        direct_mb_s: round1(median(directRates)),
        tunnel_mb_s: round1(median(tunnelRates)),
        ratio: round(median(tunnelRates) / median(directRates)),
        // CPU time per MiB moved, by process (all three rounds): where the tunnel's extra cost goes.
        cpu_ms_per_mib: Object.fromEntries((['direct', 'tunnel'] as const).map((path) => [path, Object.fromEntries(Object.entries(cpuSpent[path]).map(([name, ms]) => [name, round(ms / (3 * MB), 2)]))])),
        direct_p50_ms: round(median(directSmall)),
        direct_p99_ms: round(percentile(directSmall, 99)),
        tunnel_p50_ms: round(median(tunnelSmall)),
        tunnel_p99_ms: round(percentile(tunnelSmall, 99)),
        added_p50_ms: round(median(tunnelSmall) - median(directSmall)),
        added_p99_ms: round(percentile(tunnelSmall, 99) - percentile(directSmall, 99)),
        // The HTTP floor (see the header): node's HTTP modules relaying, nothing of the tunnel's own.
        http_floor_mb_s: round1(median(floorRates)),
        http_floor_ratio: round(median(floorRates) / median(directRates)),
        http_floor_added_p50_ms: round(median(floorSmall) - median(directSmall)),
        http_floor_added_p99_ms: round(percentile(floorSmall, 99) - percentile(directSmall, 99)),
        cpu_us_per_small_request: { tunnel: { agent: usPerSmall('agent'), front: usPerSmall('front') }, http_floor: { agent: usPerSmall('floorAgent'), front: usPerSmall('floorFront') } },
        p99_without_stall_ms: round(percentile(unstalled, 99)),
        p99_with_stalled_stream_ms: round(percentile(stalled, 99)),
        stalled_vs_unstalled_p99: round(percentile(stalled, 99) / percentile(unstalled, 99)),
        stalled_stream_mb_in_flight: round1(median(stalledMb)),
        // Tunnel connections that ended while measuring, by reason (the agent reconnects; requests wait for it).
        tunnel_drops: Object.values(drops).reduce((sum, n) => sum + n, 0),
        tunnel_drop_reasons: drops,
        failed_requests: Object.fromEntries(failures),
      };
    } finally {
      httpsAgent.destroy();
      httpAgent.destroy();
      floorHttpAgent.destroy();
    }
  } finally {
    await stopAll(children);
  }
}

/** The floor (see the header): the tunnel's legs as bare sockets. */
async function floor(pkiFile: string, ca: string): Promise<Record<string, unknown>> {
  const api = start('floor-api', [pkiFile]);
  const children = [api];
  try {
    const { port: apiPort } = await next<{ port: number }>(api, 'ready');
    const agent = start('floor-relay', [pkiFile, apiPort, 'agent']);
    children.push(agent);
    const { port: agentPort } = await next<{ port: number }>(agent, 'ready');
    const front = start('floor-relay', [pkiFile, agentPort, 'front']);
    children.push(front);
    const { port: frontPort } = await next<{ port: number }>(front, 'ready');
    const open = async (path: 'direct' | 'relayed') => {
      const socket = path === 'direct' ? tlsConnect({ host: '127.0.0.1', port: apiPort, ca }) : netConnect(frontPort, '127.0.0.1');
      socket.setNoDelay(true);
      await once(socket, path === 'direct' ? 'secureConnect' : 'connect');
      return socket;
    };
    /** Sends `message` and waits for `expected` bytes back: its time in ms. */
    const exchange = (socket: Socket, message: Buffer, expected: number) =>
      new Promise<number>((resolve, reject) => {
        const started = performance.now();
        let received = 0;
        const onData = (data: Buffer) => {
          received += data.length;
          if (received < expected) return;
          socket.off('data', onData).off('error', reject);
          resolve(performance.now() - started);
        };
        socket.on('data', onData).once('error', reject);
        socket.write(message);
      });
    const rates: Record<'direct' | 'relayed', number[]> = { direct: [], relayed: [] };
    for (let round = 0; round < 3; round++) {
      for (const path of ['direct', 'relayed'] as const) {
        alive();
        const socket = await open(path);
        const ms = await exchange(socket, Buffer.from('B'), MB * 1024 * 1024);
        socket.destroy();
        rates[path].push(MB / (ms / 1000));
      }
    }
    const small = Buffer.alloc(200, 0x73);
    const times: Record<'direct' | 'relayed', number[]> = { direct: [], relayed: [] };
    const sockets = { direct: await open('direct'), relayed: await open('relayed') };
    for (let i = 0; i < WARMUP_SMALL + SMALL; i++) {
      for (const path of ['direct', 'relayed'] as const) {
        const ms = await exchange(sockets[path], small, small.length);
        if (i >= WARMUP_SMALL) times[path].push(ms);
      }
    }
    for (const socket of Object.values(sockets)) socket.destroy();
    const result = {
      floor_direct_mb_s: round1(median(rates.direct)),
      floor_relay_mb_s: round1(median(rates.relayed)),
      floor_ratio: round(median(rates.relayed) / median(rates.direct)),
      floor_added_p50_ms: round(median(times.relayed) - median(times.direct)),
      floor_added_p99_ms: round(percentile(times.relayed, 99) - percentile(times.direct, 99)),
    };
    log(`floor (bare TLS relays): ratio ${result.floor_ratio} (${result.floor_relay_mb_s} of ${result.floor_direct_mb_s} MB/s), added p50 ${result.floor_added_p50_ms} ms, p99 ${result.floor_added_p99_ms} ms`);
    return result;
  } finally {
    await stopAll(children);
  }
}

async function fleet(pkiFile: string): Promise<Record<string, unknown>> {
  const broker = start('broker', [pkiFile], ['--expose-gc']);
  const children: ChildProcess[] = [];
  try {
    const { port } = await next<{ port: number }>(broker, 'ready');
    const before = await ask<{ rss: number; heapUsed: number }>(broker, 'memory');
    const connectedNow = async () => (await ask<{ count: number }>(broker, 'count')).count;
    /** CPU time (ms) of the broker and of the agents' processes so far. */
    const cpu = async () => {
      const [brokerMs, ...agentsMs] = await Promise.all([broker, ...children].map(async (child) => (await ask<{ ms: number }>(child, 'cpu')).ms));
      return { broker: brokerMs!, agents: agentsMs.reduce((sum, ms) => sum + ms, 0) };
    };
    const started = performance.now();
    const half = Math.ceil(AGENTS / 2);
    for (const [from, n] of [
      [0, half],
      [half, AGENTS - half],
    ] as const) {
      if (n > 0) children.push(start('agents', [pkiFile, port, from, n]));
    }
    await until(async () => (await connectedNow()) === AGENTS, 300_000, `${AGENTS} agents to connect`);
    const connectAll = (performance.now() - started) / 1000;
    log(`${AGENTS} agents connected in ${round1(connectAll)} s`);
    await sleep(3_000); // idle: handshakes and settings done, keepalive pings going
    const loaded = await ask<{ rss: number; heapUsed: number }>(broker, 'memory');
    log(`broker RSS ${round1(loaded.rss / 1024 / 1024)} MB: ${round1((loaded.rss - before.rss) / 1024 / AGENTS)} KB per idle agent`);

    const cpuBefore = await cpu();
    const restartedAt = performance.now();
    await ask(broker, 'restart', 'restarted');
    await until(async () => (await connectedNow()) === AGENTS, 300_000, `${AGENTS} agents to come back`);
    const reconnectAll = (performance.now() - restartedAt) / 1000;
    const cpuAfter = await cpu();
    const brokerCpuMs = (cpuAfter.broker - cpuBefore.broker) / AGENTS;
    const agentsCpuMs = (cpuAfter.agents - cpuBefore.agents) / AGENTS;
    log(`${AGENTS} agents back in ${round1(reconnectAll)} s after the broker dropped them all (CPU per agent: broker ${round(brokerCpuMs, 2)} ms, agents ${round(agentsCpuMs, 2)} ms)`);
    const { drops, refusals } = await ask<{ drops: Record<string, number>; refusals: Record<string, number> }>(broker, 'drops');
    return {
      agents: AGENTS,
      connect_all_s: round(connectAll, 2),
      rss_kb_per_agent: round1((loaded.rss - before.rss) / 1024 / AGENTS),
      heap_kb_per_agent: round1((loaded.heapUsed - before.heapUsed) / 1024 / AGENTS),
      broker_rss_mb: round1(loaded.rss / 1024 / 1024),
      reconnect_all_s: round(reconnectAll, 2),
      // CPU time per agent that came back: the broker's bounds how fast one broker process (one core) takes a fleet back.
      reconnect_broker_cpu_ms_per_agent: round(brokerCpuMs, 2),
      reconnect_agents_cpu_ms_per_agent: round(agentsCpuMs, 2),
      fleet_ping_timeout_ms: FLEET_PING_TIMEOUT_MS,
      // Connections the broker lost other than by its restart, and handshakes it refused: none when all is well.
      fleet_drops: drops,
      fleet_refusals: refusals,
    };
  } finally {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null) return;
        stopping.add(child);
        const exited = once(child, 'exit');
        child.send({ op: 'stop' });
        await exited;
      }),
    );
    await stopAll([broker]);
  }
}

function round1(value: number): number {
  return round(value, 1);
}

function machine(): Record<string, unknown> {
  const cores = cpus();
  return { cpus: cores.length, cpu_model: cores[0]?.model, load_average_1m: round(loadavg()[0]!, 2), node: process.version, openssl: process.versions.openssl };
}

async function main(): Promise<void> {
  const machineBefore = machine();
  const dir = mkdtempSync(join(tmpdir(), 'tunnel-bench-'));
  const startedAll = performance.now();
  try {
    const pki = await benchPki();
    const pkiFile = join(dir, 'pki.json');
    const writePki = (agentCerts: string[]) => writeFileSync(pkiFile, JSON.stringify({ ca: pki.ca, broker: pki.broker, agentKey: pki.agentKey, agentCerts } satisfies PkiFile), { mode: 0o600 });
    // The fleet's certificates are made after the transport is measured: this process is the
    // caller there, and making 10,000 of them first left it spending three times the CPU per MiB
    // it received (6 ms rather than 2 over HTTPS), which slowed the direct path most.
    writePki([await pki.agentCert('agent-0')]);
    const measured = await transport(pkiFile, pki.ca);
    const floorMeasured = await floor(pkiFile, pki.ca);

    const certified = performance.now();
    const agentCerts = await pki.agentCerts(Array.from({ length: Math.max(AGENTS, 1) }, (_, i) => `agent-${i}`));
    log(`${agentCerts.length} agent certificates in ${round1((performance.now() - certified) / 1000)} s`);
    writePki(agentCerts);
    const fleetMeasured = await fleet(pkiFile);
    const result = {
      benchmark: 'tunnel',
      date: new Date().toISOString(),
      ...measured,
      ...floorMeasured,
      ...fleetMeasured,
      duration_s: round1((performance.now() - startedAll) / 1000),
      machine: { ...machineBefore, load_average_1m_after: round(loadavg()[0]!, 2) },
      targets: { ratio: '>= 0.9', added_p99_ms: '<= 1', p99_with_stalled_stream_ms: 'within 10% of the unstalled p99', rss_kb_per_agent: '<= 64', reconnect_all_s: '<= 30' },
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const out = join(RESULTS_DIR, 'tunnel.json');
    writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(`${out}.tmp`, out);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [role, ...args] = process.argv.slice(2);
if (role === 'api') await apiProcess(args[0]!);
else if (role === 'front') await frontProcess(args[0]!);
else if (role === 'agent') agentProcess(args[0]!, Number(args[1]), Number(args[2]));
else if (role === 'http-floor-front') await httpFloorFrontProcess(args[0]!);
else if (role === 'http-floor-agent') httpFloorAgentProcess(args[0]!, Number(args[1]), Number(args[2]));
else if (role === 'floor-api') await floorApiProcess(args[0]!);
else if (role === 'floor-relay') await floorRelayProcess(args[0]!, Number(args[1]), args[2] as 'agent' | 'front');
else if (role === 'broker') await brokerProcess(args[0]!);
else if (role === 'agents') agentsProcess(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]));
else await main();
