// Throughput and latency of the messaging runtime against a raw JetStream pipeline, on this
// machine's NATS and PostgreSQL. Run with `npm run bench -- messaging` (tools/bench.mjs builds it).
//
//   (a) raw:        durable pull consumer -> publish one derived message (awaiting its ack) -> ack
//   (b) handler:    EventConsumer (decode, validate, inbox, state change, one outbox row per event,
//                   one transaction per batch, commit, ack) -> OutboxRelay publishes the derived
//                   events; the handler written as the runtime recommends for throughput, an
//                   @OnEventBatch handler (one set-based upsert per batch)
//   (b1) by-subject: the same work in an @OnEvent handler, one upsert per event, subjects side by
//                   side in the batch's transaction (`concurrency: 'by-subject'`)
//   (b2) sequential: the same @OnEvent handler one event after another (the default)
//   (c) database floor: the raw pipeline with the runtime's database writes and nothing else of
//                   the runtime (`database-floor.ts`), each step the runtime's or cheaper: inbox
//                   claim, the set-based upsert, outbox rows and commit per batch, then ack and the
//                   relay's publish and mark; (c1) the same with one upsert per event, sent
//                   together (what (b1) sends)
//
// Throughput: N source events are preloaded, then the clock runs from starting the consumer until
// a separate observer (an ordered consumer on the derived subject) has seen all N derived events.
// Rounds alternate the paths and the medians are reported, so that drift on a shared machine
// affects every path alike. `ratio` is (b)/(a), target >= 0.7; `by_subject_ratio`, the per-event
// path, target >= 0.5, with (b2) beside it. (c) and (c1) estimate from below what these writes cost
// on this machine at the time: a handler path's distance to its floor is the runtime's own cost.
// Latency: events are published at a steady rate below capacity (open loop) and each is timed
// from its publish to the observer seeing its derived event; a preloaded backlog would only
// measure queueing.
//
// Environment: BENCH_MESSAGES (20000), BENCH_ROUNDS (5), BENCH_WARMUP (2000), BENCH_BATCH_SIZE
// (runtime default), BENCH_LANES (runtime default), BENCH_SEQUENTIAL (1; 0 skips path b2),
// BENCH_FLOOR (1; 0 skips paths c and c1), BENCH_LATENCY_MESSAGES (5000),
// BENCH_LATENCY_RATE (events/s; default a third of the slowest handler path's throughput),
// BENCH_TIMEOUT_MS (300000), BENCH_RESULTS_DIR (<repo>/bench/results), TEST_NATS_URL,
// TEST_DATABASE_URL.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterRequested, createEvent, eventsSubject, NodesProvisioned, streamName, type ClusterSpec } from '@flotilla/contracts';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { register } from 'prom-client';
import { DataSource } from 'typeorm';
import { BusConnection, busOptions, durableName, ensureConsumer, ensureStreams, startEventConsumers, type BusOptions } from '../src/index.js';
import { Cleanups, createTestSchema, deleteTestStreams, randomSuffix, TEST_NATS_URL, TEST_SERVER_URL, type TestSchema } from '../src/testing/index.js';
import { BENCH_MIGRATIONS, closeBenchApp, createBenchApp, type HandlerMode } from './bench-app.js';
import { DatabaseFloor, type FloorStatements } from './database-floor.js';
import { RawPipeline } from './raw-pipeline.js';
import {
  cpuPercent,
  cpuSnapshot,
  DerivedObserver,
  envNumber,
  latencySummary,
  now,
  packageVersion,
  publishAll,
  publishPaced,
  toWire,
  type WireMessage,
} from './support.js';

