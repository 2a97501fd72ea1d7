// Provisioning end to end: BENCH_CLUSTERS ClusterRequested events (3 control-plane and
// BENCH_WORKERS worker machines each) are published on the bus at once; the provisioner and the
// inventory run as separate processes, as in production, on this machine's NATS and PostgreSQL
// (own bus prefix, own schemas), with the simulated provider at zero boot time. The clock runs
// from the first publish until the inventory's table shows every cluster Running (a count query
// every BENCH_POLL_MS once the provisioner has published every ClusterReady, at the progress
// interval before: the read model operators see, without the HTTP layer in the measurement).
//
//   npm run bench -- provisioning
//   (or: npx tsc -b services/provisioner/bench/tsconfig.json services/inventory/tsconfig.app.json &&
//        node --enable-source-maps services/provisioner/dist/bench/provisioning.bench.js)
//
// BENCH_SCENARIO=provisioning-at-scale (`npm run bench -- provisioning-at-scale`) runs 10,000
// clusters and writes bench/results/provisioning-at-scale.json, with a target on the
// provisioner's peak RSS (<= 512 MB) and on seconds_to_all_running (<= 180).
//
// Reported (bench/results/provisioning.json): seconds_to_all_running (target <= 120),
// machines_per_s, p50/p99 per-cluster time to Running in the inventory (its row's updated_at) and
// in the provisioner, when the provisioner had every cluster Running versus when the inventory did
// (the inventory's lag), the provisioner's phases (requests recorded, first and last machine
// created), peak RSS and CPU seconds of every service process, the inventory's transactions
// (count, mean batch, seconds inside them), PostgreSQL and NATS CPU seconds (every backend on the
// machine: other users count too) and the load average. Checks on the way out: every cluster
// Running with all its nodes in the inventory, every simulated machine created exactly once.
//
// Environment: BENCH_SCENARIO (provisioning), BENCH_CLUSTERS (1000, 10000 at scale), BENCH_WORKERS (10), BENCH_PROVISIONER_REPLICAS (1),
// BENCH_INVENTORY_REPLICAS (1), BENCH_POLL_MS (250), BENCH_PROGRESS_MS (2000, 5000 at scale), BENCH_TIMEOUT_MS
// (600000), BENCH_RESULTS_DIR (<repo>/bench/results), BENCH_DATABASE (flotilla_test; a database of its own lets
// database-level settings such as log_min_duration_statement apply to the run alone), BENCH_CPU_PROFILE_DIR (unset; when set, each
// service process writes V8 CPU profiles there, in <service>-<replica>/, when it stops),
// TEST_DATABASE_URL, TEST_NATS_URL; and any service variable, passed through to both services:
// RECONCILE_*, PROVIDER_*, MACHINE_*, SIM_* (SIM_BOOT_MS defaults to 0),
// BUS_BATCH_SIZE, OTEL_* (traces are not exported unless OTEL_TRACES_EXPORTER says otherwise:
// there is no collector here). SECRETS_KEYS is a throwaway key made for each run.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ClusterReady, ClusterRequested, createEvent, eventsSubject, streamName, type EventOf } from '@flotilla/contracts';
import { BusConnection, durableName, ensureStreams, busOptions, publishEvent, ALL_EVENTS } from '@flotilla/messaging';
import { Cleanups, databaseUrl, deleteTestStreams, ensureDatabase, freePort, randomSuffix, TEST_NATS_URL, TEST_SERVER_URL } from '@flotilla/messaging/testing';
import { DataSource } from 'typeorm';
import { benchClusterSpec, cpuByCommand, cpuSecondsBetween, envNumber, metricSum, percentile, repoRoot, round, ServiceProcess, sleep, type ProcessUsage } from './support.js';

/**
 * The two scenarios of this script: `provisioning` (1,000 clusters, the everyday figure) and
 * `provisioning-at-scale` (10,000 clusters: one hub's whole fleet, with a memory target too).
 * BENCH_SCENARIO picks one; tools/bench.mjs sets it for `npm run bench -- provisioning-at-scale`.
 */
