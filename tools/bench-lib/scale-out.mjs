#!/usr/bin/env node
// Scale-out: does each service scale on its own? Runs the provisioning benchmark
// (services/provisioner/bench/provisioning.bench.ts, compiled) as a child process for 1, 2 and 3
// provisioner replicas (one inventory) and 1, 2 and 3 inventory replicas (one provisioner), in
// two modes, each run reading the child's JSON from a temporary BENCH_RESULTS_DIR:
//
//   latency  every call to the simulated provider answers after SIM_API_LATENCY_MS
//            (BENCH_SCALE_LATENCY_MS, 200), holding one of the replica's PROVIDER_CONCURRENCY
//            slots meanwhile, as a cloud's round trip does: a replica's ceiling is its slots over
//            the latency, and a second replica brings slots of its own
//   cpu      zero boot time: the services, PostgreSQL and NATS share the machine's cores
//
// End to end, the provisioner bounds the figure (the inventory keeps up with a tenth of its CPU),
// so inventory replicas cannot move it. A third mode measures the inventory alone:
//
//   inventory-only  services/provisioner/bench/inventory-backlog.bench.ts, once: the provisioner
//            provisions BENCH_SCALE_BACKLOG_CLUSTERS clusters (1000) with no inventory and stops;
//            its events are read back, and for 1, 2 and 3 inventory replicas (fresh streams and
//            schema, replicas ready first) published again; clock until the inbox holds them all.
//            Reported: events_per_s, speedup, CPU per process, cores_busy, the projection's
//            transactions and events handed back, transactions waiting on another's cluster lock
//            (sampled), the inbox.
//
// The one-replica run of each end-to-end mode is shared by both services (provisioner 1,
// inventory 1), so those two modes are 10 runs of the child. Sizes (BENCH_SCALE_CLUSTERS): 400 clusters of 13 machines
// (5,200 machines) per run in both modes, about 13 s of provisioning for one replica of each
// service on a quiet 2-core machine (the provisioning benchmark's 1,000 clusters take 31 s there)
// and 5 to 10 s more to start and stop the services: those modes in about 4 minutes there, and
// inventory-only a minute or two more (its provisioning of 1,000 clusters most; 17 minutes in all
// at load 10 to 15). On a machine busy with other work, every run is slower, the start of the services most.
// `cores_busy` is what the run's processes got of the machine; the load average says who else
// wanted it.
//
//   npm run bench -- scale-out     (writes bench/results/scale-out.json)
//
// Reported per mode, per service, per replica count: machines_per_s and clusters_per_s (until
// the inventory shows every cluster Running), the speedup of 2 and 3 replicas over 1 (target:
// two replicas >= 1.6x one), CPU seconds of every service process, of PostgreSQL and of NATS
// (every process of those commands on the machine: other users count too) and `cores_busy`
// (their sum over the run's seconds: near the machine's cores, the run was bound by them), the
// load average, and evidence that every event was handled once: the provisioner's claims per
// machine and the child's checks (every simulated machine created exactly once), and the
// inboxes read with SQL before the child drops its schemas: rows and distinct event ids per
// consumer, and for the inventory's all-events consumer the events emitted (the provisioner's
// and the inventory's outboxes) or requested (the provisioner's inbox) that it never handled, and
// the ids it handled that nobody emitted.
//
// How the inboxes are read: once the child's services are ready, this script holds ACCESS SHARE
// locks on both schemas' inbox and outbox tables in an open transaction (the services' writes are
// not blocked by it); the child's DROP SCHEMA at its cleanup waits for them, and once it does
// (or the child has exited), the tables are read and the transaction ends.
//
// Environment: BENCH_SCALE_MODES (latency,cpu,inventory-only), BENCH_SCALE_SERVICES (provisioner,inventory),
// BENCH_SCALE_REPLICAS (1,2,3), BENCH_SCALE_CLUSTERS (400), BENCH_SCALE_LATENCY_MS (200),
// BENCH_SCALE_BACKLOG_CLUSTERS (1000),
// BENCH_RESULTS_DIR (<repo>/bench/results), BENCH_TIMEOUT_MS (300000 per run), BENCH_DATABASE
// (flotilla_test), TEST_DATABASE_URL; anything else the provisioning benchmark reads
// (BENCH_WORKERS, RECONCILE_*, PROVIDER_*, ...) passes through to every run.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { durableName } from '@flotilla/contracts';
import pg from 'pg';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const CHILD = join(root, 'services/provisioner/dist/bench/provisioning.bench.js');
const BACKLOG_CHILD = join(root, 'services/provisioner/dist/bench/inventory-backlog.bench.js');
/** The mode that measures the inventory alone, on a backlog of recorded events. */
const INVENTORY_ONLY = 'inventory-only';
const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? join(root, 'bench/results');
const MODES = list('BENCH_SCALE_MODES', `latency,cpu,${INVENTORY_ONLY}`, ['latency', 'cpu', INVENTORY_ONLY]);
const SERVICES = list('BENCH_SCALE_SERVICES', 'provisioner,inventory', ['provisioner', 'inventory']);
const REPLICAS = list('BENCH_SCALE_REPLICAS', '1,2,3').map(Number);
const CLUSTERS = positive('BENCH_SCALE_CLUSTERS', 400);
const LATENCY_MS = positive('BENCH_SCALE_LATENCY_MS', 200);
const BACKLOG_CLUSTERS = positive('BENCH_SCALE_BACKLOG_CLUSTERS', 1000);
/** Three control planes and BENCH_WORKERS workers, as the provisioning benchmark makes them. */
const MACHINES_PER_CLUSTER = 3 + positive('BENCH_WORKERS', 10);
const TIMEOUT_MS = positive('BENCH_TIMEOUT_MS', 300_000);
const DATABASE = process.env.BENCH_DATABASE || 'flotilla_test';
const DATABASE_URL = (() => {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${DATABASE}`;
  return url.toString();
})();
/** The inventory's consumer of every event (the durable its replicas share). */
const INVENTORY_ALL = durableName('inventory', '>');
const TARGET_SPEEDUP = 1.6;
if (REPLICAS.some((n) => !Number.isInteger(n) || n < 1) || !REPLICAS.includes(1)) throw new Error('BENCH_SCALE_REPLICAS: whole numbers >= 1, including 1');

let current; // the child running now, stopped on SIGINT/SIGTERM
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping the run in progress`);
    current?.kill('SIGTERM');
    setTimeout(() => process.exit(130), 60_000).unref();
  });
}

