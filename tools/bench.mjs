#!/usr/bin/env node
// Runs benchmarks: builds what each needs with tsc (decorator metadata needs it, so never
// tsx/esbuild), then runs its compiled script with node. Results go to bench/results/<name>.json.
// Usage: node tools/bench.mjs                 list the benchmarks
//        node tools/bench.mjs <name> [...]    build and run them, in order (`all` for every one)
// Each benchmark reads its own BENCH_* variables (see its script's header).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../..');
const resultsDir = process.env.BENCH_RESULTS_DIR ?? join(root, 'bench/results');

/**
 * name -> what to build (tsconfig paths for `tsc -b`) and the compiled script to run.
 * Add a benchmark here; its script writes bench/results/<name>.json (BENCH_RESULTS_DIR).
 */
const BENCHMARKS = {
  messaging: {
    description: 'runtime handler path (inbox + state + outbox + relay) vs a raw JetStream pipeline: events/s, ratio, p50/p99 latency',
    build: ['libs/messaging/bench/tsconfig.json'],
    script: 'libs/messaging/dist/bench/messaging.bench.js',
  },
  'import-sync': {
    description: 'one full sync of 1,000 connected clusters on stand-in HTTPS API servers (20-80 ms latency): seconds_per_full_sync, peak_rss_mb',
    build: ['services/importer/tsconfig.bench.json'],
    script: 'services/importer/dist/bench/import-sync.bench.js',
  },
  'upgrade-planner': {
    description: 'plans a 100,000-cluster mixed fleet as the service does (fleet view -> planner input -> plan): plan_ms, peak_rss_mb',
    build: ['services/upgrade-planner/tsconfig.bench.json'],
    script: 'services/upgrade-planner/dist/bench/upgrade-planner.bench.js',
  },
  auth: {
    description: 'what token verification adds to a request: a @Public and an @Access route of one service, alternating; added p50/p99 (warm and cold tokens) and the verifier alone',
    build: ['libs/service-kit/bench/tsconfig.json'],
    script: 'libs/service-kit/dist/bench/auth.bench.js',
  },
  tunnel: {
    description: 'the tunnel on loopback: a large response direct and through the tunnel (ratio), added p50/p99 of small requests, p99 beside a stalled stream, broker memory per idle agent and the time for 10,000 agents to reconnect',
    build: ['libs/tunnel/bench/tsconfig.json'],
    script: 'libs/tunnel/dist/bench/tunnel.bench.js',
  },
  provisioning: {
    description: '1,000 clusters of 13 machines (simulated provider, zero boot), provisioner and inventory as processes, until the inventory shows all Running: seconds_to_all_running, machines_per_s, per-service peak RSS',
    build: ['services/provisioner/bench/tsconfig.json', 'services/inventory/tsconfig.app.json'],
    script: 'services/provisioner/dist/bench/provisioning.bench.js',
  },
  'inventory-query': {
    description: 'the inventory over HTTP with authentication on, its read model filled with 100,000 clusters and 1,000,000 nodes: list pages filtered and sorted (p50/p99), cluster detail p99, overview p99',
    build: ['services/inventory/bench/tsconfig.json'],
    script: 'services/inventory/dist/bench/inventory-query.bench.js',
  },
  'cloud-provisioning': {
    description: '300 public cloud clusters (100 each at EKS, AKS, GKE, two node groups each) created by the importer as a process against the stateful cloud stand-ins (scaled-down times, rate limits): seconds_to_all_ready, critical_path_s, efficiency (target >= 0.8), throttled_requests, duplicate_creates (target 0)',
    build: ['services/importer/tsconfig.bench.json'],
    script: 'services/importer/dist/bench/cloud-provisioning.bench.js',
  },
  'provisioning-at-scale': {
    description: '10,000 clusters of 13 machines, as `provisioning` (the same script, BENCH_SCENARIO): seconds_to_all_running (target <= 180), provisioner_peak_rss_mb (target <= 512)',
    build: ['services/provisioner/bench/tsconfig.json', 'services/inventory/tsconfig.app.json'],
    script: 'services/provisioner/dist/bench/provisioning.bench.js',
    env: { BENCH_SCENARIO: 'provisioning-at-scale' },
  },
  'scale-out': {
    description: '`provisioning` (400 clusters a run) with 1, 2 and 3 provisioner replicas and 1, 2 and 3 inventory replicas, at 200 ms and at zero boot time: machines_per_s per replica count, speedup over one (target: two >= 1.6x), CPU seconds per process, each event handled once (inboxes read by SQL); and inventory-only: the provisioner\'s events of 1,000 clusters recorded once, drained by 1, 2 and 3 inventory replicas (events_per_s, speedup, cluster-lock waits)',
    build: ['services/provisioner/bench/tsconfig.json', 'services/inventory/tsconfig.app.json'],
    script: 'tools/bench-lib/scale-out.mjs',
  },
};

const names = process.argv.slice(2);
if (names.length === 0 || names.includes('--help') || names.includes('-h')) {
  console.log('usage: npm run bench -- <name> [...]   (or `all`)\n\navailable benchmarks:');
  const width = Math.max(...Object.keys(BENCHMARKS).map((name) => name.length));
  for (const [name, bench] of Object.entries(BENCHMARKS)) console.log(`  ${name.padEnd(width)}  ${bench.description}`);
  process.exit(0);
}

const selected = names.includes('all') ? Object.keys(BENCHMARKS) : names;
const unknown = selected.filter((name) => !Object.hasOwn(BENCHMARKS, name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}

const builds = [...new Set(selected.flatMap((name) => BENCHMARKS[name].build))];
run('npx', ['tsc', '-b', ...builds.map((path) => join(root, path))]);

mkdirSync(resultsDir, { recursive: true });
let failed = 0;
for (const name of selected) {
  console.error(`\n== bench ${name}`);
  const status = run(process.execPath, ['--enable-source-maps', join(root, BENCHMARKS[name].script)], { ...BENCHMARKS[name].env, BENCH_RESULTS_DIR: resultsDir }, false);
  if (status !== 0) {
    console.error(`bench ${name} failed (exit ${status})`);
    failed += 1;
  }
}
process.exit(failed > 0 ? 1 : 0);

function run(command, args, env = {}, exitOnFailure = true) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  const status = result.status ?? 1;
  if (status !== 0 && exitOnFailure) process.exit(status);
  return status;
}
