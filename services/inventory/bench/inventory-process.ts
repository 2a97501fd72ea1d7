// What the inventory's benchmarks share: the service as a process of its own, tokens from its own
// key ring, and the arithmetic of their figures.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, not "${raw}"`);
  return value;
}

export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
export const loadText = () => loadavg().map((value) => value.toFixed(2)).join(' ');

export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The inventory's environment for a benchmark: its own schema and bus prefix, a fresh key ring unless given one, no collector, warnings only. */
export function serviceEnv(databaseUrl: string, schema: string, busPrefix: string, natsUrl: string, secretsKeys = `bench:${randomBytes(32).toString('base64')}`): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schema,
    NATS_URL: natsUrl,
    BUS_PREFIX: busPrefix,
    LOG_LEVEL: 'warn',
    OTEL_TRACES_EXPORTER: 'none',
    SECRETS_KEYS: secretsKeys,
  };
}

/** The inventory as a process of its own, as deployed; with a CPU profile written on stop when `cpuProfileDir` is set. */
export class InventoryProcess {
  private child: ChildProcess | undefined;
  private readonly output: string[] = [];

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly cpuProfileDir?: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** CPU time (user + system) the process has used so far, in ms (Linux: /proc). */
  cpuMs(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('the inventory is not running');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  }

  /** The most memory the process has held so far (VmHWM), in MB (Linux: /proc). */
  peakRssMb(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('the inventory is not running');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) / 1024;
  }

  async start(timeoutMs = 120_000): Promise<void> {
    const profile = this.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${this.cpuProfileDir}`] : [];
    const child = spawn(process.execPath, ['--enable-source-maps', ...profile, join(repoRoot, 'services/inventory/dist/src/main.js')], {
      cwd: repoRoot,
      env: { ...process.env, ...this.env, PORT: String(this.port), FLOTILLA_SERVICE: 'inventory' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`inventory exited with ${child.exitCode}:\n${this.output.slice(-20).join('\n')}`);
      if ((await fetch(`${this.url}/readyz`).catch(() => undefined))?.ok) return;
      if (performance.now() > deadline) throw new Error(`inventory not ready within ${timeoutMs} ms:\n${this.output.slice(-20).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

/** A token from the inventory's own key ring, as an operator gets the first one. */
export async function issueToken(env: Record<string, string>, role: 'viewer', labels: string[] = []): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(repoRoot, 'services/inventory/dist/src/cli/tokens.js'), 'create', '--subject', `bench-${role}${labels.length ? '-scoped' : ''}`, '--role', role, ...labels.flatMap((label) => ['--label', label])],
    { cwd: repoRoot, env: { ...process.env, ...env, LOG_LEVEL: 'silent' } },
  );
  return stdout.trim();
}

/**
 * A caller as lean as it gets: node:http over one kept-alive connection, one request at a time,
 * timed from the request to the whole body read. (fetch costs the client a few hundred
 * microseconds of CPU a request on top, which the server's figures would carry.)
 */
export class KeptAliveClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(private readonly token: string) {}

  /**
   * The body's bytes as they arrived, not decoded. A list page is 100 KB: turning each into a
   * string and objects made this process collect garbage every few pages (its old generation
   * about once a second), 10 to 40 ms at a time on a busy machine, mostly inside a timed request,
   * which the service's figures then carried.
   */
  async getBytes(url: string): Promise<{ ms: number; status: number; chunks: Buffer[] }> {
    const started = performance.now();
    const { status, chunks } = await new Promise<{ status: number; chunks: Buffer[] }>((resolve, reject) => {
      const outgoing = request(url, { agent: this.agent, headers: { authorization: `Bearer ${this.token}` } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, chunks }));
        response.on('error', reject);
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
    return { ms: performance.now() - started, status, chunks };
  }

  /** The body as text, decoded once the time is taken. */
  async get(url: string): Promise<{ ms: number; status: number; text: string }> {
    const { ms, status, chunks } = await this.getBytes(url);
    return { ms, status, text: Buffer.concat(chunks).toString('utf8') };
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * A list page's `nextCursor`, read from the end of its bytes: the page ends with it
 * (`..."nextCursor":"<cursor>"}` or `...:null}`), and nothing else in it is needed to walk on.
 */
export function nextCursorOf(chunks: readonly Buffer[]): string | null {
  let tail = '';
  for (let index = chunks.length - 1; index >= 0 && tail.length < 1000; index--) tail = chunks[index]!.toString('latin1') + tail;
  const match = /"nextCursor":(null|"[A-Za-z0-9_-]*")\}\s*$/.exec(tail);
  if (!match) throw new Error(`not a list page: ...${tail.slice(-200)}`);
  return JSON.parse(match[1]!) as string | null;
}

/** Linux's USER_HZ: /proc reports CPU times in these ticks. */
const CLOCK_TICKS = 100;