const MESSAGES = envNumber('BENCH_MESSAGES', 20_000);
const ROUNDS = envNumber('BENCH_ROUNDS', 5);
const WARMUP = envNumber('BENCH_WARMUP', 2_000);
const LATENCY_MESSAGES = envNumber('BENCH_LATENCY_MESSAGES', 5_000);
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MS', 300_000);
const WITH_SEQUENTIAL = process.env['BENCH_SEQUENTIAL'] !== '0';
const WITH_FLOOR = process.env['BENCH_FLOOR'] !== '0';
/** `@OnEventBatch` over raw, and the per-event paths' (by-subject, sequential). */
const TARGET_RATIO = 0.7;
const TARGET_PER_EVENT_RATIO = 0.5;
const RESULTS_DIR = process.env['BENCH_RESULTS_DIR'] ?? fileURLToPath(new URL('../../../../bench/results/', import.meta.url));

const BATCH_SIZE = envNumber('BENCH_BATCH_SIZE', busOptions({ service: 'bench' }).batchSize);
const LANES = envNumber('BENCH_LANES', busOptions({ service: 'bench' }).lanes);
// JetStream reserves a file stream's max_bytes up front: size the streams to what a run writes
// (source + derived events of every phase, ~1 KiB each with headers, with room to spare).
const STREAM_BYTES = Math.max(64 * 1024 ** 2, 2 * 1024 * 2 * (MESSAGES * ROUNDS + WARMUP + LATENCY_MESSAGES));
const base = `bench${randomSuffix()}`;
const benchOptions = (service: string, suffix: string): BusOptions =>
  busOptions({ service, prefix: `${base}${suffix}`, natsUrl: TEST_NATS_URL, batchSize: BATCH_SIZE, lanes: LANES, streamMaxBytes: STREAM_BYTES });

type Keyed = WireMessage & { key: string };

function spec(name: string): ClusterSpec {
  return {
    name,
    model: 'platform-provisioned',
    kubernetesVersion: '1.34',
    controlPlane: { count: 3, machineSize: 'medium' },
    nodePools: [{ name: 'workers', count: 3, machineSize: 'large', labels: { tier: 'bench' }, taints: [] }],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  };
}

/** Source events of one phase, built ahead of time so publishing measures only publishing. */
function sourceEvents(phase: string, count: number): Keyed[] {
  return Array.from({ length: count }, (_, index) => {
    const key = `${phase}-${index}`;
    return { key, ...toWire(createEvent(ClusterRequested, { subject: key, source: '/bench/outside-publisher' }, spec(key))) };
  });
}

const cleanups = new Cleanups();

type Cpu = ReturnType<typeof cpuPercent>;

interface Drain {
  perSecond: number;
  seconds: number;
  cpu: Cpu;
  meanBatch: number;
  transactions?: number;
  transactionSeconds?: number;
  /** Until the consumer had handled all N (the rest of `seconds` is the relay catching up). */
  handledSeconds?: number;
}

interface Latency {
  p50: number;
  p99: number;
  max: number;
}

/** One path under test: its streams, source and derived subjects, and an observer of the latter. */
interface Path {
  readonly name: string;
  readonly source: string;
  readonly observer: DerivedObserver;
  /** Gets ready to consume, untimed (creates the app). */
  prepare(): Promise<void>;
  /** Starts consuming (timed from here). */
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(started: number): Promise<Omit<Drain, 'perSecond' | 'seconds' | 'cpu'>>;
  /** Rows of the path's state table (handler paths), to check that every event had its effect. */
  stateRows?(): Promise<number>;
}

async function observe(js: JetStreamClient, options: BusOptions): Promise<DerivedObserver> {
  const observer = new DerivedObserver(js, streamName(options, 'events'), eventsSubject(options, NodesProvisioned.channel));
  await observer.start();
  cleanups.push(() => observer.stop());
  return observer;
}

/** A pipeline of the benchmark's own (no runtime consumer): its streams, durable consumer and observer. */
async function ownPipeline(bus: BusConnection, service: string, prefix: string) {
  const options = benchOptions(service, prefix);
  cleanups.push(() => deleteTestStreams(bus.jsm, options.prefix));
  await ensureStreams(bus.jsm, options);
  const stream = streamName(options, 'events');
  const source = eventsSubject(options, ClusterRequested.channel);
  const durable = durableName(options.service, ClusterRequested.channel);
  await ensureConsumer(bus.jsm, { stream, durable, filterSubject: source }, options);
  return { stream, source, durable, derivedSubject: eventsSubject(options, NodesProvisioned.channel), observer: await observe(bus.js, options) };
}

