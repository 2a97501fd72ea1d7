// The operators' reads at fleet scale: the inventory as a process, as deployed (authentication
// on), over a read model of BENCH_CLUSTERS clusters with ~10 nodes each (1,000,000 at the
// default size) filled in bulk SQL into a fresh schema (bench/fleet-fill.ts), after the service
// migrated it; then VACUUM ANALYZE, as autovacuum leaves a settled table, and a CHECKPOINT.
// Measured over HTTP with real tokens (the inventory's own `tokens create` command), one
// request at a time, by a caller in this process over one kept-alive node:http connection per
// token (KeptAliveClient; a list page's bytes are read to the last and not decoded, but for its
// nextCursor at the end, so the caller's own garbage collections stay out of the timed requests):
//
//   list_p50_ms, list_p99_ms  GET /api/v1/clusters: LIST_QUERIES (filters, sorts, orders), each
//                  walked BENCH_PAGES pages of 50 by nextCursor, BENCH_ROUNDS times (target p99 <= 20)
//   detail_p99_ms  GET /api/v1/clusters/{id} of random clusters: the row and its newest history
//                  page in one snapshot (target <= 10)
//   summary_p99_ms GET /api/v1/overview, unscoped (target <= 50); summary_scoped_p99_ms with a
//                  label-scoped token (team=t7, a fortieth of the fleet)
// and per list query its p50/p99; floor_p50_ms and floor_p99_ms, what any authenticated request
// costs on the machine at the time (a 404 of an unknown cluster: one index lookup); the fill's
// seconds, the cores and the load average.
//
//   npm run bench -- inventory-query
//   (or: npx tsc -b services/inventory/bench/tsconfig.json &&
//        node --enable-source-maps services/inventory/dist/bench/inventory-query.bench.js)
//
// Environment: BENCH_CLUSTERS (100000), BENCH_HISTORY (5 lines per cluster), BENCH_ROUNDS (5),
// BENCH_PAGES (10), BENCH_DETAILS (1000), BENCH_SUMMARIES (500), BENCH_FLOORS (200), BENCH_KEEP_SCHEMA (unset: the
// schema is dropped at the end; set, it is kept for EXPLAIN and its name printed),
// BENCH_CPU_PROFILE_DIR (unset: none; set, the inventory runs with --cpu-prof and writes its CPU
// profile there when stopped, to open in Chrome's DevTools or read with tools),
// BENCH_RESULTS_DIR (<repo>/bench/results), TEST_DATABASE_URL, TEST_NATS_URL.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { BusConnection } from '@flotilla/messaging';
import { databaseUrl, deleteTestStreams, ensureDatabase, freePort, randomSuffix, testBusPrefix, TEST_NATS_URL, TEST_SERVER_URL } from '@flotilla/messaging/testing';
import { DataSource } from 'typeorm';
import { fillFleet } from './fleet-fill.js';
import { envNumber, InventoryProcess, issueToken, KeptAliveClient, loadText, nextCursorOf, percentile, repoRoot, round, serviceEnv } from './inventory-process.js';

const CLUSTERS = envNumber('BENCH_CLUSTERS', 100_000);
const HISTORY = envNumber('BENCH_HISTORY', 5);
const ROUNDS = envNumber('BENCH_ROUNDS', 5);
const PAGES = envNumber('BENCH_PAGES', 10);
const DETAILS = envNumber('BENCH_DETAILS', 1000);
const SUMMARIES = envNumber('BENCH_SUMMARIES', 500);
const FLOORS = envNumber('BENCH_FLOORS', 200);
const REUSED_SCHEMA = process.env['BENCH_SCHEMA'] || undefined;
const KEEP_SCHEMA = Boolean(process.env['BENCH_KEEP_SCHEMA']) || REUSED_SCHEMA !== undefined;
const CPU_PROFILE_DIR = process.env['BENCH_CPU_PROFILE_DIR'] || undefined;
const RESULTS_DIR = process.env['BENCH_RESULTS_DIR'] ?? join(repoRoot, 'bench/results');
const TARGETS = { list_p99_ms: 20, detail_p99_ms: 10, summary_p99_ms: 50 };
const FILL_CHUNK = 10_000;
const DATABASE = 'flotilla_test';

/** What operators ask for: filters alone and combined, each sort, both orders. */
const LIST_QUERIES = [
  'sort=id',
  'status=Running&sort=name',
  'model=connected&sort=version&order=desc',
  'provider=aws&sort=created&order=desc',
  'labels=team=t7&sort=updated&order=desc',
  'access=tunnel&sort=status',
  'version=1.31&sort=name',
  'status=Failed&sort=updated&order=desc',
  'model=platform-provisioned&status=Running&labels=env=prod&sort=version',
  'labels=team=t3,env=dev&status=Running&sort=name&order=desc',
  'version=1.30.4&provider=vsphere',
];

