// Inventory backlog: how fast does the inventory alone work through the events of a fleet's
// provisioning, with 1, 2 or 3 replicas? The events are the provisioner's own: BENCH_CLUSTERS
// ClusterRequested (3 control-plane and BENCH_WORKERS worker machines each) are published, the
// provisioner provisions them with no inventory running (simulated provider at zero boot time) and
// is stopped once every event it emitted is on the bus; those events (ClusterRequested,
// ClusterProgress, NodesProvisioned, ClusterReady) are read back in stream order. For each count
// in BENCH_BACKLOG_REPLICAS, that many replicas start at once on fresh streams (a bus prefix of
// their own) and a fresh schema; once every one is ready (a replica's start costs seconds of CPU
// that are no part of its throughput), the recorded events are published again as they were
// (headers, ids, payloads), 500 at a time, and the clock runs from the first publish until the
// inbox holds a row for every event (a count every BENCH_POLL_MS).
//
// Run by `npm run bench -- scale-out` (tools/bench-lib/scale-out.mjs, mode inventory-only), or alone:
//   npx tsc -b services/provisioner/bench/tsconfig.json services/inventory/tsconfig.app.json &&
//   node --enable-source-maps services/provisioner/dist/bench/inventory-backlog.bench.js
//
// Reported per replica count (<BENCH_RESULTS_DIR>/inventory-backlog.json): events, seconds,
// events_per_s, the seconds the publish and the replicas' start took, CPU seconds (from the first
// publish on) of every replica, of PostgreSQL and of NATS (every process of those commands on the machine),
// the projection's transactions (count, mean batch, seconds inside them, events handed back
// because another replica's batch held their cluster), how many transactions wait for another's
// cluster lock (sampled at each poll), the load average, and
// the inbox read back: rows and distinct ids, events on the bus it never handled, ids it handled
// that nobody emitted. Checks: all of those as expected, every cluster Running with all its nodes.
//
// Environment: BENCH_CLUSTERS (1000), BENCH_WORKERS (10), BENCH_BACKLOG_REPLICAS (1,2,3),
// BENCH_POLL_MS (100), BENCH_TIMEOUT_MS (300000, for the provisioning and for each count),
// BENCH_RESULTS_DIR (<repo>/bench/results), BENCH_DATABASE (flotilla_test), BENCH_CPU_PROFILE_DIR
// (unset; when set, each inventory replica writes a V8 CPU profile there, in
// inventory-x<count>/inventory-<replica>/), TEST_DATABASE_URL, TEST_NATS_URL, and the service variables the
// provisioning benchmark passes through (RECONCILE_*, PROVIDER_*, MACHINE_*, SIM_*, BUS_*, OTEL_*).
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ClusterReady, ClusterRequested, createEvent, eventsSubject, streamName } from '@flotilla/contracts';
import { ALL_EVENTS, BusConnection, busOptions, durableName, ensureStreams, headerRecord, publishEncoded, publishEvent } from '@flotilla/messaging';
import { Cleanups, databaseUrl, deleteTestStreams, ensureDatabase, freePort, randomSuffix, TEST_NATS_URL, TEST_SERVER_URL } from '@flotilla/messaging/testing';
import { DataSource } from 'typeorm';
import { benchClusterSpec, cpuByCommand, cpuSecondsBetween, envNumber, metricSum, repoRoot, round, ServiceProcess, sleep } from './support.js';

const CLUSTERS = envNumber('BENCH_CLUSTERS', 1000);
const CONTROL_PLANE = 3;
const WORKERS = envNumber('BENCH_WORKERS', 10);
const REPLICAS = (process.env['BENCH_BACKLOG_REPLICAS'] || '1,2,3').split(',').map(Number);
if (REPLICAS.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('BENCH_BACKLOG_REPLICAS: whole numbers >= 1');
const POLL_MS = envNumber('BENCH_POLL_MS', 100);
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MS', 300_000);
const RESULTS_DIR = process.env['BENCH_RESULTS_DIR'] ?? join(repoRoot, 'bench/results');
const DATABASE = process.env['BENCH_DATABASE'] || 'flotilla_test';
const CPU_PROFILE_DIR = process.env['BENCH_CPU_PROFILE_DIR'] || undefined;
const STREAM_MAX_BYTES = Math.max(64 * 1024 ** 2, CLUSTERS * 64 * 1024);
const INVENTORY_ALL = durableName('inventory', ALL_EVENTS);

const suffix = randomSuffix();
const prefix = `bback${suffix}`;
const provisionerSchema = `bench_provisioner_${suffix}`;
/** A fresh schema for each replica count. */
const inventorySchema = (replicas: number) => `bench_inventory_${suffix}_x${replicas}`;
const passThrough = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => /^(RECONCILE_|PROVIDER_|MACHINE_|SIM_|OTEL_|BUS_BATCH_SIZE$|BUS_LANES$)/.test(key)),
) as Record<string, string>;