/** A path driven by a pipeline of the benchmark's own. */
function pipelinePath(name: string, source: string, observer: DerivedObserver, pipeline: { batchSizes: number[]; start(): Promise<void>; stop(): Promise<void> }): Path {
  cleanups.push(() => pipeline.stop());
  return {
    name,
    source,
    observer,
    prepare: async () => {
      pipeline.batchSizes.length = 0;
    },
    start: () => pipeline.start(),
    stop: () => pipeline.stop(),
    stats: async () => ({ meanBatch: mean(pipeline.batchSizes) }),
  };
}

async function rawPath(bus: BusConnection): Promise<Path> {
  const { stream, source, durable, derivedSubject, observer } = await ownPipeline(bus, 'rawbench', 'r');
  return pipelinePath('raw', source, observer, new RawPipeline(bus.js, stream, durable, derivedSubject, BATCH_SIZE));
}

const FLOOR_PATHS: Record<FloorStatements, { name: string; prefix: string }> = {
  'set-based': { name: 'floor', prefix: 'f' },
  'per-event': { name: 'floorevent', prefix: 'e' },
};

async function floorPath(bus: BusConnection, statements: FloorStatements): Promise<Path> {
  const names = FLOOR_PATHS[statements];
  const schema = await createTestSchema(BENCH_MIGRATIONS, 'bench');
  cleanups.push(() => schema.drop());
  const { stream, source, durable, derivedSubject, observer } = await ownPipeline(bus, 'floorbench', names.prefix);
  // The pool the handler paths' data sources make: the same client and settings (pipelined).
  const { extra } = schema.dataSourceOptions() as { extra: pg.PoolConfig };
  const pool = new pg.Pool({ connectionString: schema.url, ...extra });
  cleanups.push(() => pool.end());
  const floor = new DatabaseFloor(bus.js, bus.publisher, pool, { stream, durable, derivedSubject }, { batchSize: BATCH_SIZE, lanes: LANES, statements });
  return {
    ...pipelinePath(names.name, source, observer, floor),
    stateRows: async () => Number((await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM bench_clusters`)).rows[0]?.n ?? 0),
  };
}

interface HistogramTotals {
  sum: number;
  count: number;
}

async function histogram(name: string, consumer: string): Promise<HistogramTotals> {
  const metric = register.getSingleMetric(name);
  if (!metric) return { sum: 0, count: 0 };
  const { values } = await metric.get();
  const pick = (suffix: string) =>
    values.filter((v) => v.labels['consumer'] === consumer && (v as { metricName?: string }).metricName === `${name}${suffix}`).reduce((sum, v) => sum + v.value, 0);
  return { sum: pick('_sum'), count: pick('_count') };
}

async function handledCount(consumer: string): Promise<number> {
  const metric = register.getSingleMetric('flotilla_events_consumed_total');
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => v.labels['consumer'] === consumer && v.labels['outcome'] === 'handled').reduce((sum, v) => sum + v.value, 0);
}

/** Polls the consumer's handled counter and notes when it has grown by `count`. */
function watchHandled(consumer: string, from: number, count: number): { at: () => number | undefined; stop: () => void } {
  let at: number | undefined;
  const timer = setInterval(() => {
    void handledCount(consumer).then((n) => {
      if (at === undefined && n - from >= count) at = now();
    });
  }, 10);
  return { at: () => at, stop: () => clearInterval(timer) };
}

/** Path names (also the first part of their clusters' ids: no dash) and their bus names. */
const HANDLER_PATHS: Record<HandlerMode, { name: string; service: string; prefix: string }> = {
  batch: { name: 'batch', service: 'benchbatch', prefix: 'b' },
  'by-subject': { name: 'bysubject', service: 'benchsubject', prefix: 's' },
  sequential: { name: 'sequential', service: 'benchseq', prefix: 'q' },
};

/** Each handler path has its own schema: none runs on tables another one has grown. */
async function handlerPath(bus: BusConnection, mode: HandlerMode): Promise<Path> {
  const names = HANDLER_PATHS[mode];
  const schema = await createTestSchema(BENCH_MIGRATIONS, 'bench');
  cleanups.push(() => schema.drop());
  const options = benchOptions(names.service, names.prefix);
  cleanups.push(() => deleteTestStreams(bus.jsm, options.prefix));
  await ensureStreams(bus.jsm, options);
  const consumer = durableName(options.service, ClusterRequested.channel);
  const observer = await observe(bus.js, options);
  let app: INestApplication | undefined;
  cleanups.push(() => (app ? closeBenchApp(app) : undefined));
  let before = { batches: { sum: 0, count: 0 }, tx: { sum: 0, count: 0 }, handled: 0 };
  let watch: ReturnType<typeof watchHandled> | undefined;
  return {
    name: names.name,
    source: eventsSubject(options, ClusterRequested.channel),
    observer,
    // The app is created before the clock starts; only starting its consumers is timed.
    prepare: async () => {
      app = await createBenchApp(schema, options, mode);
      before = {
        batches: await histogram('flotilla_event_batch_size', consumer),
        tx: await histogram('flotilla_event_handler_duration_seconds', consumer),
        handled: await handledCount(consumer),
      };
    },
    start: async () => {
      if (!app) throw new Error('prepare() first');
      watch = watchHandled(consumer, before.handled, MESSAGES);
      await startEventConsumers(app);
    },
    stop: async () => {
      watch?.stop();
      if (app) await closeBenchApp(app);
      app = undefined;
    },
    stats: async (started) => {
      const handledAt = watch?.at();
      const batches = await histogram('flotilla_event_batch_size', consumer);
      const tx = await histogram('flotilla_event_handler_duration_seconds', consumer);
      const transactions = batches.count - before.batches.count;
      return {
        meanBatch: transactions > 0 ? (batches.sum - before.batches.sum) / transactions : Number.NaN,
        transactions,
        transactionSeconds: tx.sum - before.tx.sum,
        ...(handledAt === undefined ? {} : { handledSeconds: (handledAt - started) / 1_000 }),
      };
    },
    stateRows: () => withProbe(schema, async (probe) => (await probe.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM bench_clusters`))[0]?.n ?? 0),
  };
}

