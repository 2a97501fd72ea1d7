import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterSpec } from '@flotilla/contracts';

/** The repository root (this file compiles to services/provisioner/dist/bench/). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * The cluster every provisioning benchmark requests: `controlPlane` and `workers` machines, valid
 * under the default policy (release 4.3: 1.34 can be created there).
 */
export function benchClusterSpec(controlPlane: NonNullable<ClusterSpec['controlPlane']>['count'], workers: number): ClusterSpec {
  return {
    name: 'bench',
    model: 'platform-provisioned',
    kubernetesVersion: '1.34',
    controlPlane: { count: controlPlane, machineSize: 'cp-large' },
    nodePools: [{ name: 'workers', count: workers, machineSize: 'm-xlarge', labels: { tier: 'bench' }, taints: [] }],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return value;
}

/** Resident memory and CPU time of one process, from /proc (Linux). */
export interface ProcessUsage {
  rssMb: number;
  /** VmHWM: the highest resident set the process reached. */
  peakRssMb: number;
  cpuSeconds: number;
}

const CLOCK_TICKS_PER_S = 100;

export function processUsage(pid: number): ProcessUsage | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024, cpuSeconds: cpuMsOf(String(pid)) / 1000 };
  } catch {
    return undefined;
  }
}

function cpuMsOf(pid: string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000) / CLOCK_TICKS_PER_S;
}

/** CPU time (ms) per pid of every process whose command name starts with `name`. */
export function cpuByCommand(name: string): Map<string, number> {
  const times = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).startsWith(name)) continue;
      times.set(pid, cpuMsOf(pid));
    } catch {
      // ended meanwhile
    }
  }
  return times;
}

/** CPU seconds used between two snapshots by the processes alive at the second. */
export function cpuSecondsBetween(from: Map<string, number>, to: Map<string, number>): number {
  let ms = 0;
  for (const [pid, value] of to) ms += value - (from.get(pid) ?? 0);
  return ms / 1000;
}

/**
 * The node flags of a service's `npm start` (its heap limit, source maps, the telemetry hook):
 * a benchmark starts it with the same ones.
 */
export function startFlags(service: string): string[] {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'services', service, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const words = (manifest.scripts?.start ?? '').split(/\s+/);
  const node = words.indexOf('node');
  if (node < 0 || words.at(-1) !== 'dist/src/main.js') throw new Error(`services/${service}/package.json: no "start" script of the form "node <flags> dist/src/main.js"`);
  return words.slice(node + 1, -1);
}

/** One service replica as its own OS process, started the way production starts it. */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> | undefined;
  private readonly output: string[] = [];
  /** Usage read just before the process was stopped (the process is gone afterwards). */
  lastUsage: ProcessUsage | undefined;

  constructor(
    readonly service: 'provisioner' | 'inventory',
    readonly replica: number,
    readonly port: number,
    private readonly env: Record<string, string>,
    /** Where V8 writes the process's CPU profile when it exits (`--cpu-prof`), if anywhere. */
    private readonly cpuProfileDir?: string,
  ) {}

  get name(): string {
    return `${this.service}-${this.replica}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const entry = `${repoRoot}services/${this.service}/dist/src/main.js`;
    // A folder per process: its loader-hook thread writes a profile of its own next to the main thread's.
    const profile = this.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(this.cpuProfileDir, this.name)}`] : [];
    const child = spawn(process.execPath, [...profile, ...startFlags(this.service), entry], {
      cwd: repoRoot,
      env: { ...process.env, ...this.env, PORT: String(this.port), FLOTILLA_SERVICE: this.service },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = once(child, 'exit');
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.output.length > 500) this.output.splice(0, this.output.length - 500);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited with ${child.exitCode ?? child.signalCode}:\n${this.tail()}`);
      const response = await fetch(`${this.url}/readyz`).catch(() => undefined);
      if (response?.ok) return;
      if (performance.now() > deadline) throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(100);
    }
  }

  usage(): ProcessUsage | undefined {
    return this.pid === undefined ? undefined : processUsage(this.pid);
  }

  /** The last lines the process wrote, for a failure message. */
  tail(lines = 20): string {
    return this.output.slice(-lines).join('\n');
  }

  async metrics(): Promise<string> {
    const response = await fetch(`${this.url}/metrics`);
    return response.text();
  }

  /** SIGTERM, then SIGKILL if the graceful shutdown takes longer than `graceMs`. */
  async stop(graceMs = 30_000): Promise<void> {
    if (!this.child || !this.running) return;
    this.lastUsage = this.usage() ?? this.lastUsage;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Sum of the samples of a Prometheus metric in text exposition format whose labels include all
 * of `labels` (e.g. `flotilla_event_handler_duration_seconds_sum` for one consumer).
 */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const braces = /^[^{\s]+(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!braces) continue;
    const body = braces[1] ?? '';
    if (Object.entries(labels).every(([key, value]) => body.includes(`${key}="${value}"`))) sum += Number(braces[2]);
  }
  return sum;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
