// Provisioning throughput: BENCH_CLUSTERS requests (3 control-plane machines and a pool of
// BENCH_WORKERS workers each) are published up front to one in-process provisioner on this
// machine's PostgreSQL and NATS, with the simulated provider at zero boot time; the clock runs
// until every ClusterReady is on the bus. Checks on the way out: one ClusterReady per cluster and
// every simulated machine created exactly once.
//
// Build and run: npx tsc -b services/provisioner/bench/tsconfig.json &&
//                node services/provisioner/dist/bench/provision.bench.js
// Environment: BENCH_CLUSTERS (1000), BENCH_WORKERS (10), BENCH_TIMEOUT_MS (300000),
// BENCH_RESULTS_DIR (<repo>/bench/results), plus any provisioner variable (RECONCILE_BATCH_SIZE,
// PROVIDER_CONCURRENCY, BUS_BATCH_SIZE...), passed through to the service.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterReady, ClusterRequested, createEvent, eventsSubject, streamName, type ClusterSpec } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { provisionerService } from '../src/service.js';

const number = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const clusters = number('BENCH_CLUSTERS', 1000);
const workers = number('BENCH_WORKERS', 10);
const timeoutMs = number('BENCH_TIMEOUT_MS', 300_000);
const resultsDir = process.env['BENCH_RESULTS_DIR'] ?? join(fileURLToPath(new URL('../../../../bench/results', import.meta.url)));
const passThrough = Object.fromEntries(Object.entries(process.env).filter(([key]) => /^(RECONCILE_|PROVIDER_|MACHINE_|BUS_BATCH|SIM_)/.test(key)) as [string, string][]);

const service = await startTestService(provisionerService, { SIM_BOOT_MS: '0', LOG_LEVEL: 'warn', ...passThrough });
const bus = await BusConnection.open(TEST_NATS_URL, 'provisioner-bench');
const prefix = service.env['BUS_PREFIX']!;
const db = await new DataSource({ type: 'postgres', url: service.env['DATABASE_URL']!, extra: { options: `-c search_path=${service.env['DATABASE_SCHEMA']}`, max: 2 } }).initialize();
const readySubject = eventsSubject({ prefix }, ClusterReady.channel);

async function readyCount(): Promise<number> {
  const info = await bus.jsm.streams.info(streamName({ prefix }, 'events'), { subjects_filter: readySubject });
  return info.state.subjects?.[readySubject] ?? 0;
}

try {
  const spec: ClusterSpec = {
    name: 'bench',
    model: 'platform-provisioned',
    kubernetesVersion: '1.34',
    controlPlane: { count: 3, machineSize: 'cp' },
    nodePools: [{ name: 'workers', count: workers, machineSize: 'm', labels: {}, taints: [] }],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  };
  const started = performance.now();
  const subject = eventsSubject({ prefix }, ClusterRequested.channel);
  for (let index = 0; index < clusters; index += 100) {
    await Promise.all(Array.from({ length: Math.min(100, clusters - index) }, (_, offset) => publishEvent(bus.js, subject, createEvent(ClusterRequested, { subject: `bench-${index + offset}`, source: '/bench/provisioner' }, spec))));
  }
  const published = performance.now();
  let ready = 0;
  while ((ready = await readyCount()) < clusters) {
    if (performance.now() - started > timeoutMs) throw new Error(`only ${ready} of ${clusters} clusters ready after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const elapsedMs = performance.now() - started;
  const [cloud] = await db.query<{ machines: number; calls: number; names: number }[]>(`SELECT count(*)::int AS machines, sum(create_calls)::int AS calls, count(DISTINCT (cluster_id, name))::int AS names FROM sim_machines`);
  const machines = clusters * (3 + workers);
  const ok = ready === clusters && cloud?.machines === machines && cloud.calls === machines && cloud.names === machines;
  const result = {
    clusters,
    machines,
    elapsedMs: Math.round(elapsedMs),
    publishMs: Math.round(published - started),
    clustersPerSecond: Math.round((clusters / elapsedMs) * 1000 * 10) / 10,
    machinesPerSecond: Math.round((machines / elapsedMs) * 1000),
    readyEvents: ready,
    cloud,
    ok,
    cpus: cpus().length,
    settings: passThrough,
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, 'provisioner.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (!ok) process.exitCode = 1;
} finally {
  await db.destroy();
  await service.dispose();
  await deleteTestStreams(bus.jsm, prefix);
  await bus.drain();
}
