// What one request costs the inventory, apart from the size of the fleet: the service as a
// process over a small read model (BENCH_CLUSTERS, 1,000), one caller in another process on one
// kept-alive connection, and per kind of request (the floor, an authenticated 404 of an unknown
// cluster; a cluster's detail; a list page; the overview) its latency p50/p99, the CPU the
// service and the caller spent per request, the service's time in garbage collection per request
// and its event-loop delay meanwhile (from its own /metrics, which resets the delay on each
// scrape). Prints a JSON report; writes no results file.
//
//   npx tsc -b services/inventory/bench/tsconfig.json &&
//   node services/inventory/dist/bench/request-floor.js
//
// Environment: BENCH_CLUSTERS (1000), BENCH_REQUESTS (2000 per kind), BENCH_KINDS (floor,detail,list,overview),
// BENCH_CLIENT (http: node:http kept alive; fetch: as the fleet benchmark did), BENCH_CPU_PROFILE_DIR
// (the service's CPU profile, written there on stop), TEST_DATABASE_URL, TEST_NATS_URL.
import { BusConnection } from '@flotilla/messaging';
import { databaseUrl, deleteTestStreams, ensureDatabase, freePort, randomSuffix, testBusPrefix, TEST_NATS_URL, TEST_SERVER_URL } from '@flotilla/messaging/testing';
import { DataSource } from 'typeorm';
import { fillFleet } from './fleet-fill.js';
import { envNumber, InventoryProcess, issueToken, KeptAliveClient, loadText, percentile, round, serviceEnv } from './inventory-process.js';

const CLUSTERS = envNumber('BENCH_CLUSTERS', 1000);
const REQUESTS = envNumber('BENCH_REQUESTS', 2000);
const KINDS = (process.env['BENCH_KINDS'] || 'floor,detail,list,overview').split(',');
const CLIENT = process.env['BENCH_CLIENT'] || 'http';
const CPU_PROFILE_DIR = process.env['BENCH_CPU_PROFILE_DIR'] || undefined;
const DATABASE = 'flotilla_test';

const log = (message: string) => process.stderr.write(`[request-floor] ${message}\n`);

const PATHS: Record<string, (n: number) => { path: string; status: number }> = {
  floor: () => ({ path: '/api/v1/clusters/no-such-cluster', status: 404 }),
  detail: (n) => ({ path: `/api/v1/clusters/c${String((n * 7919) % CLUSTERS).padStart(6, '0')}`, status: 200 }),
  list: () => ({ path: '/api/v1/clusters?status=Running&sort=name&limit=50', status: 200 }),
  overview: () => ({ path: '/api/v1/overview', status: 200 }),
};

type Get = (url: string) => Promise<{ ms: number; status: number; text: string }>;

function fetchClient(token: string): Get {
  return async (url) => {
    const started = performance.now();
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const text = await response.text();
    return { ms: performance.now() - started, status: response.status, text };
  };
}

/**
 * From the service's own metrics: its event-loop delay since the last scrape (which resets it) and
 * the time it has spent collecting garbage so far, in ms.
 */
async function runtimeFigures(get: Get, url: string): Promise<{ eventLoopDelay: { p99_ms: number; max_ms: number }; gcMs: number }> {
  const { text } = await get(`${url}/metrics`);
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000;
  // One sum per kind of collection (minor, major, incremental, weakcb).
  const gcMs = [...text.matchAll(/^nodejs_gc_duration_seconds_sum\{[^}]*\} (\S+)$/gm)].reduce((sum, match) => sum + Number(match[1]) * 1000, 0);
  return { eventLoopDelay: { p99_ms: round(value('nodejs_eventloop_lag_p99_seconds')), max_ms: round(value('nodejs_eventloop_lag_max_seconds')) }, gcMs };
}

async function main(): Promise<void> {
  const unknown = KINDS.filter((kind) => !PATHS[kind]);
  if (unknown.length > 0) throw new Error(`BENCH_KINDS: unknown ${unknown.join(', ')}; known: ${Object.keys(PATHS).join(', ')}`);
  if (CLIENT !== 'http' && CLIENT !== 'fetch') throw new Error(`BENCH_CLIENT must be http or fetch, not "${CLIENT}"`);
  const schema = `inventory_floor_${randomSuffix()}`;
  const prefix = testBusPrefix();
  await ensureDatabase(DATABASE);
  const url = databaseUrl(DATABASE, TEST_SERVER_URL);
  const env = serviceEnv(url, schema, prefix, TEST_NATS_URL);
  const db = await new DataSource({ type: 'postgres', url, schema, extra: { max: 1, options: `-c search_path=${schema}` } }).initialize();
  const bus = await BusConnection.open(TEST_NATS_URL, 'request-floor-bench');
  const inventory = new InventoryProcess(await freePort(), env, CPU_PROFILE_DIR);
  let client: KeptAliveClient | undefined;
  try {
    await inventory.start();
    await fillFleet(db, 0, CLUSTERS, 5);
    await db.query('VACUUM ANALYZE clusters');
    await db.query('VACUUM ANALYZE cluster_events');
    const token = await issueToken(env, 'viewer');
    client = new KeptAliveClient(token);
    const get: Get = CLIENT === 'http' ? client.get.bind(client) : fetchClient(token);
    log(`${CLUSTERS} clusters, ${CLIENT} client; load ${loadText()}`);
    const report: Record<string, unknown> = { clusters: CLUSTERS, client: CLIENT, load_before: loadText() };
    for (const kind of KINDS) {
      // Warm-up: connections, plans, code paths compiled.
      for (let n = 0; n < 200; n++) await get(`${inventory.url}${PATHS[kind]!(n).path}`);
      const { gcMs: gcBefore } = await runtimeFigures(get, inventory.url);
      const serverBefore = inventory.cpuMs();
      const clientBefore = process.cpuUsage();
      const samples: number[] = [];
      for (let n = 0; n < REQUESTS; n++) {
        const { path, status } = PATHS[kind]!(n);
        const answer = await get(`${inventory.url}${path}`);
        if (answer.status !== status) throw new Error(`GET ${path}: ${answer.status}, expected ${status}: ${answer.text.slice(0, 300)}`);
        samples.push(answer.ms);
      }
      const clientCpu = process.cpuUsage(clientBefore);
      const serverCpuMs = inventory.cpuMs() - serverBefore;
      const runtime = await runtimeFigures(get, inventory.url);
      const figures = {
        p50_ms: round(percentile(samples, 50)),
        p99_ms: round(percentile(samples, 99)),
        server_cpu_ms_per_request: round(serverCpuMs / REQUESTS, 3),
        server_gc_ms_per_request: round((runtime.gcMs - gcBefore) / REQUESTS, 3),
        client_cpu_ms_per_request: round((clientCpu.user + clientCpu.system) / 1000 / REQUESTS, 3),
        event_loop_delay: runtime.eventLoopDelay,
      };
      log(`${kind}: ${JSON.stringify(figures)}`);
      report[kind] = figures;
    }
    report['server_peak_rss_mb'] = round(inventory.peakRssMb(), 1);
    report['load_after'] = loadText();
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    client?.close();
    await inventory.stop();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.destroy();
  }
}

await main();