async function withProbe<T>(schema: TestSchema, read: (probe: DataSource) => Promise<T>): Promise<T> {
  const probe = await new DataSource(schema.dataSourceOptions()).initialize();
  try {
    return await read(probe);
  } finally {
    await probe.destroy();
  }
}

async function postgresVersion(): Promise<string> {
  const client = new pg.Client({ connectionString: TEST_SERVER_URL });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown';
  } finally {
    await client.end();
  }
}

/** Preloads N source events with the path stopped, then times the drain. */
async function drain(js: JetStreamClient, path: Path, phase: string): Promise<Drain> {
  path.observer.reset();
  await publishAll(js, path.source, MESSAGES, indexed(sourceEvents(phase, MESSAGES)));
  await path.prepare();
  const from = cpuSnapshot();
  const started = now();
  await path.start();
  const ended = await path.observer.waitFor(MESSAGES, TIMEOUT_MS);
  const cpu = cpuPercent(from, cpuSnapshot());
  const stats = await path.stats(started);
  await path.stop();
  const seconds = (ended - started) / 1_000;
  return { perSecond: MESSAGES / seconds, seconds, cpu, ...stats };
}

async function warmUp(js: JetStreamClient, path: Path): Promise<void> {
  await path.prepare();
  await path.start();
  path.observer.reset();
  await publishAll(js, path.source, WARMUP, indexed(sourceEvents(`${path.name}-warmup`, WARMUP)));
  await path.observer.waitFor(WARMUP, TIMEOUT_MS);
  await path.stop();
}

