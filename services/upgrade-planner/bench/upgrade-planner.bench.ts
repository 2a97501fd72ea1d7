// The planning the upgrade planner runs, on a fleet of 100,000 clusters: fleet view entries (as
// read from fleet_clusters) -> planner input (toFleetCluster, FleetSnapshot) -> plan
// (planRevision, the function behind every plan request and recompute). No database or bus:
// this is the CPU and memory of planning, which is what grows with the fleet.
//
//   npm run bench -- upgrade-planner
//   (or: npx tsc -b services/upgrade-planner/tsconfig.bench.json &&
//        node --enable-source-maps services/upgrade-planner/dist/bench/upgrade-planner.bench.js)
//
// Measured, each over BENCH_RUNS runs per upgrade edge, after changing 1% of the fleet and adding
// a cluster (so the sorted planner input is rebuilt, as after real facts):
//   plan_ms        snapshot.clusters() + planGlobalUpgrade: the slowest edge's median (target <= 1000)
//   recompute_ms   the same plus diffPlans against the previous revision and the UpgradePlanned mapping
//   view_load_ms   building the fleet view from every entry (what a replica does once, at start)
//   replan_one_change_ms  one cluster's version changes: the plan service's path (KeptPlan.revise): the
//                  fleet view names the changed id, FleetPlanner.update re-plans that cluster and
//                  refills the waves, and the changes against the previous revision are listed
//                  (median over REPLAN_RUNS, slowest edge; target <= 20)
//   peak_rss_mb    the measuring process's peak resident set (target <= 512)
// The measuring runs in a child process with the heap budget the service runs with
// (SERVICE_HEAP_MB, as in its start script); a second child without it records what V8's default
// heap sizing gives (default_heap), since V8 lets garbage pile up towards a far larger limit.
// Environment: BENCH_CLUSTERS (100000), BENCH_RUNS (5), BENCH_RESULTS_DIR (<repo>/bench/results).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSupportMatrix, type ClusterModel, type UpgradePlan } from '@flotilla/contracts';
import { toFleetCluster, type FleetEntry, type FleetNode } from '../src/domain/fleet-entry.js';
import { FleetSnapshot } from '../src/domain/fleet-snapshot.js';
import { KeptPlan, planRevision, type PlanParameters } from '../src/domain/plan-revision.js';
import { toUpgradePlannedData } from '../src/domain/planned-event.js';

const CLUSTERS = envNumber('BENCH_CLUSTERS', 100_000);
const RUNS = envNumber('BENCH_RUNS', 5);
const RESULTS_DIR = process.env['BENCH_RESULTS_DIR'] ?? fileURLToPath(new URL('../../../../bench/results/', import.meta.url));
const TARGETS = { plan_ms: 1_000, peak_rss_mb: 512, replan_one_change_ms: 20 };
const REPLAN_RUNS = 25;
/** The old-space budget the service runs with (package.json start script, README). */
const SERVICE_HEAP_MB = 384;
const EDGES: [string, string][] = [
  ['4.2', '4.3'],
  ['4.0', '4.3'],
  ['4.1', '4.2'],
  ['4.0', '4.1'],
];

const MODELS: ClusterModel[] = ['platform-provisioned', 'user-provisioned', 'hosted-control-plane', 'connected'];
const DISTRIBUTIONS = ['eks', 'aks', 'gke', 'k3s', 'rke2', 'vanilla'];
const SUFFIX: Record<string, string[]> = { eks: ['-eks-113cf36'], aks: [''], gke: ['-gke.1234000'], k3s: ['+k3s1'], rke2: ['+rke2r1'], vanilla: [''] };