const SCENARIOS = {
  provisioning: { clusters: 1000, targetSeconds: 120, targetRssMb: undefined, progressMs: 2000 },
  // Counting 130,000 machines and 10,000 clusters (dead row versions included) takes ~0.1 s of the
  // measured database's CPU: done every 5 s rather than every 2.
  'provisioning-at-scale': { clusters: 10_000, targetSeconds: 180, targetRssMb: 512, progressMs: 5000 },
} as const;
const SCENARIO_NAME = process.env['BENCH_SCENARIO'] ?? 'provisioning';
if (!Object.hasOwn(SCENARIOS, SCENARIO_NAME)) throw new Error(`BENCH_SCENARIO must be one of ${Object.keys(SCENARIOS).join(', ')}, not "${SCENARIO_NAME}"`);
const SCENARIO = SCENARIOS[SCENARIO_NAME as keyof typeof SCENARIOS];
const CLUSTERS = envNumber('BENCH_CLUSTERS', SCENARIO.clusters);
const CONTROL_PLANE = 3;
const WORKERS = envNumber('BENCH_WORKERS', 10);
const PROVISIONER_REPLICAS = envNumber('BENCH_PROVISIONER_REPLICAS', 1);
const INVENTORY_REPLICAS = envNumber('BENCH_INVENTORY_REPLICAS', 1);
const POLL_MS = envNumber('BENCH_POLL_MS', 250);
const PROGRESS_MS = envNumber('BENCH_PROGRESS_MS', SCENARIO.progressMs);
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MS', 600_000);
const TARGET_SECONDS = SCENARIO.targetSeconds;
const TARGET_RSS_MB: number | undefined = SCENARIO.targetRssMb;
const CPU_PROFILE_DIR = process.env['BENCH_CPU_PROFILE_DIR'] || undefined;
const MACHINES = CLUSTERS * (CONTROL_PLANE + WORKERS);
const RESULTS_DIR = process.env['BENCH_RESULTS_DIR'] ?? join(repoRoot, 'bench/results');
const DATABASE = process.env['BENCH_DATABASE'] || 'flotilla_test';
// A run writes about 6 KiB of events per cluster; JetStream reserves max_bytes up front.
const STREAM_MAX_BYTES = Math.max(64 * 1024 ** 2, CLUSTERS * 64 * 1024);

const suffix = randomSuffix();
const prefix = `bprov${suffix}`;
const schemas = { provisioner: `bench_provisioner_${suffix}`, inventory: `bench_inventory_${suffix}` };
const passThrough = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => /^(RECONCILE_|PROVIDER_|MACHINE_|SIM_|OTEL_|BUS_BATCH_SIZE$)/.test(key)),
) as Record<string, string>;

const spec = benchClusterSpec(CONTROL_PLANE, WORKERS);

const cleanups = new Cleanups(log);

interface Progress {
  at: number;
  inventoryRunning: number;
  inventoryFailed: number;
  provisionerClustersRunning: number;
  provisionerMachinesRunning: number;
}