async function latency(js: JetStreamClient, path: Path, ratePerSecond: number): Promise<Latency> {
  const events = sourceEvents(`${path.name}-latency`, LATENCY_MESSAGES);
  await path.prepare();
  await path.start();
  path.observer.reset();
  await publishPaced(js, path.source, LATENCY_MESSAGES, ratePerSecond, (i) => events[i]!, path.observer.sentAt);
  await path.observer.waitFor(LATENCY_MESSAGES, TIMEOUT_MS);
  await path.stop();
  return latencySummary(path.observer.latencies);
}

async function main(): Promise<void> {
  const bus = await BusConnection.open(TEST_NATS_URL, 'messaging-bench');
  cleanups.push(() => bus.drain());
  const { js } = bus;
  log(`messaging benchmark: ${MESSAGES} messages x ${ROUNDS} rounds (warm-up ${WARMUP}), batch ${BATCH_SIZE}, ${LANES} lanes, prefix ${base}`);

  const paths = [
    await rawPath(bus),
    await handlerPath(bus, 'batch'),
    await handlerPath(bus, 'by-subject'),
    ...(WITH_SEQUENTIAL ? [await handlerPath(bus, 'sequential')] : []),
    ...(WITH_FLOOR ? [await floorPath(bus, 'set-based'), await floorPath(bus, 'per-event')] : []),
  ];

  log('warm-up');
  for (const path of paths) await warmUp(js, path);

  const rounds: Record<string, Drain>[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const results: Record<string, Drain> = {};
    for (const path of paths) results[path.name] = await drain(js, path, `${path.name}-${round}`);
    rounds.push(results);
    log(`round ${round}: ${Object.entries(results).map(([name, d]) => describeDrain(name, d)).join('; ')}`);
  }

  for (const path of paths) {
    const rows = await path.stateRows?.();
    const expected = MESSAGES * ROUNDS + WARMUP;
    if (rows !== undefined && rows !== expected) throw new Error(`${path.name}: expected ${expected} state rows, found ${rows}`);
  }

  const medianOf = (name: string) => median(rounds.map((r) => r[name]?.perSecond ?? Number.NaN));
  const raw = medianOf('raw');
  const batch = medianOf('batch');
  const bySubject = medianOf('bysubject');
  const sequential = WITH_SEQUENTIAL ? medianOf('sequential') : undefined;
  const floor = WITH_FLOOR ? medianOf('floor') : undefined;
  const floorPerEvent = WITH_FLOOR ? medianOf('floorevent') : undefined;

  const slowest = Math.min(batch, bySubject, sequential ?? Number.POSITIVE_INFINITY);
  const latencyRate = envNumber('BENCH_LATENCY_RATE', Math.max(100, Math.round(slowest / 3)));
  log(`latency: ${LATENCY_MESSAGES} events at ${latencyRate}/s on each path`);
  const latencies: Record<string, Latency> = {};
  for (const path of paths) latencies[path.name] = await latency(js, path, latencyRate);

  const result = {
    benchmark: 'messaging',
    timestamp: new Date().toISOString(),
    messages: MESSAGES,
    rounds_count: ROUNDS,
    warmup_messages: WARMUP,
    batch_size: BATCH_SIZE,
    lanes: LANES,
    relay_batch_size: busOptions({ service: 'bench' }).relayBatchSize,
    raw_pipeline_per_s: Math.round(raw),
    handler_path: '@OnEventBatch handler: decode, validate, inbox, one set-based upsert, one outbox row per event, one transaction per batch, ack, relay publishes',
    handler_path_per_s: Math.round(batch),
    ratio: round(batch / raw, 3),
    target_ratio: TARGET_RATIO,
    target_per_event_ratio: TARGET_PER_EVENT_RATIO,
    p50_ms: round(latencies['batch']!.p50, 2),
    p99_ms: round(latencies['batch']!.p99, 2),
    max_ms: round(latencies['batch']!.max, 2),
    raw_p50_ms: round(latencies['raw']!.p50, 2),
    raw_p99_ms: round(latencies['raw']!.p99, 2),
    by_subject_per_s: Math.round(bySubject),
    by_subject_ratio: round(bySubject / raw, 3),
    by_subject_p50_ms: round(latencies['bysubject']!.p50, 2),
    by_subject_p99_ms: round(latencies['bysubject']!.p99, 2),
    ...(sequential === undefined
      ? {}
      : {
          sequential_per_s: Math.round(sequential),
          sequential_ratio: round(sequential / raw, 3),
          sequential_p50_ms: round(latencies['sequential']!.p50, 2),
          sequential_p99_ms: round(latencies['sequential']!.p99, 2),
        }),
    ...(floor === undefined || floorPerEvent === undefined
      ? {}
      : {
          database_floor_per_s: Math.round(floor),
          database_floor_ratio: round(floor / raw, 3),
          database_floor_per_event_per_s: Math.round(floorPerEvent),
          database_floor_per_event_ratio: round(floorPerEvent / raw, 3),
        }),
    cpu_us_per_event: Object.fromEntries(paths.map((path) => [path.name, medianCpuPerEvent(rounds, path.name)])),
    cpu_method: 'CPU time of node (this process), PostgreSQL and NATS over a round, per event; median of rounds',
    latency_messages: LATENCY_MESSAGES,
    latency_rate_per_s: latencyRate,
    latency_method: 'open-loop publishing at latency_rate_per_s; source publish -> derived event seen by an ordered consumer',
    throughput_method: 'N source events preloaded, clock from consumer start to the N-th derived event seen; median of rounds alternating the paths',
    rounds: rounds.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([name, d]) => [
          name,
          {
            per_s: Math.round(d.perSecond),
            seconds: round(d.seconds, 3),
            mean_batch_size: round(d.meanBatch, 1),
            ...(d.transactions === undefined ? {} : { transactions: d.transactions, transaction_seconds: round(d.transactionSeconds ?? Number.NaN, 3) }),
            ...(d.handledSeconds === undefined ? {} : { handled_seconds: round(d.handledSeconds, 3) }),
            cpu_pct_of_one_core: d.cpu,
          },
        ]),
      ),
    ),
    node: process.version,
    nats_server: bus.nc.info?.version ?? 'unknown',
    nats_client: `@nats-io/jetstream ${packageVersion('@nats-io/jetstream')}, @nats-io/transport-node ${packageVersion('@nats-io/transport-node')}`,
    postgres: await postgresVersion(),
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
  };

  printTable(result, rounds, latencies);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'messaging.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  log(`written ${file}`);
}

