import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeBinary, NATS_MSG_ID_HEADER, type CloudEvent } from '@flotilla/contracts';
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/** Milliseconds on one monotonic clock shared by publisher, runtime and observer (one process). */
export const now = (): number => performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A CloudEvent as the NATS binding puts it on the wire: ce-* headers, Nats-Msg-Id, JSON payload. */
export interface WireMessage {
  id: string;
  headers: MsgHdrs;
  payload: Uint8Array;
}

export function toWire(event: CloudEvent): WireMessage {
  const encoded = encodeBinary(event);
  const headers = natsHeaders();
  for (const [key, value] of Object.entries(encoded.headers)) if (key !== NATS_MSG_ID_HEADER) headers.set(key, value);
  return { id: event.id, headers, payload: encoded.payload };
}

/** Publishes every message, `window` publishes in flight at a time, each awaiting its ack. */
export async function publishAll(js: JetStreamClient, subject: string, count: number, make: (index: number) => WireMessage, window = 1_000): Promise<void> {
  for (let start = 0; start < count; start += window) {
    const chunk: Promise<unknown>[] = [];
    for (let index = start; index < Math.min(count, start + window); index++) {
      const message = make(index);
      chunk.push(js.publish(subject, message.payload, { msgID: message.id, headers: message.headers }));
    }
    await Promise.all(chunk);
  }
}

/**
 * Publishes `count` messages at `ratePerSecond` (open loop: the schedule does not wait for the
 * system under test), recording each message's send time under its key.
 */
export async function publishPaced(
  js: JetStreamClient,
  subject: string,
  count: number,
  ratePerSecond: number,
  make: (index: number) => WireMessage & { key: string },
  sentAt: Map<string, number>,
): Promise<void> {
  const started = now();
  const pending: Promise<unknown>[] = [];
  let index = 0;
  while (index < count) {
    const due = Math.min(count, Math.floor(((now() - started) / 1_000) * ratePerSecond) + 1);
    for (; index < due; index++) {
      const message = make(index);
      sentAt.set(message.key, now());
      pending.push(js.publish(subject, message.payload, { msgID: message.id, headers: message.headers }));
    }
    await sleep(1);
  }
  await Promise.all(pending);
}

/**
 * Watches the derived subject with an ordered consumer (no acks, its own cursor): counts derived
 * events and, for those whose key (ce-subject) has a recorded send time, the end-to-end latency.
 */
export class DerivedObserver {
  private messages: ConsumerMessages | undefined;
  private keys = new Set<string>();
  private waiters: { count: number; resolve: (at: number) => void }[] = [];
  readonly sentAt = new Map<string, number>();
  readonly latencies: number[] = [];
  lastAt = 0;

  constructor(
    private readonly js: JetStreamClient,
    private readonly stream: string,
    private readonly subject: string,
  ) {}

  get seen(): number {
    return this.keys.size;
  }

  async start(): Promise<void> {
    const consumer = await this.js.consumers.get(this.stream, { filter_subjects: this.subject, deliver_policy: DeliverPolicy.New });
    this.messages = await consumer.consume({ max_messages: 2_000, callback: (message) => this.observe(message) });
  }

  /** Forgets what was seen (the next phase counts from zero). */
  reset(): void {
    this.keys.clear();
    this.sentAt.clear();
    this.latencies.length = 0;
  }

  private observe(message: JsMsg): void {
    const at = now();
    const key = message.headers?.get('ce-subject') ?? '';
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.lastAt = at;
    const sent = this.sentAt.get(key);
    if (sent !== undefined) this.latencies.push(at - sent);
    for (const waiter of this.waiters.filter((w) => this.keys.size >= w.count)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve(at);
    }
  }

  /** Resolves with the time the `count`-th distinct derived event was seen. */
  waitFor(count: number, timeoutMs: number): Promise<number> {
    if (this.keys.size >= count) return Promise.resolve(this.lastAt);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`saw ${this.keys.size} of ${count} derived events within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        count,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });
  }

  stop(): void {
    this.messages?.stop();
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function latencySummary(latencies: readonly number[]): { p50: number; p99: number; max: number; count: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN, count: sorted.length };
}

/** The version of an installed package (its package.json is not exported, so read it from disk). */
export function packageVersion(name: string): string {
  try {
    let dir = new URL('.', import.meta.resolve(name));
    for (let i = 0; i < 5; i++) {
      try {
        const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('package.json', dir)), 'utf8')) as { name?: string; version?: string };
        if (manifest.name === name) return manifest.version ?? 'unknown';
      } catch {
        // not here; look one level up
      }
      dir = new URL('..', dir);
    }
  } catch {
    // not resolvable
  }
  return 'unknown';
}

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return value;
}

/** CPU time (ms) of this process and, per pid, of the PostgreSQL and NATS server processes. */
interface CpuSnapshot {
  at: number;
  self: number;
  postgres: Map<string, number>;
  nats: Map<string, number>;
}

const CLOCK_TICKS_PER_S = 100;

function processCpuMs(match: (comm: string) => boolean): Map<string, number> {
  const times = new Map<string, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return times;
  }
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!match(comm)) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      times.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1_000) / CLOCK_TICKS_PER_S);
    } catch {
      // the process ended meanwhile
    }
  }
  return times;
}

export function cpuSnapshot(): CpuSnapshot {
  const usage = process.cpuUsage();
  return {
    at: now(),
    self: (usage.user + usage.system) / 1_000,
    postgres: processCpuMs((comm) => comm.startsWith('postgres')),
    nats: processCpuMs((comm) => comm.startsWith('nats-server')),
  };
}

/** CPU time used between two snapshots by processes alive at the second (ms). */
function delta(from: Map<string, number>, to: Map<string, number>): number {
  let total = 0;
  for (const [pid, ms] of to) total += ms - (from.get(pid) ?? 0);
  return total;
}

/**
 * Busy percentage of one core, between two snapshots (Linux /proc; 0 elsewhere). PostgreSQL
 * counts every backend, other clients' included; backends that exited in between are missed.
 */
export function cpuPercent(from: CpuSnapshot, to: CpuSnapshot): { node: number; postgres: number; nats: number } {
  const wall = to.at - from.at;
  const pct = (ms: number) => Math.round((100 * ms) / wall);
  return { node: pct(to.self - from.self), postgres: pct(delta(from.postgres, to.postgres)), nats: pct(delta(from.nats, to.nats)) };
}