const log = (message: string) => process.stderr.write(`[inventory-query] ${message}\n`);

/** One GET, timed from the request to the whole body read; fails on any other status than `expected`. */
async function timedGet(client: KeptAliveClient, url: string, expected = 200): Promise<{ ms: number; text: string }> {
  const { ms, status, text } = await client.get(url);
  if (status !== expected) throw new Error(`GET ${url}: ${status} ${text.slice(0, 500)}`);
  return { ms, text };
}

/** A list page, timed the same way, and the cursor of the next one. */
async function timedPage(client: KeptAliveClient, url: string): Promise<{ ms: number; nextCursor: string | null }> {
  const { ms, status, chunks } = await client.getBytes(url);
  if (status !== 200) throw new Error(`GET ${url}: ${status} ${Buffer.concat(chunks).toString('utf8').slice(0, 500)}`);
  return { ms, nextCursor: nextCursorOf(chunks) };
}

/** The fleet, filled in bulk SQL into the service's schema and settled as a running database's would be. */
async function fill(db: DataSource): Promise<void> {
  for (let from = 0; from < CLUSTERS; from += FILL_CHUNK) {
    await fillFleet(db, from, Math.min(CLUSTERS, from + FILL_CHUNK), HISTORY);
    log(`filled ${Math.min(CLUSTERS, from + FILL_CHUNK)} clusters`);
  }
  await db.query('VACUUM ANALYZE clusters');
  await db.query('VACUUM ANALYZE cluster_events');
  // The service folds the fill's count changes in within a second or two.
  for (let waited = 0; ; waited += 200) {
    const [pending] = await db.query<{ changes: number }[]>('SELECT count(*)::int AS changes FROM cluster_count_changes');
    if (pending?.changes === 0) break;
    if (waited > 60_000) throw new Error(`${pending?.changes} count changes still unfolded after a minute`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await db.query('VACUUM ANALYZE cluster_counts');
  await db.query('VACUUM ANALYZE cluster_counts_fleet');
  await db.query('VACUUM cluster_count_changes');
  // The fill's gigabyte of dirty pages is written out now, not by the checkpointer during the
  // measurement: what is measured is the reads of a settled database, not the fill's write-back.
  await db.query('CHECKPOINT');
}

async function main(): Promise<void> {
  const schema = REUSED_SCHEMA ?? `inventory_bench_${randomSuffix()}`;
  const prefix = testBusPrefix();
  await ensureDatabase(DATABASE);
  const url = databaseUrl(DATABASE, TEST_SERVER_URL);
  // The key ring follows the schema, so a kept schema's sealed signing key opens again.
  const env = serviceEnv(url, schema, prefix, TEST_NATS_URL, `bench:${createHash('sha256').update(schema).digest('base64')}`);
  const db = await new DataSource({ type: 'postgres', url, schema, extra: { max: 2, options: `-c search_path=${schema}` } }).initialize();
  const bus = await BusConnection.open(TEST_NATS_URL, 'inventory-query-bench');
  const inventory = new InventoryProcess(await freePort(), env, CPU_PROFILE_DIR);
  const loadBefore = loadText();
  let viewer: KeptAliveClient | undefined;
  let scoped: KeptAliveClient | undefined;
  try {
    log(`${CLUSTERS} clusters; schema ${schema}; load ${loadBefore}`);
    // The service makes its schema (migrations) before anything is filled in.
    await inventory.start();

    const fillStarted = performance.now();
    if (REUSED_SCHEMA) log(`measuring the fleet kept in ${schema} again`);
    else await fill(db);
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const [sizes] = await db.query<{ clusters: number; nodes: number; history: number }[]>(
      `SELECT (SELECT count(*) FROM clusters)::int AS clusters, (SELECT sum(node_count) FROM clusters)::int AS nodes, (SELECT count(*) FROM cluster_events)::int AS history`,
    );
    log(`${REUSED_SCHEMA ? 'kept' : `filled in ${fillSeconds.toFixed(1)} s`}: ${sizes?.clusters} clusters, ${sizes?.nodes} nodes, ${sizes?.history} history lines; load ${loadText()}`);

    viewer = new KeptAliveClient(await issueToken(env, 'viewer'));
    scoped = new KeptAliveClient(await issueToken(env, 'viewer', ['team=t7']));

    // Warm-up: connections, plans, caches.
    for (const query of LIST_QUERIES) await timedGet(viewer, `${inventory.url}/api/v1/clusters?${query}`);
    await timedGet(viewer, `${inventory.url}/api/v1/overview`);

    // What any authenticated request costs on this machine now: a cluster that does not exist.
    const floor: number[] = [];
    for (let n = 0; n < FLOORS; n++) floor.push((await timedGet(viewer, `${inventory.url}/api/v1/clusters/no-such-cluster`, 404)).ms);
    log(`floor (404 of an unknown cluster): p50 ${percentile(floor, 50).toFixed(2)} ms, p99 ${percentile(floor, 99).toFixed(2)} ms`);

    const list: number[] = [];
    const byQuery = new Map<string, number[]>(LIST_QUERIES.map((query) => [query, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const query of LIST_QUERIES) {
        let cursor: string | null = null;
        for (let page = 0; page < PAGES; page++) {
          const page = await timedPage(viewer, `${inventory.url}/api/v1/clusters?${query}&limit=50${cursor ? `&cursor=${cursor}` : ''}`);
          list.push(page.ms);
          byQuery.get(query)!.push(page.ms);
          cursor = page.nextCursor;
          if (!cursor) break;
        }
      }
    }
    log(`list: ${list.length} pages, p50 ${percentile(list, 50).toFixed(2)} ms, p99 ${percentile(list, 99).toFixed(2)} ms`);

    const detail: number[] = [];
    for (let n = 0; n < DETAILS; n++) {
      const index = Math.floor(Math.random() * (sizes?.clusters ?? CLUSTERS));
      detail.push((await timedGet(viewer, `${inventory.url}/api/v1/clusters/c${String(index).padStart(6, '0')}`)).ms);
    }
    log(`detail: ${detail.length} clusters, p50 ${percentile(detail, 50).toFixed(2)} ms, p99 ${percentile(detail, 99).toFixed(2)} ms`);

    const summary: number[] = [];
    const summaryScoped: number[] = [];
    let overview: unknown;
    for (let n = 0; n < SUMMARIES; n++) {
      const all = await timedGet(viewer, `${inventory.url}/api/v1/overview`);
      summary.push(all.ms);
      overview = JSON.parse(all.text);
      summaryScoped.push((await timedGet(scoped, `${inventory.url}/api/v1/overview`)).ms);
    }
    log(`summary: p50 ${percentile(summary, 50).toFixed(2)} ms, p99 ${percentile(summary, 99).toFixed(2)} ms; scoped p99 ${percentile(summaryScoped, 99).toFixed(2)} ms`);
    const counted = (overview as { clusters: number; byStatus: { Deleted: number }; nodes: { total: number } }) ?? undefined;
    if (counted && counted.clusters + counted.byStatus.Deleted !== sizes?.clusters) throw new Error(`the overview counts ${counted.clusters} + ${counted.byStatus.Deleted} deleted clusters, the table holds ${sizes?.clusters}`);
    if (counted && counted.nodes.total !== sizes?.nodes) throw new Error(`the overview counts ${counted.nodes.total} nodes, the table holds ${sizes?.nodes}`);

    const result = {
      benchmark: 'inventory-query',
      clusters: sizes?.clusters,
      nodes: sizes?.nodes,
      history_lines: sizes?.history,
      list_p50_ms: round(percentile(list, 50)),
      list_p99_ms: round(percentile(list, 99)),
      detail_p50_ms: round(percentile(detail, 50)),
      detail_p99_ms: round(percentile(detail, 99)),
      summary_p50_ms: round(percentile(summary, 50)),
      summary_p99_ms: round(percentile(summary, 99)),
      summary_scoped_p99_ms: round(percentile(summaryScoped, 99)),
      floor_p50_ms: round(percentile(floor, 50)),
      floor_p99_ms: round(percentile(floor, 99)),
      list_by_query: Object.fromEntries([...byQuery].map(([query, samples]) => [query, { pages: samples.length, p50_ms: round(percentile(samples, 50)), p99_ms: round(percentile(samples, 99)) }])),
      samples: { list: list.length, detail: detail.length, summary: summary.length },
      targets: TARGETS,
      met: {
        list_p99_ms: percentile(list, 99) <= TARGETS.list_p99_ms,
        detail_p99_ms: percentile(detail, 99) <= TARGETS.detail_p99_ms,
        summary_p99_ms: percentile(summary, 99) <= TARGETS.summary_p99_ms,
      },
      fill_seconds: REUSED_SCHEMA ? null : round(fillSeconds, 1),
      reused_schema: REUSED_SCHEMA !== undefined,
      machine: { cores: cpus().length, load_before: loadBefore, load_after: loadText() },
      finished_at: new Date().toISOString(),
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = join(RESULTS_DIR, 'inventory-query.json');
    writeFileSync(`${file}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
    log(`wrote ${file}`);
  } finally {
    viewer?.close();
    scoped?.close();
    await inventory.stop();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
    if (KEEP_SCHEMA) log(`schema ${schema} kept`);
    else await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.destroy();
  }
}

await main();
