import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { type LogLine, World } from './world.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

// Loading the official Kubernetes client takes seconds on a busy machine.
const STARTUP_MS = 60_000;

/** The agent as its image runs it: a process configured by its environment only. */
class AgentProcess {
  readonly lines: LogLine[] = [];
  output = '';
  readonly child: ChildProcess;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, ['--enable-source-maps', MAIN], { env: { PATH: process.env['PATH'], ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = once(this.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    let pending = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.output += chunk;
      pending += chunk;
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const line of complete) if (line.trim()) this.lines.push(JSON.parse(line) as LogLine);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.output += chunk));
  }

  said(msg: string | RegExp): LogLine | undefined {
    return this.lines.find((line) => (typeof msg === 'string' ? line.msg === msg : msg.test(line.msg)));
  }

  async stop(): Promise<[number | null, NodeJS.Signals | null]> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

describe('flotilla-tunnel-agent, the program', () => {
  let world: World;
  const running: AgentProcess[] = [];
  const start = (env: NodeJS.ProcessEnv) => {
    const agent = new AgentProcess(env);
    running.push(agent);
    return agent;
  };
  before(async () => {
    world = await World.start();
  });
  after(async () => {
    for (const agent of running) if (agent.child.exitCode === null) agent.child.kill('SIGKILL');
    await world.close();
  });

  it('stops at once naming a missing or bad variable', async () => {
    const agent = start({ ...world.env('edge-proc', 'flt_reg_x'), FLOTILLA_TUNNEL_URL: 'http://flotilla.example', FLOTILLA_AGENT_ID: '' });
    const [code] = await agent.exited;
    assert.equal(code, 1);
    const line = agent.lines.at(-1);
    assert.equal(line?.level, 'error');
    assert.match(line?.msg ?? '', /^configuration: FLOTILLA_TUNNEL_URL must be an https:\/\/ URL.*FLOTILLA_AGENT_ID is missing/);
    assert.equal(line?.['variables'], 'FLOTILLA_TUNNEL_URL,FLOTILLA_AGENT_ID');
  });

  it('enrolls, connects, serves the tunnel, and stops cleanly on SIGTERM without logging its token or key', async () => {
    const token = 'flt_reg_process-0123456789abcdef';
    world.register(token, 'edge-proc');
    const agent = start(world.env('edge-proc', token));
    await world.until(() => agent.said('connected') !== undefined, 'the agent to connect', STARTUP_MS);
    await world.connected('edge-proc');
    const version = await world.request('edge-proc', { ':path': '/version', ':authority': 'kubernetes.default.svc', 'flotilla-caller-user': 'service:importer' });
    assert.equal(version.status, 200);

    const [code, signal] = await agent.stop();
    assert.deepEqual([code, signal], [0, null]);
    const messages = agent.lines.map((line) => line.msg);
    assert.equal(messages.at(-1), 'stopped');
    assert.ok(messages.indexOf('stopping') > messages.indexOf('connected'));
    assert.equal(agent.lines[0]?.msg, 'starting');
    assert.equal(agent.lines[0]?.['version'], '0.1.0');
    for (const line of agent.lines) assert.equal(line['clusterId'], 'edge-proc');
    assert.ok(!agent.output.includes(token), 'the token is never logged');
    const key = world.credential()['tls.key']!;
    assert.ok(!agent.output.includes(key.split('\n')[1]!), 'the key is never logged');
    await world.until(() => world.listener.session('edge-proc') === undefined, 'the broker to see the agent leave');
  });

  it('once stopped by Flotilla, a restarted program idles without dialing, and still stops on SIGTERM', async () => {
    const first = start(world.env('edge-proc', undefined));
    await world.until(() => first.said('connected') !== undefined, 'the agent to connect', STARTUP_MS);
    await world.connected('edge-proc');
    const answer = await world.request('edge-proc', { ':method': 'POST', ':path': '/stop', ':authority': 'control.flotilla' });
    assert.equal(answer.status, 204);
    await world.until(() => first.said(/removed from Flotilla/) !== undefined, 'the agent to idle', STARTUP_MS);
    assert.equal(first.child.exitCode, null, 'an idle agent does not exit (no crash loop)');
    assert.deepEqual(await first.stop(), [0, null]);

    const dials = world.dials.length;
    const again = start(world.env('edge-proc', undefined));
    await world.until(() => again.said(/removed from Flotilla/) !== undefined, 'the restarted agent to idle', STARTUP_MS);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(again.child.exitCode, null);
    assert.equal(world.dials.length, dials);
    assert.deepEqual(await again.stop(), [0, null]);
  });
});
