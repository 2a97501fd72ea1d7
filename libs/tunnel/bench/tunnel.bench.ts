// The tunnel on loopback, in one run. Run with `npm run bench -- tunnel`.
//
//   throughput   a large response from a stand-in API server over HTTPS: direct, and through the
//                tunnel (broker front -> HTTP/2 over mutual TLS -> agent -> API server)
//   latency      small requests, direct and through the tunnel, alternating: added p50 and p99
//   stalled      the same small requests through an agent that also holds a stalled stream
//   agents       BENCH_AGENTS agents (10,000) in two processes connect to a broker process: its
//                memory per idle connected agent, and the time for all of them to come back after
//                the broker drops every connection and listens again (a restart)
//
// Writes bench/results/tunnel.json. Environment: BENCH_AGENTS (10000), BENCH_MB (200),
// BENCH_SMALL (2000), BENCH_RESULTS_DIR.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentLink, AgentListener, CALLER_GROUPS_HEADER, CALLER_USER_HEADER, forwardRequest, kubernetesForwarder } from '../src/index.js';
import { benchPki } from './bench-pki.js';

const AGENTS = Number(process.env['BENCH_AGENTS'] ?? 10_000);
const MB = Number(process.env['BENCH_MB'] ?? 200);
const SMALL = Number(process.env['BENCH_SMALL'] ?? 2_000);
const RESULTS_DIR = process.env['BENCH_RESULTS_DIR'] ?? fileURLToPath(new URL('../../../../bench/results/', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

interface PkiFile {
  ca: string;
  broker: { cert: string; key: string };
  agentKey: string;
  agentCerts: string[];
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
const log = (message: string) => process.stderr.write(`${message}\n`);

// ---------------------------------------------------------------- child processes

async function brokerProcess(pkiFile: string): Promise<void> {
  const pki = JSON.parse(readFileSync(pkiFile, 'utf8')) as PkiFile;
  let listener = new AgentListener({ ...pki.broker, ca: pki.ca });
  const port = await listener.listen(0, '127.0.0.1');
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (message: { op: string }) => {
    void (async () => {
      switch (message.op) {
        case 'count':
          return process.send!({ op: 'count', count: listener.clusterIds.length });
        case 'rss':
          gc?.();
          await new Promise((resolve) => setTimeout(resolve, 200));
          gc?.();
          return process.send!({ op: 'rss', rss: process.memoryUsage().rss });
        case 'restart':
          await listener.close();
          listener = new AgentListener({ ...pki.broker, ca: pki.ca });
          await listener.listen(port, '127.0.0.1');
          return process.send!({ op: 'restarted' });
      }
    })();
  });
  process.send!({ op: 'ready', port });
}

function agentsProcess(pkiFile: string, port: number, from: number, count: number): void {
  const pki = JSON.parse(readFileSync(pkiFile, 'utf8')) as PkiFile;
  const links: AgentLink[] = [];
  for (let i = from; i < from + count; i++) {
    const link = new AgentLink({ host: '127.0.0.1', port, cert: pki.agentCerts[i]!, key: pki.agentKey, ca: pki.ca, onStream: (stream) => stream.respond({ ':status': 204 }, { endStream: true }) });
    links.push(link);
    link.start();
  }
  process.on('message', () => {
    void Promise.all(links.map((link) => link.stop())).then(() => process.exit(0));
  });
}

// ---------------------------------------------------------------- the measurements

function timed(get: (path: string, onResponse: (response: IncomingMessage) => void) => { on(event: 'error', listener: (error: Error) => void): unknown; end(): void }, path: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = get(path, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => (response.statusCode === 200 ? resolve({ ms: performance.now() - started, bytes }) : reject(new Error(`${path}: HTTP ${response.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function inProcess(pki: PkiFile): Promise<Record<string, number>> {
  const stalls: IncomingMessage[] = [];
  const api: HttpsServer = createHttpsServer(pki.broker, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://api');
    if (url.pathname === '/big') {
      const total = Number(url.searchParams.get('mb')) * 1024 * 1024;
      const chunk = Buffer.alloc(1024 * 1024, 1);
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
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"BOOKMARK"}\n');
      stalls.push(req);
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"Status","status":"Success"}');
    }
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const apiUrl = `https://127.0.0.1:${(api.address() as AddressInfo).port}`;

  // Both ends share one event loop here: a long transfer must not look like a dead peer.
  const keepalive = { keepaliveMs: 10_000, keepaliveTimeoutMs: 60_000 };
  const listener = new AgentListener({ ...pki.broker, ca: pki.ca, ...keepalive });
  let drops = 0;
  listener.on('change', (event) => {
    if (event.kind === 'disconnected') drops++;
  });
  const agentPort = await listener.listen(0, '127.0.0.1');
  const agent = new AgentLink({ host: '127.0.0.1', port: agentPort, cert: pki.agentCerts[0]!, key: pki.agentKey, ca: pki.ca, ...keepalive, onStream: kubernetesForwarder({ apiServer: apiUrl, token: () => 'bench-token', ca: pki.ca }) });
  agent.start();
  while (!listener.clusterIds.length) await new Promise((resolve) => setTimeout(resolve, 10));
  const clusterId = listener.clusterIds[0]!;
  // A request waits (up to 10 s) for the agent to be connected, as the broker will when an agent is reconnecting.
  const sessionOf = async () => {
    for (let waited = 0; waited < 10_000 && !listener.session(clusterId); waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    return listener.session(clusterId);
  };
  const front: Server = createHttpServer((req, res) => {
    void sessionOf().then(async (session) => {
      if (session) await forwardRequest(session.session, req, res, { headers: { [CALLER_USER_HEADER]: 'bench', [CALLER_GROUPS_HEADER]: 'bench' } });
      else res.writeHead(503).end();
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const frontPort = (front.address() as AddressInfo).port;

  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 4, ca: pki.ca });
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 4 });
  const direct = (path: string, onResponse: (response: IncomingMessage) => void) => httpsRequest(`${apiUrl}${path}`, { agent: httpsAgent }, onResponse);
  const tunnel = (path: string, onResponse: (response: IncomingMessage) => void) => httpRequest(`http://127.0.0.1:${frontPort}${path}`, { agent: httpAgent }, onResponse);

  try {
    // Throughput: medians of three rounds, alternating.
    const directRates: number[] = [];
    const tunnelRates: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [rates, get] of [[directRates, direct], [tunnelRates, tunnel]] as const) {
        const { ms, bytes } = await timed(get, `/big?mb=${MB}`);
        if (bytes !== MB * 1024 * 1024) throw new Error(`short transfer: ${bytes} bytes`);
        rates.push(bytes / 1024 / 1024 / (ms / 1000));
      }
      log(`throughput round ${round + 1}: direct ${round_(directRates.at(-1)!)} MB/s, tunnel ${round_(tunnelRates.at(-1)!)} MB/s`);
    }
    // Small requests, alternating.
    for (let i = 0; i < 200; i++) {
      await timed(direct, '/small');
      await timed(tunnel, '/small');
    }
    const directSmall: number[] = [];
    const tunnelSmall: number[] = [];
    for (let i = 0; i < SMALL; i++) {
      directSmall.push((await timed(direct, '/small')).ms);
      tunnelSmall.push((await timed(tunnel, '/small')).ms);
    }
    // The same, beside a stalled stream of the same agent.
    const stalled = httpRequest(`http://127.0.0.1:${frontPort}/stall`);
    stalled.end();
    const [stalledResponse] = (await once(stalled, 'response')) as [IncomingMessage];
    stalledResponse.pause(); // a slow reader, too
    const withStall: number[] = [];
    for (let i = 0; i < SMALL; i++) withStall.push((await timed(tunnel, '/small')).ms);
    stalled.destroy();

    const median = (values: number[]) => percentile(values, 50);
    return {
      direct_mb_s: round(median(directRates), 1),
      tunnel_mb_s: round(median(tunnelRates), 1),
      ratio: round(median(tunnelRates) / median(directRates)),
      direct_p50_ms: round(percentile(directSmall, 50)),
      direct_p99_ms: round(percentile(directSmall, 99)),
      tunnel_p50_ms: round(percentile(tunnelSmall, 50)),
      tunnel_p99_ms: round(percentile(tunnelSmall, 99)),
      added_p50_ms: round(percentile(tunnelSmall, 50) - percentile(directSmall, 50)),
      added_p99_ms: round(percentile(tunnelSmall, 99) - percentile(directSmall, 99)),
      p99_with_stalled_stream_ms: round(percentile(withStall, 99)),
      // Tunnel connections that dropped during these measurements (the agent reconnects).
      tunnel_drops: drops,
    };
  } finally {
    httpsAgent.destroy();
    httpAgent.destroy();
    await agent.stop();
    await listener.close();
    for (const server of [front, api] as (Server | HttpsServer)[]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

function round_(value: number): number {
  return round(value, 1);
}

function ask<T>(child: ChildProcess, op: string, answer: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: { op: string } & T) => {
      if (message.op !== answer) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.send({ op });
  });
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function manyAgents(pkiFile: string): Promise<Record<string, number>> {
  const broker = fork(SELF, ['broker', pkiFile], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const children: ChildProcess[] = [broker];
  try {
    const [{ port }] = (await once(broker, 'message')) as [{ port: number }];
    const baseline = (await ask<{ rss: number }>(broker, 'rss', 'rss')).rss;
    const count = async () => (await ask<{ count: number }>(broker, 'count', 'count')).count;
    const started = performance.now();
    const half = Math.ceil(AGENTS / 2);
    for (const [from, n] of [[0, half], [half, AGENTS - half]] as const) {
      if (n > 0) children.push(fork(SELF, ['agents', pkiFile, String(port), String(from), String(n)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    }
    await until(async () => (await count()) === AGENTS, 300_000, `${AGENTS} agents to connect`);
    const connectAll = (performance.now() - started) / 1000;
    log(`${AGENTS} agents connected in ${round_(connectAll)} s`);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const loaded = (await ask<{ rss: number }>(broker, 'rss', 'rss')).rss;

    const restartedAt = performance.now();
    await ask(broker, 'restart', 'restarted');
    await until(async () => (await count()) === AGENTS, 300_000, `${AGENTS} agents to come back`);
    const reconnectAll = (performance.now() - restartedAt) / 1000;
    log(`${AGENTS} agents back in ${round_(reconnectAll)} s after the broker dropped them all`);
    return { agents: AGENTS, connect_all_s: round(connectAll, 2), rss_kb_per_agent: round((loaded - baseline) / 1024 / AGENTS, 1), broker_rss_mb: round(loaded / 1024 / 1024, 1), reconnect_all_s: round(reconnectAll, 2) };
  } finally {
    for (const child of children.slice(1)) child.send({ op: 'stop' });
    await Promise.all(children.slice(1).filter((child) => child.exitCode === null).map((child) => once(child, 'exit')));
    broker.kill();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tunnel-bench-'));
  try {
    const startedPki = performance.now();
    const pki = await benchPki();
    const agentCerts: string[] = [];
    for (let i = 0; i < Math.max(AGENTS, 1); i++) agentCerts.push(await pki.agentCert(`agent-${i}`));
    log(`${agentCerts.length} agent certificates in ${round_((performance.now() - startedPki) / 1000)} s`);
    const file: PkiFile = { ca: pki.ca, broker: pki.broker, agentKey: pki.agentKey, agentCerts };
    const pkiFile = join(dir, 'pki.json');
    writeFileSync(pkiFile, JSON.stringify(file), { mode: 0o600 });

    const transport = await inProcess(file);
    const fleet = await manyAgents(pkiFile);
    const result = {
      benchmark: 'tunnel',
      date: new Date().toISOString(),
      ...transport,
      p99_without_stall_ms: transport['tunnel_p99_ms'],
      ...fleet,
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
if (role === 'broker') await brokerProcess(args[0]!);
else if (role === 'agents') agentsProcess(args[0]!, Number(args[1]), Number(args[2]), Number(args[3]));
else await main();