/** mulberry32: a deterministic fleet, so runs on one machine are comparable. */
function random(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Cluster `index` of the synthetic fleet as its fleet_clusters row decodes; `epoch` > 0 gives the
 * same cluster after facts moved it on (its control plane and nodes one minor newer).
 */
function entry(index: number, epoch = 0): FleetEntry {
  const next = random(index * 7919 + 17);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const model = pick(MODELS);
  const distribution = model === 'connected' ? pick(DISTRIBUTIONS) : null;
  const suffix = distribution === null ? '' : pick(SUFFIX[distribution]!);
  const minor = Math.min(34, 27 + Math.floor(next() * 8) + epoch); // 1.27 .. 1.34
  const version = (m: number) => `v1.${m}.${Math.floor(next() * 15)}${suffix}`;
  const time = new Date(Date.UTC(2026, 10, 23) + index).toISOString();
  const nodes: FleetNode[] = [];
  if (model === 'platform-provisioned' || model === 'user-provisioned') {
    for (let n = 0; n < 3; n++) nodes.push({ name: `c${index}-cp-${n}`, role: 'control-plane', pool: null, kubeletVersion: version(minor), time, removed: false });
  }
  if (model !== 'connected') {
    for (let p = 0, pools = 1 + Math.floor(next() * 3); p < pools; p++) {
      const poolMinor = minor - Math.floor(next() * 5);
      for (let n = 0, count = 1 + Math.floor(next() * 3); n < count; n++) {
        // Now and then a pool mid-roll: one node a minor ahead of the rest.
        const kubelet = n === 0 && next() < 0.05 ? Math.min(minor, poolMinor + 1) : poolMinor;
        nodes.push({ name: `c${index}-p${p}-${n}`, role: 'worker', pool: `pool-${p}`, kubeletVersion: version(kubelet), time, removed: false });
      }
    }
  }
  const state = next();
  return {
    id: `cluster-${String(index).padStart(6, '0')}`,
    model,
    distribution,
    // 1% still provisioning (no version reported yet), 1% deleted.
    controlPlaneVersion: state < 0.01 ? null : version(minor),
    versionTime: time,
    nodes,
    upgraded: null,
    deletedAt: state > 0.99 ? time : null,
    lastEventTime: time,
  };
}

let consumed = 0;
/** Keeps a result observable without keeping it alive (the service stores and drops it). */
function consume(plan: UpgradePlan): void {
  consumed += plan.clusters.length;
}

/** Rows arrive from PostgreSQL as freshly decoded JSON, not as objects sharing strings. */
const decoded = (value: FleetEntry): FleetEntry => JSON.parse(JSON.stringify(value)) as FleetEntry;

/** One measurement, in this process; returns the figures. */
function measure(): Measurement {
  log(`building the fleet view: ${CLUSTERS} clusters`);
  const snapshot = new FleetSnapshot();
  const loadStarted = performance.now();
  // The service reads the table in pages; entries are never all in memory at once.
  for (let index = 0; index < CLUSTERS; index++) {
    const row = decoded(entry(index));
    snapshot.apply(row.id, toFleetCluster(row));
  }
  const viewLoadMs = performance.now() - loadStarted;
  log(`fleet view: ${snapshot.size} plannable clusters in ${viewLoadMs.toFixed(0)} ms; peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);

  const changeRandom = random(99);
  let added = CLUSTERS;
  /** 1% of the fleet moves on a minor, and one cluster joins: what a busy second of facts does. */
  const churn = () => {
    for (let i = 0; i < CLUSTERS / 100; i++) {
      const index = Math.floor(changeRandom() * CLUSTERS);
      const row = decoded(entry(index, 1));
      snapshot.apply(row.id, toFleetCluster(row));
    }
    const row = decoded(entry(added++));
    snapshot.apply(row.id, toFleetCluster(row));
  };

  const edges: Record<string, { min: number; median: number; max: number; recompute_median: number; recompute_changes: number }> = {};
  let plan: UpgradePlan | undefined;
  let eventListed = 0;
  let changeCount = 0;
  for (const [fromRelease, toRelease] of EDGES) {
    const parameters: PlanParameters = { fromRelease, toRelease, maxConcurrency: 25 };
    // Like the service, which keeps the last revision of each open plan and nothing more.
    plan = undefined;
    let previous = planRevision({ fleet: snapshot.clusters(), parameters, matrix: defaultSupportMatrix }).plan;
    const planTimes: number[] = [];
    const recomputeTimes: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      churn();
      // A request: fleet view -> planner input -> plan.
      let started = performance.now();
      const requested = planRevision({ fleet: snapshot.clusters(), parameters, matrix: defaultSupportMatrix }).plan;
      planTimes.push(performance.now() - started);
      consume(requested);

      churn();
      // A recompute: the same, the changes against the previous revision, and the event.
      started = performance.now();
      const revision = planRevision({ fleet: snapshot.clusters(), parameters, matrix: defaultSupportMatrix, previous });
      const draft = toUpgradePlannedData({ ...revision, revision: run + 2 }, { maxBytes: 200_000, planHref: '/api/v1/upgrade-plans/bench' });
      recomputeTimes.push(performance.now() - started);
      previous = revision.plan;
      eventListed = draft.listedClusters;
      changeCount = revision.changes.length;
    }
    const sorted = [...planTimes].sort((a, b) => a - b);
    edges[`${fromRelease}->${toRelease}`] = {
      min: round(sorted[0]!),
      median: round(median(planTimes)),
      max: round(sorted.at(-1)!),
      recompute_median: round(median(recomputeTimes)),
      recompute_changes: changeCount,
    };
    plan = previous;
    log(`${fromRelease} -> ${toRelease}: plan median ${median(planTimes).toFixed(1)} ms (min ${sorted[0]!.toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)}), recompute median ${median(recomputeTimes).toFixed(1)} ms; peak RSS so far ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
  }

  // One fact changes one cluster's version: the plan is updated, not recomputed.
  const replan: Record<string, { median: number; max: number; full_plan_ms: number; changes_median: number }> = {};
  for (const [fromRelease, toRelease] of EDGES) {
    const parameters: PlanParameters = { fromRelease, toRelease, maxConcurrency: 25 };
    const kept = new KeptPlan();
    let started = performance.now();
    let current = kept.revise(snapshot, parameters, defaultSupportMatrix).plan;
    const fullMs = performance.now() - started;
    const times: number[] = [];
    const changeCounts: number[] = [];
    for (let run = 0; run < REPLAN_RUNS; run++) {
      const index = Math.floor(changeRandom() * CLUSTERS);
      const row = decoded(entry(index, 1 + (run % 3)));
      if (!snapshot.apply(row.id, toFleetCluster(row))) continue;
      started = performance.now();
      const revised = kept.revise(snapshot, parameters, defaultSupportMatrix, current);
      times.push(performance.now() - started);
      if (!revised.incremental) throw new Error('one change planned the whole fleet again');
      changeCounts.push(revised.changes.length);
      current = revised.plan;
    }
    consume(current);
    replan[`${fromRelease}->${toRelease}`] = { median: round(median(times)), max: round(Math.max(...times)), full_plan_ms: round(fullMs), changes_median: median(changeCounts) };
    log(`${fromRelease} -> ${toRelease}: replan after one change median ${median(times).toFixed(1)} ms (max ${Math.max(...times).toFixed(1)}) over ${times.length} changes`);
  }

  // A revision is stored whole (jsonb): how big that is, and what serialising it costs.
  const jsonStarted = performance.now();
  const stored = JSON.stringify(plan);
  const storeJsonMs = performance.now() - jsonStarted;

  return {
    plannable_clusters: snapshot.size,
    plan_ms: round(Math.max(...Object.values(edges).map((edge) => edge.median))),
    recompute_ms: round(Math.max(...Object.values(edges).map((edge) => edge.recompute_median))),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    view_load_ms: Math.round(viewLoadMs),
    replan_one_change_ms: round(Math.max(...Object.values(replan).map((edge) => edge.median))),
    replan,
    edges,
    stored_plan_mb: round(Buffer.byteLength(stored) / 1024 ** 2),
    store_json_ms: round(storeJsonMs),
    event_clusters_listed: eventListed,
    clusters_planned_total: consumed,
    last_plan_summary: plan?.summary,
  };
}