function describeDrain(name: string, d: Drain): string {
  const tx = d.transactions === undefined ? '' : `, ${d.transactions} tx, ${round(d.transactionSeconds ?? Number.NaN, 2)} s in tx`;
  const handled = d.handledSeconds === undefined ? '' : `, all handled at ${round(d.handledSeconds, 2)} s of ${round(d.seconds, 2)} s`;
  return `${name} ${rate(d.perSecond)}/s (batch ${round(d.meanBatch, 1)}${tx}${handled}, CPU node ${d.cpu.node}% pg ${d.cpu.postgres}% nats ${d.cpu.nats}%)`;
}

/** CPU per event in a round (µs), of each process and all three. */
interface CpuPerEvent {
  node: number;
  postgres: number;
  nats: number;
  total: number;
}

function cpuPerEvent(d: Drain): CpuPerEvent {
  const micros = (pct: number) => (pct / 100) * d.seconds * (1_000_000 / MESSAGES);
  const node = micros(d.cpu.node);
  const postgres = micros(d.cpu.postgres);
  const nats = micros(d.cpu.nats);
  return { node, postgres, nats, total: node + postgres + nats };
}

/** Medians over the rounds, each process's and the total's on their own. */
function medianCpuPerEvent(rounds: readonly Record<string, Drain>[], name: string): CpuPerEvent {
  const each = rounds.map((r) => r[name]).filter((d) => d !== undefined).map(cpuPerEvent);
  const of = (key: keyof CpuPerEvent) => round(median(each.map((c) => c[key])));
  return { node: of('node'), postgres: of('postgres'), nats: of('nats'), total: of('total') };
}

