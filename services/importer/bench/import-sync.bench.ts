// One full sync of 1,000 connected clusters, as the importer runs it: the sync worker claims
// every cluster due, opens its credential (decrypting it), asks the cluster's API server for
// /version and /readyz over HTTPS with @kubernetes/client-node, and records the result (and a
// ClusterVersionChanged for the clusters upgraded meanwhile) in PostgreSQL and the outbox.
//
//   npm run bench -- import-sync
//   (or: npx tsc -b services/importer/tsconfig.bench.json &&
//        node --enable-source-maps services/importer/dist/bench/import-sync.bench.js)
//
// The clusters: BENCH_SERVERS stand-in API servers (real HTTPS, own CA, bearer tokens), each
// serving BENCH_CLUSTERS / BENCH_SERVERS clusters by path (`https://127.0.0.1:<port>/clusters/<id>`,
// the way Rancher-style proxies expose many clusters behind one address). Every answer is delayed
// by a uniform 20-80 ms (BENCH_LATENCY_MS=min,max): network plus API server time. Each cluster has
// its own token credential, registered through the API. 5% of the clusters report a newer version.
//
// The importer runs in this process on the machine's PostgreSQL and NATS (its own schema and bus
// prefix, removed afterwards). Measured:
//   seconds_per_full_sync  from making every cluster due to every cluster re-checked (target <= 60)
//   peak_rss_mb            this process's peak resident set: importer AND stand-in servers
// Environment: BENCH_CLUSTERS (1000), BENCH_SERVERS (4), BENCH_SYNC_CONCURRENCY (100),
// BENCH_LATENCY_MS (20,80), BENCH_RESULTS_DIR (<repo>/bench/results).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterVersionChanged } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { importerService } from '../src/service.js';
import { kubeadmCluster, versionBody } from '../test/support/cluster-fixtures.js';
import { FakeApiServer, type FakeCluster } from '../test/support/fake-apiserver.js';
import { importerTestEnv } from '../test/support/importer-client.js';
import { createTestPki } from '../test/support/pki.js';

const CLUSTERS = envNumber('BENCH_CLUSTERS', 1_000);
const SERVERS = envNumber('BENCH_SERVERS', 4);
const CONCURRENCY = envNumber('BENCH_SYNC_CONCURRENCY', 100);
const [LATENCY_MIN, LATENCY_MAX] = (process.env['BENCH_LATENCY_MS'] ?? '20,80').split(',').map(Number) as [number, number];
const RESULTS_DIR = process.env['BENCH_RESULTS_DIR'] ?? fileURLToPath(new URL('../../../../bench/results/', import.meta.url));
const TARGET_SECONDS = 60;
const UPGRADED_EVERY = 20;

function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

const id = (index: number) => `c-${String(index).padStart(4, '0')}`;
const token = (index: number) => `bench-token-${index}-${(index * 2654435761) % 1_000_003}`;

const pki = createTestPki();
console.error(`starting ${SERVERS} stand-in API servers for ${CLUSTERS} clusters (latency ${LATENCY_MIN}-${LATENCY_MAX} ms)`);
const servers: FakeApiServer[] = [];
for (let server = 0; server < SERVERS; server++) {
  const clusters = new Map<string, FakeCluster>();
  for (let index = server; index < CLUSTERS; index += SERVERS) clusters.set(`/clusters/${id(index)}`, { ...kubeadmCluster(2, 'v1.31.4'), tokens: { [token(index)]: 'admin' } });
  servers.push(await FakeApiServer.start({ pki, clusters, latencyMs: [LATENCY_MIN, LATENCY_MAX] }));
}
const serverOf = (index: number) => servers[index % SERVERS]!;