const cleanups = new Cleanups(log);

interface Bench {
  db: DataSource;
  bus: BusConnection;
  common: Record<string, string>;
}

async function main(): Promise<void> {
  await ensureDatabase(DATABASE);
  const url = databaseUrl(DATABASE, TEST_SERVER_URL);
  const db = await new DataSource({ type: 'postgres', url, extra: { max: 2 } }).initialize();
  cleanups.push(() => db.destroy());
  cleanups.push(() => db.query(`DROP SCHEMA IF EXISTS "${provisionerSchema}" CASCADE`));
  const bus = await BusConnection.open(TEST_NATS_URL, 'inventory-backlog-bench');
  cleanups.push(() => bus.drain());
  cleanups.push(() => deleteTestStreams(bus.jsm, prefix));
  await ensureStreams(bus.jsm, busOptions({ service: 'bench', prefix, natsUrl: TEST_NATS_URL, streamMaxBytes: STREAM_MAX_BYTES }));
  const common = {
    DATABASE_URL: url,
    NATS_URL: TEST_NATS_URL,
    BUS_PREFIX: prefix,
    BUS_STREAM_MAX_BYTES: String(STREAM_MAX_BYTES),
    LOG_LEVEL: 'warn',
    OTEL_TRACES_EXPORTER: 'none',
    SIM_BOOT_MS: '0',
    SECRETS_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    ...passThrough,
  };
  const bench = { db, bus, common };
  log(`${CLUSTERS} clusters x ${CONTROL_PLANE + WORKERS} machines; inventory replicas ${REPLICAS.join(', ')}; prefix ${prefix}; load ${loadText()}`);

  const { recorded, ...backlog } = await provisionBacklog(bench);
  const runs: Record<number, Awaited<ReturnType<typeof drain>>> = {};
  for (const replicas of REPLICAS) runs[replicas] = await drain(bench, replicas, recorded);

  const result = {
    benchmark: 'inventory-backlog',
    timestamp: new Date().toISOString(),
    clusters: CLUSTERS,
    machines_per_cluster: CONTROL_PLANE + WORKERS,
    backlog,
    runs,
    method:
      'the provisioner provisions every cluster with no inventory running and is stopped, its events read back; for each replica count, the replicas start at once on fresh streams and a fresh schema; ' +
      'once all are ready the events are published again in order, and the clock runs from the first publish until the inbox holds a row per event (polled every BENCH_POLL_MS)',
    settings: { SIM_BOOT_MS: common.SIM_BOOT_MS, BENCH_POLL_MS: POLL_MS, ...passThrough },
    node: process.version,
    nats_server: bus.nc.info?.version ?? 'unknown',
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'inventory-backlog.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  log(`written ${file}`);
  const failed = Object.entries(runs).filter(([, run]) => run.checks !== 'ok');
  if (failed.length > 0) throw new Error(`checks failed: ${failed.map(([n, run]) => `x${n}: ${(run.checks as string[]).join('; ')}`).join(' | ')}`);
}

/** Provisions every cluster with the provisioner alone, stops it, and says what the bus then holds. */
async function provisionBacklog({ db, bus, common }: Bench) {
  const provisioner = new ServiceProcess('provisioner', 1, await freePort(), { ...common, DATABASE_SCHEMA: provisionerSchema });
  cleanups.push(() => provisioner.stop());
  await provisioner.start();
  const started = performance.now();
  const subject = eventsSubject({ prefix }, ClusterRequested.channel);
  const spec = benchClusterSpec(CONTROL_PLANE, WORKERS);
  for (let index = 0; index < CLUSTERS; index += 100) {
    const chunk = Array.from({ length: Math.min(100, CLUSTERS - index) }, (_, offset) =>
      createEvent(ClusterRequested, { subject: `bench-${String(index + offset).padStart(5, '0')}`, source: '/bench/inventory-backlog' }, { ...spec, name: `bench-${index + offset}` }),
    );
    await Promise.all(chunk.map((event) => publishEvent(bus.js, subject, event)));
  }
  // Every ClusterReady on the bus, and nothing left in the provisioner's outbox: its events are all there.
  for (;;) {
    const ready = await countOnBus(bus, ClusterReady.channel);
    if (ready >= CLUSTERS && (await unpublished(db)) === 0) break;
    if (!provisioner.running) throw new Error(`the provisioner exited:\n${provisioner.tail()}`);
    if (performance.now() - started > TIMEOUT_MS) throw new Error(`${ready} of ${CLUSTERS} ClusterReady on the bus after ${TIMEOUT_MS} ms`);
    await sleep(500);
  }
  const seconds = (performance.now() - started) / 1000;
  await provisioner.stop();
  const left = await unpublished(db);
  if (left > 0) throw new Error(`${left} event(s) left unpublished in the provisioner's outbox after it stopped`);
  const stream = await bus.jsm.streams.info(streamName({ prefix }, 'events'), { subjects_filter: '>' });
  const bySubject = Object.fromEntries(Object.entries(stream.state.subjects ?? {}).map(([name, n]) => [name.slice(prefix.length + 1), n]));
  log(`provisioned ${CLUSTERS} clusters in ${seconds.toFixed(1)} s; ${stream.state.messages} events on the bus: ${JSON.stringify(bySubject)}`);
  const recorded = await readBacklog(bus, stream.state.messages);
  return { provisioning_seconds: round(seconds, 1), events: recorded.length, events_by_subject: bySubject, recorded };
}

/** One replica count: replicas started at once on fresh streams and a fresh schema; once all are ready, the backlog is published and the clock runs until every event is in their inbox. */
async function drain({ db, bus, common }: Bench, replicas: number, backlog: readonly RecordedEvent[]) {
  const runPrefix = `${prefix}x${replicas}`;
  const schema = inventorySchema(replicas);
  cleanups.push(() => deleteTestStreams(bus.jsm, runPrefix));
  cleanups.push(() => db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  await ensureStreams(bus.jsm, busOptions({ service: 'bench', prefix: runPrefix, natsUrl: TEST_NATS_URL, streamMaxBytes: STREAM_MAX_BYTES }));
  const processes: ServiceProcess[] = [];
  for (let replica = 1; replica <= replicas; replica++) {
    const profile = CPU_PROFILE_DIR && join(CPU_PROFILE_DIR, `inventory-x${replicas}`);
    processes.push(new ServiceProcess('inventory', replica, await freePort(), { ...common, BUS_PREFIX: runPrefix, DATABASE_SCHEMA: schema }, profile));
  }
  const stopAll = () => Promise.all(processes.map((p) => p.stop()));
  cleanups.push(stopAll);
  log(`x${replicas}: starting ${replicas} inventory replica(s); load ${loadText()}`);
  const starting = performance.now();
  await Promise.all(processes.map((p) => p.start()));
  const startSeconds = (performance.now() - starting) / 1000;
  const events = backlog.length;

  const loadAtStart = loadavg();
  const cpuBefore = { postgres: cpuByCommand('postgres'), nats: cpuByCommand('nats-server'), services: new Map(processes.map((p) => [p.name, p.usage()?.cpuSeconds ?? 0])) };
  const started = performance.now();
  const publishSeconds = await publishBacklog(bus, runPrefix, backlog);
  let handled = 0;
  const lockWaits: number[] = [];
  for (;;) {
    handled = await inboxRows(db, schema);
    if (handled >= events) break;
    lockWaits.push(await advisoryLockWaits(db));
    const dead = processes.find((p) => !p.running);
    if (dead) throw new Error(`${dead.name} exited during the run:\n${dead.tail()}`);
    if (performance.now() - started > TIMEOUT_MS) throw new Error(`x${replicas}: ${handled} of ${events} events handled after ${TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuAfter = { postgres: cpuByCommand('postgres'), nats: cpuByCommand('nats-server') };
  const loadAtEnd = loadavg();
  const usage = new Map(processes.map((p) => [p.name, p.usage()]));
  const metrics = await Promise.all(processes.map((p) => p.metrics()));
  await stopAll();

  const sumOf = (name: string) => metrics.reduce((sum, text) => sum + metricSum(text, name, { consumer: INVENTORY_ALL }), 0);
  const transactions = sumOf('flotilla_event_batch_size_count');
  const inbox = await readInbox(db, schema);
  const [clusters] = await db.query<{ running: number; short: number }[]>(
    `SELECT count(*) FILTER (WHERE status = 'Running')::int AS running, count(*) FILTER (WHERE status = 'Running' AND node_count <> $1)::int AS short FROM "${schema}".clusters`,
    [CONTROL_PLANE + WORKERS],
  );
  await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await deleteTestStreams(bus.jsm, runPrefix);

  const problems: string[] = [];
  if (inbox.rows !== inbox.ids) problems.push(`${inbox.rows} inbox rows for ${inbox.ids} event ids`);
  if (inbox.ids !== events) problems.push(`${inbox.ids} event ids handled, ${events} events on the bus`);
  if (inbox.not_handled > 0) problems.push(`${inbox.not_handled} event(s) emitted or requested that the inventory never handled`);
  if (inbox.unexplained > 0) problems.push(`${inbox.unexplained} event id(s) in the inventory's inbox that nobody emitted`);
  if (clusters?.running !== CLUSTERS) problems.push(`${clusters?.running ?? 0} of ${CLUSTERS} clusters Running in the inventory`);
  if ((clusters?.short ?? 0) > 0) problems.push(`${clusters?.short} Running cluster(s) without ${CONTROL_PLANE + WORKERS} nodes`);
  const run = {
    replicas,
    events,
    seconds: round(seconds, 2),
    events_per_s: round(events / seconds, 1),
    publish_seconds: round(publishSeconds, 2),
    start_seconds: round(startSeconds, 2),
    services: Object.fromEntries(
      processes.map((p) => {
        const used = usage.get(p.name);
        return [p.name, { cpu_seconds: round((used?.cpuSeconds ?? Number.NaN) - (cpuBefore.services.get(p.name) ?? 0), 2), peak_rss_mb: round(used?.peakRssMb ?? Number.NaN, 1) }];
      }),
    ),
    postgres_cpu_seconds: round(cpuSecondsBetween(cpuBefore.postgres, cpuAfter.postgres), 1),
    nats_cpu_seconds: round(cpuSecondsBetween(cpuBefore.nats, cpuAfter.nats), 1),
    projection: {
      transactions,
      mean_batch: round(sumOf('flotilla_event_batch_size_sum') / transactions, 1),
      seconds_in_transactions: round(sumOf('flotilla_event_handler_duration_seconds_sum'), 2),
      // Events handed back because another replica's batch held their cluster (each time).
      handed_back: metrics.reduce((sum, text) => sum + metricSum(text, 'flotilla_events_consumed_total', { consumer: INVENTORY_ALL, outcome: 'deferred' }), 0),
    },
    // Transactions waiting for another's cluster lock, sampled at each poll (every transaction of the database: other users count too).
    advisory_lock_waits: { mean: round(lockWaits.reduce((sum, n) => sum + n, 0) / lockWaits.length, 2), max: Math.max(0, ...lockWaits), samples: lockWaits.length },
    inbox: { consumer: INVENTORY_ALL, rows: inbox.rows, ids: inbox.ids, not_handled: inbox.not_handled, unexplained: inbox.unexplained },
    load_average: { start: loadAtStart.map((v) => round(v, 2)), end: loadAtEnd.map((v) => round(v, 2)) },
    checks: problems.length === 0 ? 'ok' : problems,
  };
  log(
    `x${replicas}: ${events} events in ${run.seconds} s (${run.events_per_s}/s; published in ${run.publish_seconds} s; replicas started in ${run.start_seconds} s); ` +
      `CPU s ${Object.entries(run.services).map(([name, s]) => `${name} ${s.cpu_seconds}`).join(', ')}, postgres ${run.postgres_cpu_seconds}, nats ${run.nats_cpu_seconds}; ` +
      `${transactions} tx, mean batch ${run.projection.mean_batch}, ${run.projection.seconds_in_transactions} s in tx, ${run.projection.handed_back} handed back, ${run.advisory_lock_waits.mean} waiting for a cluster lock; checks ${problems.length === 0 ? 'ok' : problems.join('; ')}; load ${loadText()}`,
  );
  return run;
}

/** An event as the provisioning left it on the bus: its channel, CloudEvents headers and payload. */
interface RecordedEvent {
  channel: string;
  id: string;
  headers: Record<string, string>;
  payload: Uint8Array;
}

/** Every event of the provisioning, in stream order. */
async function readBacklog(bus: BusConnection, count: number): Promise<RecordedEvent[]> {
  const consumer = await bus.js.consumers.get(streamName({ prefix }, 'events'));
  const messages = await consumer.consume();
  const events: RecordedEvent[] = [];
  const eventsPrefix = `${eventsSubject({ prefix }, '')}`;
  for await (const message of messages) {
    // What publishEncoded sets itself: the message id, and a trace context of its own.
    const headers = Object.fromEntries(Object.entries(headerRecord(message)).filter(([key]) => !['nats-msg-id', 'traceparent', 'tracestate'].includes(key)));
    events.push({ channel: message.subject.slice(eventsPrefix.length), id: headers['ce-id'] ?? '', headers, payload: message.data });
    if (events.length >= count) break;
  }
  messages.stop();
  return events;
}

/** Publishes the recorded events on the run's bus, in their order, 500 at a time; returns the seconds it took. */
async function publishBacklog(bus: BusConnection, runPrefix: string, backlog: readonly RecordedEvent[]): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < backlog.length; index += 500) {
    await Promise.all(backlog.slice(index, index + 500).map((event) => publishEncoded(bus.js, { subject: eventsSubject({ prefix: runPrefix }, event.channel), eventId: event.id, headers: event.headers, payload: event.payload })));
  }
  return (performance.now() - started) / 1000;
}

/** Rows of the all-events consumer in the inbox; 0 until the first replica has made the table. */
async function inboxRows(db: DataSource, schema: string): Promise<number> {
  try {
    const [row] = await db.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${schema}".inbox WHERE consumer = $1`, [INVENTORY_ALL]);
    return row?.n ?? 0;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01' || (error as { code?: string }).code === '3F000') return 0;
    throw error;
  }
}

/**
 * The inbox against what was put on the bus: the provisioner's outbox (every event it emitted)
 * and its inbox of ClusterRequested (every request this benchmark published).
 */
async function readInbox(db: DataSource, schema: string) {
  const [row] = await db.query<{ rows: number; ids: number; not_handled: number; unexplained: number }[]>(
    `WITH sent AS (SELECT event_id FROM "${provisionerSchema}".outbox UNION SELECT event_id FROM "${provisionerSchema}".inbox),
          handled AS (SELECT event_id FROM "${schema}".inbox WHERE consumer = $1)
     SELECT (SELECT count(*) FROM handled)::int AS rows,
            (SELECT count(DISTINCT event_id) FROM handled)::int AS ids,
            (SELECT count(*) FROM sent s WHERE NOT EXISTS (SELECT 1 FROM handled h WHERE h.event_id = s.event_id))::int AS not_handled,
            (SELECT count(*) FROM handled h WHERE NOT EXISTS (SELECT 1 FROM sent s WHERE s.event_id = h.event_id))::int AS unexplained`,
    [INVENTORY_ALL],
  );
  return { rows: row!.rows, ids: row!.ids, not_handled: row!.not_handled, unexplained: row!.unexplained };
}

/** Backends of the run's database waiting for an advisory lock now (the projection's lock per cluster id). */
async function advisoryLockWaits(db: DataSource): Promise<number> {
  const [row] = await db.query<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return row?.n ?? 0;
}

async function unpublished(db: DataSource): Promise<number> {
  const [row] = await db.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${provisionerSchema}".outbox WHERE published_at IS NULL`);
  return row?.n ?? 0;
}

async function countOnBus(bus: BusConnection, channel: string): Promise<number> {
  const subject = eventsSubject({ prefix }, channel);
  const info = await bus.jsm.streams.info(streamName({ prefix }, 'events'), { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

function loadText(): string {
  return loadavg()
    .map((v) => v.toFixed(2))
    .join(' ');
}

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

try {
  await main();
} catch (error) {
  console.error('benchmark failed:', error);
  process.exitCode = 1;
} finally {
  await cleanups.run();
}
process.exit(process.exitCode ?? 0);