function indexed(messages: WireMessage[]): (index: number) => WireMessage {
  return (index) => messages[index]!;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

function round(value: number, digits = 0): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function rate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

const LABELS: Record<string, string> = {
  raw: '(a) raw JetStream pipeline',
  batch: '(b) handler path (@OnEventBatch)',
  bysubject: '(b1) @OnEvent, by-subject',
  sequential: '(b2) @OnEvent, sequential',
  floor: '(c) database floor, set-based',
  floorevent: '(c1) database floor, per event',
};

function printTable(
  r: {
    raw_pipeline_per_s: number;
    ratio: number;
    by_subject_ratio: number;
    sequential_ratio?: number;
    database_floor_ratio?: number;
    database_floor_per_event_ratio?: number;
    messages: number;
    batch_size: number;
    latency_rate_per_s: number;
    nats_server: string;
    node: string;
    postgres: string;
    cpu_us_per_event: Record<string, CpuPerEvent>;
  },
  rounds: Record<string, Drain>[],
  latencies: Record<string, Latency>,
): void {
  const names = Object.keys(latencies);
  const rows = [
    ['path', 'events/s', 'vs raw', 'CPU µs/event: node+pg+nats', 'p50 ms', 'p99 ms', 'rounds (events/s)'],
    ...names.map((name) => {
      const perSecond = median(rounds.map((x) => x[name]?.perSecond ?? Number.NaN));
      const cpu = r.cpu_us_per_event[name];
      return [
        LABELS[name] ?? name,
        rate(perSecond),
        (perSecond / r.raw_pipeline_per_s).toFixed(3),
        cpu ? `${cpu.total} = ${cpu.node}+${cpu.postgres}+${cpu.nats}` : '',
        latencies[name]!.p50.toFixed(2),
        latencies[name]!.p99.toFixed(2),
        rounds.map((x) => rate(x[name]?.perSecond ?? Number.NaN)).join(' '),
      ];
    }),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) => row.map((cell, column) => (column === 0 || column === row.length - 1 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  console.log('');
  console.log(`messaging benchmark: ${r.messages} messages, batch ${r.batch_size}, NATS ${r.nats_server}, PostgreSQL ${r.postgres}, node ${r.node}`);
  console.log(line(rows[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
  console.log('');
  const verdict = (ratio: number, target: number) => `${ratio.toFixed(3)} (target >= ${target})${ratio >= target ? '' : '  BELOW TARGET'}`;
  const floorOf = (ratio: number | undefined, name: string) => (ratio === undefined ? '' : `; ${name}/(a) ${ratio.toFixed(3)}`);
  console.log(`ratio (b)/(a): ${verdict(r.ratio, TARGET_RATIO)}${floorOf(r.database_floor_ratio, '(c)')}`);
  console.log(`per event (b1)/(a): ${verdict(r.by_subject_ratio, TARGET_PER_EVENT_RATIO)}${r.sequential_ratio === undefined ? '' : `, (b2)/(a) ${r.sequential_ratio.toFixed(3)}`}${floorOf(r.database_floor_per_event_ratio, '(c1)')}`);
  // Where node, PostgreSQL and NATS share the cores, each path keeps them about equally busy, so a
  // path's ratio follows the raw pipeline's CPU per event over its own.
  const raw = r.cpu_us_per_event['raw'];
  const cpuRatios = names.flatMap((name) => {
    const cpu = r.cpu_us_per_event[name];
    return raw === undefined || cpu === undefined || name === 'raw' ? [] : [`${LABELS[name]?.split(' ')[0] ?? name} ${(raw.total / cpu.total).toFixed(3)}`];
  });
  if (cpuRatios.length > 0) console.log(`raw's CPU per event over each path's: ${cpuRatios.join(', ')}`);
  console.log(`throughput: median of ${rounds.length} rounds; latency: open loop at ${r.latency_rate_per_s} events/s`);
}

try {
  await main();
} catch (error) {
  console.error('benchmark failed:', error);
  process.exitCode = 1;
} finally {
  await cleanups.run();
}