const service = await startTestService(
  importerService,
  importerTestEnv({ SYNC_INTERVAL_MS: '3600000', SYNC_CONCURRENCY: String(CONCURRENCY), SYNC_CHECK_TIMEOUT_MS: '15000', LOG_LEVEL: 'error' }),
);
const prefix = service.env['BUS_PREFIX']!;
const database = service.app.get(DataSource);
try {
  console.error('registering credentials and connected clusters');
  for (let start = 0; start < CLUSTERS; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, CLUSTERS - start) }, async (_, offset) => {
        const index = start + offset;
        const response = await fetch(`${service.url}/api/v1/credentials`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(await service.auth()) },
          body: JSON.stringify({ ref: `${id(index)}-admin`, kind: 'bearer-token', token: token(index), server: serverOf(index).url(`/clusters/${id(index)}`), caCertificatePem: pki.caCertificatePem }),
        });
        if (response.status !== 201) throw new Error(`credential ${index}: ${response.status} ${await response.text()}`);
      }),
    );
  }
  // Clusters already imported (the import path is not what is measured), not due yet.
  await database.query(
    `INSERT INTO connected_clusters (id, name, provider, api_server, credential_ref, state, attempt, request_event_id, kubernetes_version, distribution, node_count, requested_at, imported_at, last_event_time, next_sync_at)
     SELECT x.id, x.id, 'cncf', x.api_server, x.id || '-admin', 'Imported', 1, 'bench-' || x.id, 'v1.31.4', 'vanilla', 2, now(), now(), now(), now() + interval '1 day'
       FROM unnest($1::text[], $2::text[]) AS x(id, api_server)`,
    [Array.from({ length: CLUSTERS }, (_, index) => id(index)), Array.from({ length: CLUSTERS }, (_, index) => serverOf(index).url(`/clusters/${id(index)}`))],
  );
  for (let index = 0; index < CLUSTERS; index += UPGRADED_EVERY) serverOf(index).cluster(`/clusters/${id(index)}`).version = versionBody('v1.32.1');

  console.error(`full sync of ${CLUSTERS} clusters, ${CONCURRENCY} at a time`);
  const started = new Date();
  await database.query(`UPDATE connected_clusters SET next_sync_at = now()`);
  const startedAt = performance.now();
  for (;;) {
    const [row] = await database.query<{ pending: number }[]>(`SELECT count(*)::int AS pending FROM connected_clusters WHERE last_synced_at IS NULL OR last_synced_at < $1`, [started]);
    const pending = row?.pending ?? 0;
    if (pending === 0) break;
    if (performance.now() - startedAt > 10 * TARGET_SECONDS * 1000) throw new Error(`${pending} clusters still not re-checked after ${10 * TARGET_SECONDS} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const seconds = (performance.now() - startedAt) / 1000;

  const [failures] = await database.query<{ failed: number }[]>(`SELECT count(*)::int AS failed FROM connected_clusters WHERE sync_failures > 0`);
  const failed = failures?.failed ?? 0;
  const bus = await BusConnection.open(TEST_NATS_URL, 'import-sync-bench');
  const changed = await eventually(
    async () => {
      const seen = await eventsOf(bus, prefix, ClusterVersionChanged);
      return seen.length >= CLUSTERS / UPGRADED_EVERY ? seen.length : undefined;
    },
    30_000,
    'every ClusterVersionChanged on the bus',
  );
  await bus.drain();
  const requests = servers.reduce((sum, server) => sum + [...server.requests.values()].reduce((a, b) => a + b, 0), 0);
  const result = {
    clusters: CLUSTERS,
    seconds_per_full_sync: Number(seconds.toFixed(2)),
    clusters_per_second: Math.round(CLUSTERS / seconds),
    target_seconds: TARGET_SECONDS,
    within_target: seconds <= TARGET_SECONDS,
    sync_concurrency: CONCURRENCY,
    stand_in_servers: SERVERS,
    latency_ms: [LATENCY_MIN, LATENCY_MAX],
    requests_to_api_servers: requests,
    tls_connections_to_api_servers: servers.reduce((sum, server) => sum + server.connections, 0),
    failed_checks: failed,
    clusters_upgraded_meanwhile: CLUSTERS / UPGRADED_EVERY,
    version_changed_events_on_bus: changed,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    peak_rss_includes: 'importer service and the stand-in API servers (one process)',
    node: process.version,
    measured_at: new Date().toISOString(),
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'import-sync.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (failed > 0) process.exitCode = 1;
} finally {
  await service.dispose();
  for (const server of servers) await server.stop();
  const bus = await BusConnection.open(TEST_NATS_URL, 'import-sync-bench');
  await deleteTestStreams(bus.jsm, prefix);
  await bus.drain();
}