async function main(): Promise<void> {
  await ensureDatabase(DATABASE);
  const url = databaseUrl(DATABASE, TEST_SERVER_URL);
  const db = await new DataSource({ type: 'postgres', url, extra: { max: 2 } }).initialize();
  cleanups.push(() => db.destroy());
  cleanups.push(() => db.query(`DROP SCHEMA IF EXISTS "${schemas.provisioner}" CASCADE; DROP SCHEMA IF EXISTS "${schemas.inventory}" CASCADE`));
  const bus = await BusConnection.open(TEST_NATS_URL, 'provisioning-bench');
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
    // The provisioner keeps join secrets encrypted: a throwaway key for this run.
    SECRETS_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    ...passThrough,
  };
  const processes: ServiceProcess[] = [];
  cleanups.push(() => Promise.all(processes.map((p) => p.stop())));
  const start = async (service: 'provisioner' | 'inventory', replicas: number) => {
    for (let replica = 1; replica <= replicas; replica++) {
      const child = new ServiceProcess(service, replica, await freePort(), { ...common, DATABASE_SCHEMA: schemas[service] }, CPU_PROFILE_DIR);
      processes.push(child);
      await child.start();
    }
  };
  log(`${CLUSTERS} clusters x ${CONTROL_PLANE + WORKERS} machines; provisioner x${PROVISIONER_REPLICAS}, inventory x${INVENTORY_REPLICAS}; prefix ${prefix}; load ${loadText()}`);
  await start('inventory', INVENTORY_REPLICAS);
  await start('provisioner', PROVISIONER_REPLICAS);
  log(`services ready: ${processes.map((p) => `${p.name} pid ${p.pid}`).join(', ')}`);

  const requestSubject = eventsSubject({ prefix }, ClusterRequested.channel);
  const requests: EventOf<typeof ClusterRequested>[] = Array.from({ length: CLUSTERS }, (_, index) =>
    createEvent(ClusterRequested, { subject: `bench-${String(index).padStart(5, '0')}`, source: '/bench/provisioning' }, { ...spec, name: `bench-${index}` }),
  );
  const cpuBefore = { postgres: cpuByCommand('postgres'), nats: cpuByCommand('nats-server'), services: new Map(processes.map((p) => [p.name, p.usage()?.cpuSeconds ?? 0])) };
  const loadAtStart = loadavg();

  // The clock starts at the first publish.
  const startedWall = Date.now();
  const started = performance.now();
  const requestedAt = new Map<string, number>();
  for (let index = 0; index < CLUSTERS; index += 100) {
    const chunk = requests.slice(index, index + 100);
    const at = Date.now();
    for (const event of chunk) requestedAt.set(event.subject, at);
    await Promise.all(chunk.map((event) => publishEvent(bus.js, requestSubject, event)));
  }
  const publishSeconds = (performance.now() - started) / 1000;
  log(`published ${CLUSTERS} ClusterRequested in ${publishSeconds.toFixed(2)} s`);

  const history: Progress[] = [];
  let lastPrint = 0;
  // Counts scan tables of the database being measured (every row, and the dead versions updates
  // leave; nothing vacuums the inventory's): the provisioner's are read at the progress interval
  // only, and so is the inventory's until the bus holds every ClusterReady, before which the
  // inventory cannot show every cluster Running. From then on it is read every POLL_MS.
  let allReadyOnBus = false;
  for (;;) {
    const elapsed = performance.now() - started;
    const progressDue = elapsed - lastPrint >= PROGRESS_MS;
    allReadyOnBus ||= (await countOnBus(bus, ClusterReady.channel)) >= CLUSTERS;
    if (progressDue || allReadyOnBus) {
      const progress = await poll(db, elapsed, progressDue ? 'all' : 'inventory', history.at(-1));
      history.push(progress);
      if (progress.inventoryRunning >= CLUSTERS) break;
      if (progress.inventoryFailed > 0) throw new Error(`${progress.inventoryFailed} cluster(s) Failed in the inventory: ${await failureSample(db)}`);
      if (progressDue) {
        lastPrint = elapsed;
        printProgress(progress, history, await inventoryPending(bus));
      }
    }
    const dead = processes.find((p) => !p.running);
    if (dead) throw new Error(`${dead.name} exited during the run:\n${dead.tail()}`);
    if (elapsed > TIMEOUT_MS) throw new Error(`only ${history.at(-1)?.inventoryRunning ?? 0} of ${CLUSTERS} clusters Running in the inventory after ${TIMEOUT_MS} ms`);
    await sleep(POLL_MS);
  }
  const last = history.at(-1)!;
  const seconds = last.at / 1000;
  const end = await poll(db, last.at, 'all');
  history[history.length - 1] = end;
  printProgress(end, history, await inventoryPending(bus));

  const loadAtEnd = loadavg();
  const cpuAfter = { postgres: cpuByCommand('postgres'), nats: cpuByCommand('nats-server') };
  const usage = new Map<string, ProcessUsage | undefined>(processes.map((p) => [p.name, p.usage()]));
  const inventoryMetrics = await Promise.all(processes.filter((p) => p.service === 'inventory').map((p) => p.metrics()));

  // Per-cluster time to Running: each row's updated_at, written when it became Running (nothing
  // changes a Running cluster afterwards in this flow), against when its request was published.
  const inventoryRows = await db.query<{ id: string; at: string; nodes: number }[]>(
    `SELECT id, (extract(epoch FROM updated_at) * 1000)::float8 AS at, node_count AS nodes FROM "${schemas.inventory}".clusters WHERE status = 'Running'`,
  );
  const provisionerRows = await db.query<{ id: string; at: string }[]>(
    `SELECT id, (extract(epoch FROM updated_at) * 1000)::float8 AS at FROM "${schemas.provisioner}".clusters WHERE phase = 'Running'`,
  );
  const [cloud] = await db.query<{ machines: number; calls: number; names: number }[]>(
    `SELECT count(*)::int AS machines, coalesce(sum(create_calls), 0)::int AS calls, count(DISTINCT (cluster_id, name))::int AS names FROM "${schemas.provisioner}".sim_machines`,
  );
  const [claims] = await db.query<{ claims: number }[]>(`SELECT coalesce(sum(claims), 0)::int AS claims FROM "${schemas.provisioner}".machines`);
  const readyEvents = await countOnBus(bus, ClusterReady.channel);
  const provisionerPhases = await provisionerTimeline(db, startedWall).catch((error: unknown) => ({ unavailable: error instanceof Error ? error.message : String(error) }));
  const inventoryTimes = toRunningSeconds(inventoryRows, requestedAt);
  const provisionerTimes = toRunningSeconds(provisionerRows, requestedAt);
  const provisionerLastRunning = provisionerRows.length > 0 ? (Math.max(...provisionerRows.map((row) => Number(row.at))) - startedWall) / 1000 : Number.NaN;

  const problems: string[] = [];
  if (inventoryRows.length !== CLUSTERS) problems.push(`${inventoryRows.length} of ${CLUSTERS} clusters Running in the inventory`);
  const short = inventoryRows.filter((row) => row.nodes !== CONTROL_PLANE + WORKERS).length;
  if (short > 0) problems.push(`${short} Running cluster(s) without ${CONTROL_PLANE + WORKERS} nodes in the inventory`);
  if (cloud?.machines !== MACHINES || cloud.calls !== MACHINES || cloud.names !== MACHINES) problems.push(`simulated cloud: ${JSON.stringify(cloud)}, expected ${MACHINES} machines each created once`);
  if (readyEvents !== CLUSTERS) problems.push(`${readyEvents} ClusterReady events on the bus, expected ${CLUSTERS}`);

  const inventoryConsumer = durableName('inventory', ALL_EVENTS);
  const sumOf = (name: string) => inventoryMetrics.reduce((sum, text) => sum + metricSum(text, name, { consumer: inventoryConsumer }), 0);
  const transactions = sumOf('flotilla_event_batch_size_count');
  const services = Object.fromEntries(
    processes.map((p) => {
      const used = usage.get(p.name);
      return [p.name, { peak_rss_mb: round(used?.peakRssMb ?? Number.NaN, 1), cpu_seconds: round((used?.cpuSeconds ?? Number.NaN) - (cpuBefore.services.get(p.name) ?? 0), 2) }];
    }),
  );
  const result = {
    benchmark: SCENARIO_NAME,
    timestamp: new Date(startedWall).toISOString(),
    clusters: CLUSTERS,
    machines: MACHINES,
    machines_per_cluster: CONTROL_PLANE + WORKERS,
    seconds_to_all_running: round(seconds, 2),
    target_seconds: TARGET_SECONDS,
    machines_per_s: round(MACHINES / seconds, 1),
    provisioner_peak_rss_mb: round(Math.max(...processes.filter((p) => p.name.startsWith('provisioner')).map((p) => usage.get(p.name)?.peakRssMb ?? Number.NaN)), 1),
    ...(TARGET_RSS_MB === undefined ? {} : { target_provisioner_peak_rss_mb: TARGET_RSS_MB }),
    clusters_per_s: round(CLUSTERS / seconds, 2),
    publish_seconds: round(publishSeconds, 2),
    inventory_time_to_running_s: summary(inventoryTimes),
    provisioner_time_to_running_s: summary(provisionerTimes),
    provisioner_all_running_s: round(provisionerLastRunning, 2),
    inventory_lag_s: round(seconds - provisionerLastRunning, 2),
    replicas: { provisioner: PROVISIONER_REPLICAS, inventory: INVENTORY_REPLICAS },
    services,
    inventory_projection: {
      events: round(sumOf('flotilla_events_consumed_total'), 0),
      transactions,
      mean_batch: round(sumOf('flotilla_event_batch_size_sum') / transactions, 1),
      seconds_in_transactions: round(sumOf('flotilla_event_handler_duration_seconds_sum'), 2),
    },
    provisioner_phases: provisionerPhases,
    provisioner_claims_per_machine: round((claims?.claims ?? Number.NaN) / MACHINES, 2),
    postgres_cpu_seconds: round(cpuSecondsBetween(cpuBefore.postgres, cpuAfter.postgres), 1),
    nats_cpu_seconds: round(cpuSecondsBetween(cpuBefore.nats, cpuAfter.nats), 1),
    load_average: { start: loadAtStart.map((v) => round(v, 2)), end: loadAtEnd.map((v) => round(v, 2)) },
    progress: sampleProgress(history),
    checks: problems.length === 0 ? 'ok' : problems,
    settings: { SIM_BOOT_MS: common.SIM_BOOT_MS, ...passThrough },
    method: 'ClusterRequested published on the bus at once; clock from the first publish until a count query on the inventory table shows all Running (polled every BENCH_POLL_MS once every ClusterReady is on the bus, every BENCH_PROGRESS_MS before)',
    node: process.version,
    nats_server: bus.nc.info?.version ?? 'unknown',
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
  };

  printSummary(result);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${SCENARIO_NAME}.json`);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  log(`written ${file}`);
  if (problems.length > 0) throw new Error(`checks failed: ${problems.join('; ')}`);
}

/** The inventory's counts; the provisioner's too when `what` is 'all' (else those of `previous`). */
async function poll(db: DataSource, at: number, what: 'all' | 'inventory', previous?: Progress): Promise<Progress> {
  const provisioner =
    what === 'all'
      ? `(SELECT count(*) FROM "${schemas.provisioner}".clusters WHERE phase = 'Running')::int AS clusters_running,
         (SELECT count(*) FROM "${schemas.provisioner}".machines WHERE phase = 'Running')::int AS machines_running`
      : `NULL::int AS clusters_running, NULL::int AS machines_running`;
  const [row] = await db.query<{ inventory_running: number; inventory_failed: number; clusters_running: number | null; machines_running: number | null }[]>(
    `SELECT (SELECT count(*) FROM "${schemas.inventory}".clusters WHERE status = 'Running')::int AS inventory_running,
            (SELECT count(*) FROM "${schemas.inventory}".clusters WHERE status = 'Failed')::int AS inventory_failed,
            ${provisioner}`,
  );
  return {
    at,
    inventoryRunning: row?.inventory_running ?? 0,
    inventoryFailed: row?.inventory_failed ?? 0,
    provisionerClustersRunning: row?.clusters_running ?? previous?.provisionerClustersRunning ?? 0,
    provisionerMachinesRunning: row?.machines_running ?? previous?.provisionerMachinesRunning ?? 0,
  };
}

/**
 * Where the provisioner's time went, read back from its tables (no instrumentation needed): when
 * its ClusterRequested transactions had recorded every cluster (clusters.created_at is the start
 * of the transaction that inserted it), and when the simulated cloud saw its first and last
 * create (sim_machines.created_at). After the last create, the rest is joining nodes and
 * recording them.
 */
async function provisionerTimeline(db: DataSource, startedWall: number) {
  const [row] = await db.query<{ transactions: number; requests_done: string; first_create: string; last_create: string }[]>(
    `SELECT (SELECT count(DISTINCT created_at) FROM "${schemas.provisioner}".clusters)::int AS transactions,
            (SELECT extract(epoch FROM max(created_at)) * 1000 FROM "${schemas.provisioner}".clusters)::float8 AS requests_done,
            (SELECT extract(epoch FROM min(created_at)) * 1000 FROM "${schemas.provisioner}".sim_machines)::float8 AS first_create,
            (SELECT extract(epoch FROM max(created_at)) * 1000 FROM "${schemas.provisioner}".sim_machines)::float8 AS last_create`,
  );
  const since = (at: string | undefined) => round((Number(at) - startedWall) / 1000, 2);
  const createSeconds = (Number(row?.last_create) - Number(row?.first_create)) / 1000;
  return {
    requests_recorded_s: since(row?.requests_done),
    request_transactions: row?.transactions ?? 0,
    first_create_s: since(row?.first_create),
    last_create_s: since(row?.last_create),
    creates_per_s: round(MACHINES / createSeconds, 1),
  };
}

async function failureSample(db: DataSource): Promise<string> {
  const rows = await db.query<{ id: string; reasons: unknown }[]>(`SELECT id, reasons FROM "${schemas.inventory}".clusters WHERE status = 'Failed' LIMIT 3`);
  return JSON.stringify(rows);
}

/** Events the inventory has not handled yet (pending plus delivered and unacked). */
async function inventoryPending(bus: BusConnection): Promise<number | undefined> {
  try {
    const info = await bus.jsm.consumers.info(streamName({ prefix }, 'events'), durableName('inventory', ALL_EVENTS));
    return info.num_pending + info.num_ack_pending;
  } catch {
    return undefined;
  }
}

async function countOnBus(bus: BusConnection, channel: string): Promise<number> {
  const subject = eventsSubject({ prefix }, channel);
  const info = await bus.jsm.streams.info(streamName({ prefix }, 'events'), { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

function toRunningSeconds(rows: { id: string; at: string }[], requestedAt: Map<string, number>): number[] {
  return rows
    .map((row) => {
      const requested = requestedAt.get(row.id);
      return requested === undefined ? Number.NaN : (Number(row.at) - requested) / 1000;
    })
    .filter((value) => Number.isFinite(value))
    .sort((a, b) => a - b);
}

function summary(sorted: number[]): { p50: number; p99: number; max: number } {
  return { p50: round(percentile(sorted, 50), 2), p99: round(percentile(sorted, 99), 2), max: round(sorted.at(-1) ?? Number.NaN, 2) };
}

/** About 20 evenly spaced samples of the progress, to see where the time went. */
function sampleProgress(history: Progress[]): { s: number; inventory_running: number; provisioner_clusters_running: number; provisioner_machines_running: number }[] {
  const step = Math.max(1, Math.floor(history.length / 20));
  return history
    .filter((_, index) => index % step === 0 || index === history.length - 1)
    .map((p) => ({ s: round(p.at / 1000, 2), inventory_running: p.inventoryRunning, provisioner_clusters_running: p.provisionerClustersRunning, provisioner_machines_running: p.provisionerMachinesRunning }));
}

function printProgress(progress: Progress, history: Progress[], pending: number | undefined): void {
  // At least two progress intervals: until every ClusterReady is on the bus, counts come only at that interval.
  const windowMs = Math.max(5_000, 2 * PROGRESS_MS);
  const windowStart = history.find((p) => p.at >= progress.at - windowMs) ?? history[0]!;
  const span = (progress.at - windowStart.at) / 1000;
  const rate = span > 0 ? (progress.inventoryRunning - windowStart.inventoryRunning) / span : 0;
  log(
    `${(progress.at / 1000).toFixed(1).padStart(6)} s  inventory Running ${String(progress.inventoryRunning).padStart(5)}/${CLUSTERS} (${rate.toFixed(1)}/s over ${windowMs / 1000} s)` +
      `  | provisioner: clusters Running ${progress.provisionerClustersRunning}, machines Running ${progress.provisionerMachinesRunning}/${MACHINES}` +
      `  | inventory pending ${pending ?? '?'}  | load ${loadText()}`,
  );
}

function printSummary(r: {
  seconds_to_all_running: number;
  machines_per_s: number;
  provisioner_peak_rss_mb: number;
  inventory_time_to_running_s: { p50: number; p99: number; max: number };
  provisioner_time_to_running_s: { p50: number; p99: number; max: number };
  provisioner_all_running_s: number;
  inventory_lag_s: number;
  provisioner_phases: Awaited<ReturnType<typeof provisionerTimeline>> | { unavailable: string };
  services: Record<string, { peak_rss_mb: number; cpu_seconds: number }>;
  inventory_projection: { events: number; transactions: number; mean_batch: number; seconds_in_transactions: number };
  postgres_cpu_seconds: number;
  nats_cpu_seconds: number;
  load_average: { start: number[]; end: number[] };
}): void {
  const rows: [string, string][] = [
    ['clusters / machines', `${CLUSTERS} / ${MACHINES}`],
    ['seconds_to_all_running', `${r.seconds_to_all_running.toFixed(2)} s (target <= ${TARGET_SECONDS})${r.seconds_to_all_running <= TARGET_SECONDS ? '' : '  ABOVE TARGET'}`],
    ['machines_per_s', r.machines_per_s.toFixed(1)],
    ['provisioner peak RSS', `${r.provisioner_peak_rss_mb} MB${TARGET_RSS_MB === undefined ? '' : ` (target <= ${TARGET_RSS_MB})${r.provisioner_peak_rss_mb <= TARGET_RSS_MB ? '' : '  ABOVE TARGET'}`}`],
    ['provisioner: all Running at', `${r.provisioner_all_running_s.toFixed(2)} s (inventory lag ${r.inventory_lag_s.toFixed(2)} s)`],
    ['provisioner phases', describePhases(r.provisioner_phases)],
    ['per cluster, inventory p50/p99', `${r.inventory_time_to_running_s.p50} / ${r.inventory_time_to_running_s.p99} s`],
    ['per cluster, provisioner p50/p99', `${r.provisioner_time_to_running_s.p50} / ${r.provisioner_time_to_running_s.p99} s`],
    ...Object.entries(r.services).map(([name, s]): [string, string] => [name, `peak RSS ${s.peak_rss_mb} MB, CPU ${s.cpu_seconds} s`]),
    [
      'inventory projection',
      `${r.inventory_projection.events} events in ${r.inventory_projection.transactions} tx (mean batch ${r.inventory_projection.mean_batch}), ${r.inventory_projection.seconds_in_transactions} s in tx`,
    ],
    ['postgres / nats CPU', `${r.postgres_cpu_seconds} s / ${r.nats_cpu_seconds} s (whole machine)`],
    ['load average start -> end', `${r.load_average.start.join(' ')} -> ${r.load_average.end.join(' ')}`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log('');
  console.log(`${SCENARIO_NAME} benchmark (${cpus().length} cores)`);
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
  console.log('');
}

function describePhases(phases: Awaited<ReturnType<typeof provisionerTimeline>> | { unavailable: string }): string {
  if ('unavailable' in phases) return `unavailable: ${phases.unavailable}`;
  return (
    `requests recorded at ${phases.requests_recorded_s} s (${phases.request_transactions} tx); ` +
    `machines created from ${phases.first_create_s} s to ${phases.last_create_s} s (${phases.creates_per_s}/s)`
  );
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
// Whatever a client library still holds open, the benchmark is over.
process.exit(process.exitCode ?? 0);
