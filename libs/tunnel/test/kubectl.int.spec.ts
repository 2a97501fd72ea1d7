import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { AgentLink, AgentListener, kubernetesForwarder, kubernetesFront } from '../src/index.js';
import { StandInApiServer } from '../src/testing/index.js';
import { TestCa } from './pki.js';

const SERVICE_ACCOUNT_TOKEN = 'agent-service-account-token';
const CALLER_TOKEN = 'flotilla-token-of-alice';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('the real kubectl through the tunnel', () => {
  const ca = new TestCa();
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-'));
  const caFile = join(dir, 'ca.crt');
  const children: ChildProcessWithoutNullStreams[] = [];
  let api: StandInApiServer;
  let listener: AgentListener;
  let agent: AgentLink;
  let front: Server;
  let server: string;
  let prefix: string;
  let clientMinor = 0;

  const until = async (check: () => boolean, what: string, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  // No kubeconfig: the server, the caller's token and the front's CA on the command line only.
  const flags = (token: string) => ['--server', server, '--token', token, '--certificate-authority', caFile, '--cache-dir', join(dir, 'cache'), '--request-timeout', '20s'];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: join(dir, 'none') };
  const kubectl = (args: string[], options: { token?: string; stdin?: string } = {}): Promise<Run> =>
    new Promise((resolve) => {
      const child = execFile('kubectl', [...flags(options.token ?? CALLER_TOKEN), ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
      child.stdin?.end(options.stdin);
    });
  /** kubectl that keeps running (a watch, a followed log): its output as it comes. */
  const follow = (args: string[]): { child: ChildProcessWithoutNullStreams; output: () => string } => {
    const child = spawn('kubectl', [...flags(CALLER_TOKEN), ...args], { env });
    children.push(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return { child, output: () => output };
  };
  const stop = async (child: ChildProcessWithoutNullStreams) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };

  before(async () => {
    writeFileSync(caFile, ca.cert);
    api = new StandInApiServer({ ...ca.broker(), tokens: [SERVICE_ACCOUNT_TOKEN], gitVersion: 'v1.32.4' });
    await api.listen();
    api.addPod('default', 'shell', { log: 'booting\n' });
    listener = new AgentListener({ ...ca.broker(), ca: ca.cert });
    const agentPort = await listener.listen(0, '127.0.0.1');
    agent = new AgentLink({ host: '127.0.0.1', port: agentPort, ...ca.agent('edge'), ca: ca.cert, onStream: kubernetesForwarder({ apiServer: api.url, token: () => SERVICE_ACCOUNT_TOKEN, ca: ca.cert }) });
    agent.start();
    await until(() => listener.session('edge') !== undefined, 'the agent');
    // The broker's front, as its proxy route: /api/v1/tunnels/<clusterId>/k8s/<kubernetes path>.
    const routes = kubernetesFront((request) => {
      if (request.headers.authorization !== `Bearer ${CALLER_TOKEN}`) return { status: 401, message: 'a Flotilla token is required' };
      const match = /^\/api\/v1\/tunnels\/([^/]+)\/k8s(\/.*)$/.exec(request.url ?? '');
      const session = match ? listener.session(match[1]!) : undefined;
      if (!match || !session) return { status: 404, message: 'no connected cluster here' };
      return { session: session.session, path: match[2]!, caller: { user: 'alice', groups: ['flotilla:operator'] } };
    });
    front = createServer(ca.broker(), (request, response) => void routes.request(request, response));
    front.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => void routes.upgrade(request, socket, head));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    prefix = '/api/v1/tunnels/edge/k8s';
    server = `https://127.0.0.1:${(front.address() as AddressInfo).port}${prefix}`;
  });

  after(async () => {
    for (const child of children) await stop(child);
    await agent.stop();
    await listener.close();
    front.closeAllConnections();
    await new Promise<void>((resolve) => front.close(() => resolve()));
    await api.close();
    ca.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a kubectl that speaks exec over WebSocket (1.30 or newer)', async () => {
    const version = await kubectl(['version', '--client', '-o', 'json']);
    assert.equal(version.code, 0, version.stderr);
    const { major, minor } = (JSON.parse(version.stdout) as { clientVersion: { major: string; minor: string } }).clientVersion;
    assert.equal(major, '1');
    clientMinor = Number.parseInt(minor, 10);
    assert.ok(clientMinor >= 30, `kubectl 1.${minor} is older than 1.30`);
  });

  it('get --raw /version and version: reach the cluster as the caller, with the agent credentials', async () => {
    const before = api.requests.length;
    // Before 1.34 kubectl sends a --raw path from the server's root, not under its path (the
    // front's prefix); from 1.34 on it is taken under the server's path like any other request.
    const run = await kubectl(['get', '--raw', clientMinor >= 34 ? '/version' : `${prefix}/version`]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { gitVersion: string }).gitVersion, 'v1.32.4');
    const version = await kubectl(['version', '-o', 'json']);
    assert.equal(version.code, 0, version.stderr);
    assert.equal((JSON.parse(version.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion, 'v1.32.4');
    const seen = api.requests.slice(before);
    assert.ok(seen.length >= 2 && seen.every((request) => request.path.startsWith('/version') && request.authenticated && request.user === 'alice' && request.groups.join() === 'flotilla:operator'), JSON.stringify(seen));
    const refused = await kubectl(['version', '-o', 'json'], { token: 'not-a-flotilla-token' });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /must be logged in|Unauthorized/);
  });

  it('get pods --watch: the pods there, then an added pod as it arrives and changes', async () => {
    const watch = follow(['get', 'pods', '--watch']);
    await until(() => /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n^shell\s+1\/1\s+Running\s+0\s+\d+s$/m.test(watch.output()), 'the listed pod');
    api.addPod('default', 'newcomer', { phase: 'Pending' });
    await until(() => /^newcomer\s+0\/1\s+Pending\s/m.test(watch.output()), 'the added pod');
    api.updatePod('default', 'newcomer', { phase: 'Failed' });
    await until(() => /^newcomer\s+0\/1\s+Failed\s/m.test(watch.output()), 'the changed pod');
    await stop(watch.child);
    await until(() => api.openStreams === 0, 'the watch to close at the API server');
  });

  it('exec: stdout, stdin and the exit code come back', async () => {
    const before = api.requests.length;
    const echo = await kubectl(['exec', 'shell', '--', 'echo', 'hello', 'from', 'the', 'cluster']);
    assert.equal(echo.code, 0, echo.stderr);
    assert.equal(echo.stdout, 'hello from the cluster\n');
    assert.ok(api.requests.slice(before).some((request) => request.upgrade === 'websocket' && request.path.includes('/pods/shell/exec?') && request.user === 'alice'), 'exec went over WebSocket as alice');
    const cat = await kubectl(['exec', '-i', 'shell', '--', 'cat'], { stdin: 'typed\nlines\n' });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'typed\nlines\n');
    const failing = await kubectl(['exec', 'shell', '--', 'sh', '-c', 'exit 3']);
    assert.equal(failing.code, 3, failing.stderr);
  });

  it('logs -f: the log so far, then lines as they are written', async () => {
    const logs = follow(['logs', '-f', 'shell']);
    await until(() => logs.output().includes('booting\n'), 'the log so far');
    api.appendLog('default', 'shell', 'ready\n');
    await until(() => logs.output().includes('booting\nready\n'), 'the new line');
    await stop(logs.child);
    await until(() => api.openStreams === 0, 'the log to close at the API server');
  });
});