interface Measurement {
  plannable_clusters: number;
  plan_ms: number;
  recompute_ms: number;
  peak_rss_mb: number;
  view_load_ms: number;
  replan_one_change_ms: number;
  replan: Record<string, unknown>;
  edges: Record<string, unknown>;
  stored_plan_mb: number;
  store_json_ms: number;
  event_clusters_listed: number;
  clusters_planned_total: number;
  last_plan_summary: UpgradePlan['summary'] | undefined;
}

/** Runs the measurement in a child with these node flags; its figures come back through a file. */
function child(flags: string[], label: string): Measurement {
  const dir = mkdtempSync(join(tmpdir(), 'upgrade-planner-bench-'));
  const out = join(dir, 'measurement.json');
  try {
    log(`measuring (${label})`);
    const run = spawnSync(process.execPath, [...flags, '--enable-source-maps', fileURLToPath(import.meta.url)], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_MEASUREMENT_FILE: out },
    });
    if (run.status !== 0) throw new Error(`measurement (${label}) exited with ${run.status ?? run.signal}`);
    return JSON.parse(readFileSync(out, 'utf8')) as Measurement;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const flags = [`--max-old-space-size=${SERVICE_HEAP_MB}`];
  const service = child(flags, `service heap budget: ${flags.join(' ')}`);
  const unbounded = child([], 'V8 default heap sizing');
  const { plan_ms, peak_rss_mb, replan_one_change_ms, ...details } = service;
  const result = {
    bench: 'upgrade-planner',
    clusters: CLUSTERS,
    plan_ms,
    peak_rss_mb,
    replan_one_change_ms,
    targets: TARGETS,
    meets_targets: plan_ms <= TARGETS.plan_ms && peak_rss_mb <= TARGETS.peak_rss_mb && replan_one_change_ms <= TARGETS.replan_one_change_ms,
    node_flags: flags,
    runs_per_edge: RUNS,
    ...details,
    default_heap: {
      plan_ms: unbounded.plan_ms,
      recompute_ms: unbounded.recompute_ms,
      replan_one_change_ms: unbounded.replan_one_change_ms,
      peak_rss_mb: unbounded.peak_rss_mb,
      view_load_ms: unbounded.view_load_ms,
    },
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    measured_at: new Date().toISOString(),
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'upgrade-planner.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);

  const mark = (ok: boolean) => (ok ? '' : '  ABOVE TARGET');
  console.log('');
  console.log(`upgrade-planner benchmark — ${CLUSTERS} clusters (${service.plannable_clusters} plannable), ${RUNS} runs per edge, node ${process.version} ${flags.join(' ')}`);
  console.log(`plan_ms ${result.plan_ms} (target <= ${TARGETS.plan_ms})${mark(result.plan_ms <= TARGETS.plan_ms)}`);
  console.log(`peak_rss_mb ${result.peak_rss_mb} (target <= ${TARGETS.peak_rss_mb})${mark(result.peak_rss_mb <= TARGETS.peak_rss_mb)}`);
  console.log(`replan_one_change_ms ${replan_one_change_ms} (target <= ${TARGETS.replan_one_change_ms})${mark(replan_one_change_ms <= TARGETS.replan_one_change_ms)}`);
  console.log(`recompute_ms ${service.recompute_ms}; view_load_ms ${service.view_load_ms}; stored plan ${service.stored_plan_mb} MB (JSON in ${service.store_json_ms} ms)`);
  console.log(`with V8's default heap sizing: plan_ms ${unbounded.plan_ms}, recompute_ms ${unbounded.recompute_ms}, peak_rss_mb ${unbounded.peak_rss_mb}`);
  console.log(`wrote ${file}`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number, got "${raw}"`);
  return value;
}

function log(message: string): void {
  console.error(`[bench] ${message}`);
}

try {
  const measurementFile = process.env['BENCH_MEASUREMENT_FILE'];
  if (measurementFile) writeFileSync(measurementFile, JSON.stringify(measure()));
  else main();
} catch (error) {
  console.error('benchmark failed:', error);
  process.exitCode = 1;
}