/** One run of the provisioning benchmark; what this benchmark keeps of it. */
async function measure(mode, latencyMs, provisioners, inventories) {
  const label = `${mode} p${provisioners} i${inventories}`;
  const dir = mkdtempSync(join(tmpdir(), 'scale-out-'));
  log(`${label}: ${CLUSTERS} clusters, SIM_API_LATENCY_MS ${latencyMs}, load ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const env = {
    ...process.env,
    BENCH_SCENARIO: 'provisioning',
    BENCH_RESULTS_DIR: dir,
    BENCH_CLUSTERS: String(CLUSTERS),
    BENCH_PROVISIONER_REPLICAS: String(provisioners),
    BENCH_INVENTORY_REPLICAS: String(inventories),
    BENCH_TIMEOUT_MS: String(TIMEOUT_MS),
    SIM_BOOT_MS: '0',
    SIM_API_LATENCY_MS: String(latencyMs),
  };
  const child = spawn(process.execPath, ['--enable-source-maps', CHILD], { cwd: root, env, stdio: ['ignore', 'inherit', 'pipe'] });
  current = child;
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit(code ?? signal)));
  const inboxes = new InboxWatch(exited);
  const lines = createInterface({ input: child.stderr });
  lines.on('line', (line) => {
    process.stderr.write(`[${label}] ${line}\n`);
    const prefix = /; prefix bprov([0-9a-f]+);/.exec(line);
    if (prefix) inboxes.schemas = { provisioner: `bench_provisioner_${prefix[1]}`, inventory: `bench_inventory_${prefix[1]}` };
    if (line.includes('services ready:')) inboxes.hold();
    // The child's cleanup comes next: from now on, look for its DROP SCHEMA waiting.
    if (/^\[bench\] written |^benchmark failed|: cleaning up$/.test(line)) inboxes.finishing = true;
  });
  const status = await exited;
  current = undefined;
  const inbox = await inboxes.result().catch((error) => ({ unavailable: error instanceof Error ? error.message : String(error) }));
  let run;
  try {
    run = JSON.parse(readFileSync(join(dir, 'provisioning.json'), 'utf8'));
  } catch {
    rmSync(dir, { recursive: true, force: true });
    log(`${label}: the run failed (exit ${status}) and wrote no result`);
    return { machines_per_s: Number.NaN, machines: CLUSTERS * MACHINES_PER_CLUSTER, checks: [`run failed (exit ${status}), no result`], inbox };
  }
  rmSync(dir, { recursive: true, force: true });
  return summarise(run, inbox, status);
}

/** What one run says about throughput, where the CPU went, and whether each event was handled once. */
function summarise(run, inbox, status) {
  const serviceCpu = Object.values(run.services).reduce((sum, s) => sum + s.cpu_seconds, 0);
  const cpuTotal = serviceCpu + run.postgres_cpu_seconds + run.nats_cpu_seconds;
  const checks = [...(run.checks === 'ok' ? [] : run.checks), ...inboxProblems(inbox)];
  if (status !== 0 && checks.length === 0) checks.push(`exit ${status}`);
  return {
    machines: run.machines,
    seconds_to_all_running: run.seconds_to_all_running,
    machines_per_s: run.machines_per_s,
    clusters_per_s: run.clusters_per_s,
    provisioner_all_running_s: run.provisioner_all_running_s,
    inventory_lag_s: run.inventory_lag_s,
    cpu_seconds: {
      ...Object.fromEntries(Object.entries(run.services).map(([name, s]) => [name, s.cpu_seconds])),
      postgres: run.postgres_cpu_seconds,
      nats: run.nats_cpu_seconds,
    },
    peak_rss_mb: Object.fromEntries(Object.entries(run.services).map(([name, s]) => [name, s.peak_rss_mb])),
    cores_busy: round(cpuTotal / run.seconds_to_all_running, 2),
    load_average: run.load_average,
    handled_once: {
      provisioner_claims_per_machine: run.provisioner_claims_per_machine,
      inbox,
    },
    checks: checks.length === 0 ? 'ok' : checks,
  };
}

function inboxProblems(inbox) {
  if (inbox.unavailable) return [`inboxes not read: ${inbox.unavailable}`];
  const problems = [];
  for (const [consumer, { rows, ids }] of Object.entries(inbox.consumers)) if (rows !== ids) problems.push(`${consumer}: ${rows} inbox rows for ${ids} event ids`);
  if (inbox.inventory_unexplained > 0) problems.push(`${inbox.inventory_unexplained} event id(s) in the inventory's inbox that nobody emitted`);
  return problems;
}

/**
 * Keeps a run's inbox and outbox tables readable after the run: locks them (ACCESS SHARE, which
 * the services' inserts and updates do not wait for) once the services have made them, so the
 * child's DROP SCHEMA waits until they have been read.
 */
class InboxWatch {
  schemas;
  client;
  held;
  reading;
  /** Set when the child has its result: its cleanup (and DROP SCHEMA) follows. */
  finishing = false;

  constructor(exited) {
    this.exited = exited;
  }

  /** Takes the locks and starts watching for the child's cleanup (it reads while the child waits). */
  hold() {
    if (!this.schemas || this.held) return;
    this.held = (async () => {
      const client = new pg.Client({ connectionString: DATABASE_URL, application_name: 'scale-out-bench' });
      await client.connect();
      this.client = client;
      await client.query('BEGIN');
      await client.query(`LOCK TABLE ${this.tables().join(', ')} IN ACCESS SHARE MODE`);
    })();
    this.reading = this.read();
    // Reported by result(); never an unhandled rejection meanwhile.
    this.reading.catch(() => undefined);
  }

  /** What read() found, once the child has exited. */
  async result() {
    if (!this.reading) throw new Error('the services never became ready');
    return this.reading;
  }

  tables() {
    return Object.values(this.schemas).flatMap((schema) => [`"${schema}".inbox`, `"${schema}".outbox`]);
  }

  /** Waits until the child's cleanup waits for the locks (or the child is gone), reads the tables, lets the cleanup go on. */
  async read() {
    try {
      await this.held;
      const client = this.client;
      let gone = false;
      void this.exited.then(() => (gone = true));
      const { rows: [{ pid }] } = await client.query('SELECT pg_backend_pid() AS pid');
      for (;;) {
        if (gone) break;
        if (!this.finishing) {
          await new Promise((resolveSleep) => setTimeout(resolveSleep, 250));
          continue;
        }
        const { rows: [{ waiting }] } = await client.query('SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))', [pid]);
        if (waiting > 0) break;
        await new Promise((resolveSleep) => setTimeout(resolveSleep, 100));
      }
      return await this.query(client);
    } finally {
      await this.client?.query('COMMIT').catch(() => undefined);
      // Only once the child has exited (its cleanup first needs the locks just released).
      await this.dropLeftovers();
      await this.client?.end().catch(() => undefined);
    }
  }

  async query(client) {
    const { provisioner: p, inventory: i } = this.schemas;
    const consumers = {};
    for (const schema of [p, i]) {
      const { rows } = await client.query(`SELECT consumer, count(*)::int AS rows, count(DISTINCT event_id)::int AS ids FROM "${schema}".inbox GROUP BY consumer ORDER BY consumer`);
      for (const row of rows) consumers[row.consumer] = { rows: row.rows, ids: row.ids };
    }
    const cross = `WITH emitted AS (SELECT event_id, subject, published_at IS NOT NULL AS published FROM "${p}".outbox
                                    UNION ALL SELECT event_id, subject, published_at IS NOT NULL FROM "${i}".outbox),
                       requested AS (SELECT DISTINCT event_id FROM "${p}".inbox),
                       handled AS (SELECT event_id FROM "${i}".inbox WHERE consumer = $1)`;
    const {
      rows: [counts],
    } = await client.query(
      `${cross}
       SELECT (SELECT count(*) FROM emitted)::int AS emitted,
              (SELECT count(*) FROM emitted WHERE NOT published)::int AS unpublished,
              (SELECT count(*) FROM requested)::int AS requested,
              (SELECT count(*) FROM (SELECT event_id FROM emitted WHERE published UNION SELECT event_id FROM requested) e
                WHERE NOT EXISTS (SELECT 1 FROM handled h WHERE h.event_id = e.event_id))::int AS missing,
              (SELECT count(*) FROM handled h WHERE NOT EXISTS (SELECT 1 FROM emitted e WHERE e.event_id = h.event_id)
                AND NOT EXISTS (SELECT 1 FROM requested r WHERE r.event_id = h.event_id))::int AS unexplained`,
      [INVENTORY_ALL],
    );
    // Events published after the inventory showed every cluster Running may be unhandled when the run stops: by subject, to tell.
    const { rows: missing } = await client.query(
      `${cross}
       SELECT regexp_replace(subject, '^[^.]*\\.', '') AS subject, count(*)::int AS n FROM emitted e
        WHERE published AND NOT EXISTS (SELECT 1 FROM handled h WHERE h.event_id = e.event_id) GROUP BY 1 ORDER BY 2 DESC LIMIT 10`,
      [INVENTORY_ALL],
    );
    return {
      consumers,
      inventory_consumer: INVENTORY_ALL,
      events_emitted: counts.emitted,
      events_unpublished: counts.unpublished,
      events_requested: counts.requested,
      inventory_not_handled: counts.missing,
      inventory_not_handled_by_subject: Object.fromEntries(missing.map((row) => [row.subject, row.n])),
      inventory_unexplained: counts.unexplained,
    };
  }

  /** A child killed before its cleanup leaves its schemas: they were made for the run alone. */
  async dropLeftovers() {
    if (!this.client || !this.schemas) return;
    await this.exited;
    const { rows } = await this.client.query('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])', [Object.values(this.schemas)]).catch(() => ({ rows: [] }));
    for (const { nspname } of rows) await this.client.query(`DROP SCHEMA IF EXISTS "${nspname}" CASCADE`).catch(() => undefined);
  }
}

/**
 * The inventory-only mode: one run of the backlog benchmark (its child provisions once, then
 * drains the same recorded events with each replica count); what this benchmark keeps of it.
 */
async function inventoryOnly() {
  const dir = mkdtempSync(join(tmpdir(), 'scale-out-'));
  log(`${INVENTORY_ONLY}: the events of ${BACKLOG_CLUSTERS} clusters' provisioning, inventory x${REPLICAS.join(', x')}, load ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const env = {
    ...process.env,
    BENCH_RESULTS_DIR: dir,
    BENCH_CLUSTERS: String(BACKLOG_CLUSTERS),
    BENCH_BACKLOG_REPLICAS: REPLICAS.join(','),
    BENCH_TIMEOUT_MS: String(TIMEOUT_MS),
  };
  const child = spawn(process.execPath, ['--enable-source-maps', BACKLOG_CHILD], { cwd: root, env, stdio: ['ignore', 'inherit', 'pipe'] });
  current = child;
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit(code ?? signal)));
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`[${INVENTORY_ONLY}] ${line}\n`));
  const status = await exited;
  current = undefined;
  let backlog;
  try {
    backlog = JSON.parse(readFileSync(join(dir, 'inventory-backlog.json'), 'utf8'));
  } catch {
    log(`${INVENTORY_ONLY}: the run failed (exit ${status}) and wrote no result`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const failed = { events_per_s: Number.NaN, cores_busy: Number.NaN, checks: [`run failed (exit ${status}), no result`] };
  const byCount = Object.fromEntries(REPLICAS.map((n) => [n, backlog?.runs[n] ? summariseBacklogRun(backlog.runs[n]) : failed]));
  const speedup = Object.fromEntries(REPLICAS.filter((n) => n !== 1).map((n) => [n, round(byCount[n].events_per_s / byCount[1].events_per_s, 2)]));
  return {
    sim_api_latency_ms: 0,
    clusters: BACKLOG_CLUSTERS,
    machines: backlog ? BACKLOG_CLUSTERS * backlog.machines_per_cluster : Number.NaN,
    events: backlog?.backlog.events ?? Number.NaN,
    events_by_subject: backlog?.backlog.events_by_subject,
    provisioning_seconds: backlog?.backlog.provisioning_seconds,
    inventory: { events_per_s: mapValues(byCount, (run) => run.events_per_s), speedup, meets_target: speedup[2] === undefined ? null : speedup[2] >= TARGET_SPEEDUP, runs: byCount },
  };
}

/** One replica count of the backlog run, in the shape of the other modes' runs. */
function summariseBacklogRun(run) {
  const serviceCpu = Object.values(run.services).reduce((sum, s) => sum + s.cpu_seconds, 0);
  const cpuTotal = serviceCpu + run.postgres_cpu_seconds + run.nats_cpu_seconds;
  const checks = [...(run.checks === 'ok' ? [] : run.checks)];
  return {
    events: run.events,
    seconds_to_all_handled: run.seconds,
    events_per_s: run.events_per_s,
    publish_seconds: run.publish_seconds,
    replicas_start_seconds: run.start_seconds,
    cpu_seconds: {
      ...Object.fromEntries(Object.entries(run.services).map(([name, s]) => [name, s.cpu_seconds])),
      postgres: run.postgres_cpu_seconds,
      nats: run.nats_cpu_seconds,
    },
    peak_rss_mb: Object.fromEntries(Object.entries(run.services).map(([name, s]) => [name, s.peak_rss_mb])),
    cores_busy: round(cpuTotal / run.seconds, 2),
    projection: run.projection,
    advisory_lock_waits: run.advisory_lock_waits,
    load_average: run.load_average,
    handled_once: { inbox: run.inbox },
    checks: checks.length === 0 ? 'ok' : checks,
  };
}

function printSummary(r) {
  console.log(`\nscale-out benchmark (${r.cpus} cores; load ${r.load_average.start.join(' ')} -> ${r.load_average.end.join(' ')}; ${r.seconds} s)`);
  for (const [mode, m] of Object.entries(r.modes)) {
    const inventoryOnlyMode = mode === INVENTORY_ONLY;
    const size = inventoryOnlyMode ? `${m.events} events of ${m.clusters} clusters` : `${m.clusters} clusters, ${m.machines} machines`;
    console.log(`  ${mode} (SIM_API_LATENCY_MS ${m.sim_api_latency_ms}, ${size})`);
    for (const service of inventoryOnlyMode ? ['inventory'] : SERVICES) {
      const s = m[service];
      const figures = REPLICAS.map((n) => {
        const run = s.runs[n];
        const throughput = inventoryOnlyMode ? `${run.events_per_s} events/s` : `${run.machines_per_s} machines/s`;
        return `x${n} ${throughput} (cores busy ${run.cores_busy}${run.checks === 'ok' ? '' : ', CHECKS FAILED'})`;
      }).join(', ');
      const speedups = Object.entries(s.speedup).map(([n, x]) => `x${n}: ${x}`).join(', ');
      console.log(`    ${service.padEnd(11)} ${figures}; speedup ${speedups}${s.meets_target === false ? '  BELOW TARGET' : ''}`);
    }
  }
  console.log('');
}

function list(name, fallback, allowed) {
  const values = (process.env[name] || fallback).split(',').map((v) => v.trim()).filter(Boolean);
  const wrong = allowed ? values.filter((v) => !allowed.includes(v)) : [];
  if (wrong.length > 0) throw new Error(`${name}: ${wrong.join(', ')} not among ${allowed.join(', ')}`);
  return values;
}

function positive(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return value;
}

function mapValues(object, fn) {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, fn(value)]));
}

function round(value, digits = 0) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function log(message) {
  console.error(`[scale-out] ${message}`);
}

/** A latency or cpu mode: the provisioning benchmark end to end for each service's replica counts. */
async function endToEnd(mode) {
  const latencyMs = mode === 'latency' ? LATENCY_MS : 0;
  // The shared one-replica run first; then each service's counts alternate, so a change of load
  // during the mode spreads over both services rather than landing on one.
  const runs = new Map([['1/1', await measure(mode, latencyMs, 1, 1)]]);
  for (const n of REPLICAS.filter((count) => count !== 1)) {
    for (const service of SERVICES) {
      const [provisioners, inventories] = service === 'provisioner' ? [n, 1] : [1, n];
      runs.set(`${provisioners}/${inventories}`, await measure(mode, latencyMs, provisioners, inventories));
    }
  }
  const base = runs.get('1/1');
  return {
    sim_api_latency_ms: latencyMs,
    clusters: CLUSTERS,
    machines: base.machines,
    ...Object.fromEntries(
      SERVICES.map((service) => {
        const byCount = Object.fromEntries(REPLICAS.map((n) => [n, runs.get(service === 'provisioner' ? `${n}/1` : `1/${n}`)]));
        const speedup = Object.fromEntries(REPLICAS.filter((n) => n !== 1).map((n) => [n, round(byCount[n].machines_per_s / base.machines_per_s, 2)]));
        return [service, { machines_per_s: mapValues(byCount, (run) => run.machines_per_s), speedup, meets_target: speedup[2] === undefined ? null : speedup[2] >= TARGET_SPEEDUP, runs: byCount }];
      }),
    ),
  };
}

/** Every run, then the result file; returns how many runs failed their checks. */
async function main() {
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const modes = {};
  for (const mode of MODES) modes[mode] = mode === INVENTORY_ONLY ? await inventoryOnly() : await endToEnd(mode);
  // A Set: the one-replica run of an end-to-end mode is both services' first.
  const allRuns = new Set(Object.values(modes).flatMap((m) => ['provisioner', 'inventory'].flatMap((service) => Object.values(m[service]?.runs ?? {}))));
  const failures = [...allRuns].filter((run) => run.checks !== 'ok').length;

  const result = {
    benchmark: 'scale-out',
    timestamp: startedAt.toISOString(),
    target: `two replicas >= ${TARGET_SPEEDUP}x the machines_per_s (${INVENTORY_ONLY}: events_per_s) of one`,
    sizes: { clusters: CLUSTERS, replicas: REPLICAS, latency_ms: LATENCY_MS, backlog_clusters: BACKLOG_CLUSTERS },
    modes,
    load_average: { start: loadAtStart.map((v) => round(v, 2)), end: loadavg().map((v) => round(v, 2)) },
    method:
      'each run is `provisioning` (services/provisioner/bench/provisioning.bench.ts) as a child process: ClusterRequested published at once, clock until the inventory shows all Running; ' +
      `${INVENTORY_ONLY}: one run of services/provisioner/bench/inventory-backlog.bench.ts, the provisioner's events of every cluster recorded once, then published again to each replica count once its replicas are ready, clock until their inbox holds every event; ` +
      'speedup = machines_per_s (events_per_s) of n replicas / that of 1; cores_busy = CPU seconds of the services, PostgreSQL and NATS / wall seconds',
    seconds: round((Date.now() - startedAt.getTime()) / 1000, 1),
    node: process.version,
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
  };
  printSummary(result);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'scale-out.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  log(`written ${file}`);
  return failures;
}

process.exit((await main()) > 0 ? 1 : 0);
