// Public cloud clusters created from Flotilla, end to end: BENCH_CLUSTERS_PER_CLOUD clusters at
// each of EKS, AKS and GKE (300 in all), each with two node groups, requested as ClusterRequested
// (model public-cloud) on the bus as the inventory publishes them. The importer runs as its own
// process (bench/cloud-importer.ts: runService as main.ts, its cloud endpoints pointed at the
// stand-ins by CLOUD_* variables, CLOUD_CA_FILE their test CA), on this machine's PostgreSQL and
// NATS (own schema and bus prefix, removed afterwards); one cloud account per cloud is stored
// through its API. The stateful HTTPS stand-ins of EKS, ARM and GKE (test/support/cloud-standins)
// run in this process, with operation times scaled down (a control plane in seconds) and each
// cloud's request rate limit per account enforced (429 with Retry-After beyond it).
//
//   npm run bench -- cloud-provisioning
//   (or: npx tsc -b services/importer/tsconfig.bench.json &&
//        node --enable-source-maps services/importer/dist/bench/cloud-provisioning.bench.js)
//
// The clock runs from the first publish until the importer has every cluster Running (ClusterReady
// emitted in the same transaction): seconds_to_all_ready is the last such commit. critical_path_s
// is computed from the same parameters the stand-ins get (test/bench/critical-path.ts states the
// formula: per cloud, the longest of one cluster's operation chain, the least requests of that
// cloud's work through its rate limit, and the node groups' start pushed back by the requests
// that must follow the control planes; the slowest cloud). efficiency = critical_path_s /
// seconds_to_all_ready (target >= 0.8); duplicate_creates from the stand-ins' counts (target 0).
//
// The reconciler's waits are scaled like the clouds' times (BENCH_TIME_SCALE, real / bench): its
// 15 s poll against creates of ~10 minutes becomes 15 s / scale against creates of seconds.
//
// First runs (shared 2-core machine, load average about 10 from other work): 300 ready in 98 to
// 187 s against a critical path of 8 s (efficiency 0.04 to 0.08), no 429, no duplicate create.
// Nothing reached a rate limit (about 6,500 cloud calls in all, 15 / 24 / 25 per EKS / AKS / GKE
// cluster against 6 / 7 / 8 at the least): the importer is bound by its cost per step, about
// 64 CPU seconds for the run (some 30 ms per step of three to five cloud calls and a dozen SQL
// statements), and got a third to a half of a core. Neither a longer poll (1 s: 98 s) nor larger
// rounds (60 clusters: 135 s against 116 s for 20) changed it: clusters wait in the queue 15-50 s
// between steps. A CPU profile (BENCH_CPU_PROFILE_DIR) puts 17% of the importer's time in
// https.Agent#getName, which concatenates the `ca` option (Node's roots plus CLOUD_CA_FILE, some
// 200 KB) for every request, and 3% in building a secure context for each new connection; the
// OpenTelemetry async-hooks context, the pg instrumentation and TypeORM take most of the rest.
// Trusting the CA through NODE_EXTRA_CA_CERTS instead (BENCH_TRUST=node-extra-ca-certs, no `ca`
// option) took the importer from 64 to 45 CPU seconds for the same calls (163 s at load 14).
//
// The quiet run of e323de8 (115 s, efficiency 0.070) spent the accounts' limits on looks at
// operations that could not be done yet: 42 / 144 / 64 requests per EKS / AKS / GKE cluster, 5,362
// throttled. Since then a waiting cluster is looked at when its operation can be done (the cloud's
// typical time for it, divided by BENCH_TIME_SCALE like the clouds' times, then an eighth of it;
// src/managed/look-again.ts), an operation in flight is read alone, the create follows the version
// check at once (one answer per account and place), EKS and AKS node groups start together, and a
// step's SQL is a few statements. On the same loaded machine (load average 15 to 19), one run each:
// before, 171.5 s, 15.3 / 24 / 25 requests per cluster, importer 33.6 CPU seconds; after, 103.5 s,
// 10.7 / 17.8 / 22.7 requests per cluster, 24.7 CPU seconds, 17 throttled. At load 27 (the
// requests recorded side by side too): 214 s, 10 / 17 / 21.1 requests per cluster, 24.4 CPU
// seconds, none throttled; all 300 recorded within 11 s of the first publish. Under such load the
// importer gets a tenth of a core and the figure measures the machine, not the reconciler.
//
// The quiet run of 36d9618 (41.1 s, efficiency 0.194) spent 25 / 50.4 / 38.4 requests per EKS /
// AKS / GKE cluster, 2,720 of them throttled: the reconciler learned each account's limit from
// 429s and polled each cluster on its own. Since then every call takes a token of its account's
// request budget first (CLOUD_*_REQUEST_RATE: the importer is told 95/s with a burst of 90 for the
// EKS and ARM buckets, then 90/s with a burst of 8 for GKE's window of 100 a second), GKE and AKS are
// watched a location / resource group at a time (one shared list, CLOUD_LIST_MAX_AGE_MS at the
// scale of the poll, 125 ms), creates there look in that list, looks are timed by the durations
// seen of each kind of operation, up to MANAGED_CONCURRENCY steps run side by side, a create's
// first step asks nothing before the create, and EKS describes only the node groups it creates.
// On the shared machine, before (d6c0aca) and after, back to back at load 12 to 24: requests per
// EKS / AKS / GKE cluster 10 / 17 / 34.3 -> 8.2 / 7.4 / 6.1, throttled 574 -> 0, importer 27.5 ->
// 20.3 CPU s (65 s and 78 s: the load, not the importer). At load 5.5, 17.1 s (efficiency 0.467)
// against 47.5 s at load 7 before. With no 429s left the importer's CPU (one thread) bounds it.
//
// Alone on the machine (dedeb92 to 44ae85c), six runs: 12.5 to 14.8 s against a critical path of
// 10 s (efficiency 0.80 to 0.68); with later looks not due before the time seen (2ea86f9), six
// runs: 12.4 to 13.9 s (median 13.0, efficiency 0.77; 13.2 s recorded, 0.76). The 10 s is EKS's
// phase bound: 300 requests must follow its control planes, done at 5 s at the earliest. The
// importer's main thread is busy throughout (one core, the machine 85-92% busy): 300 requests
// and about 1,650 looks, 550 of them finding the
// operation still under way, each look some 4 to 5 ms of SDK, SQL and span work. Most such looks
// come from the documented typical times the first looks of a fleet are timed by before any
// duration is seen (AKS pools: 2 s at this scale against the stand-in's 3 s). The creates go out
// over the first 2.4 s (the importer's CPU again), and every cluster's chain starts that late.
// Since then an EKS create's last look reads only its node groups (two calls, not three), GKE's
// budget is a window (its creates go out together), and AKS and GKE clusters are created with
// their node groups in one operation: seven runs 11.5 to 12.0 s (median 11.68, efficiency 0.856),
// 7.5 / 1.3 / 1.3 requests per EKS / AKS / GKE cluster, importer 12 to 14 CPU s; EKS is last.
//
// Environment: BENCH_CLUSTERS_PER_CLOUD (100), BENCH_TIME_SCALE (120), BENCH_CONCURRENCY (64:
// MANAGED_CONCURRENCY, steps the reconciler has in flight), BENCH_DATABASE_POOL_SIZE (30:
// the importer's DATABASE_POOL_SIZE), BENCH_POLL_MS (100),
// BENCH_TIMEOUT_MS (300000), BENCH_RESULTS_DIR (<repo>/bench/results), BENCH_IMPORTER_LOG (unset:
// a file for the importer's output), BENCH_CPU_PROFILE_DIR (unset: where the importer writes V8
// CPU profiles when it stops), BENCH_TRUST (cloud-ca-file, or node-extra-ca-certs: see TRUST), LOG_LEVEL (warn; info: every step), TEST_DATABASE_URL,
// TEST_NATS_URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterReady, ClusterRequested, createEvent, eventsSubject, streamName, type EventData } from '@flotilla/contracts';
import { BusConnection, busOptions, ensureStreams, publishEvent } from '@flotilla/messaging';
import { Cleanups, databaseUrl, deleteTestStreams, ensureDatabase, freePort, randomSuffix, TEST_NATS_URL, TEST_SERVER_URL } from '@flotilla/messaging/testing';
import { KeyRing } from '@flotilla/secrets';
import { testIssuer } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { criticalPath, type CloudWork } from '../test/bench/critical-path.js';
import { AzureStandin } from '../test/support/cloud-standins/azure-standin.js';
import { EksStandin } from '../test/support/cloud-standins/eks-standin.js';
import { GcpStandin, newServiceAccount } from '../test/support/cloud-standins/gcp-standin.js';
import { testTls } from '../test/support/cloud-standins/test-tls.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const PER_CLOUD = envNumber('BENCH_CLUSTERS_PER_CLOUD', 100);
const TIME_SCALE = envNumber('BENCH_TIME_SCALE', 120);
const CONCURRENCY = envNumber('BENCH_CONCURRENCY', 64);
const POOL_SIZE = envNumber('BENCH_DATABASE_POOL_SIZE', 30);
const POLL_MS = envNumber('BENCH_POLL_MS', 100);
const TIMEOUT_MS = envNumber('BENCH_TIMEOUT_MS', 300_000);
/** Where the importer's whole output goes, when set (with LOG_LEVEL=info: every step it takes). */
const LOG_FILE = process.env['BENCH_IMPORTER_LOG'] || undefined;
const CPU_PROFILE_DIR = process.env['BENCH_CPU_PROFILE_DIR'] || undefined;
/**
 * How the importer trusts the stand-ins' CA: `cloud-ca-file` (CLOUD_CA_FILE, the product's way:
 * the SDK clients get Node's roots plus it as `ca`) or `node-extra-ca-certs` (NODE_EXTRA_CA_CERTS:
 * the process's default trust, no `ca` option at all), to see what the `ca` option costs.
 */
const TRUST = process.env['BENCH_TRUST'] ?? 'cloud-ca-file';
if (TRUST !== 'cloud-ca-file' && TRUST !== 'node-extra-ca-certs') throw new Error(`BENCH_TRUST must be cloud-ca-file or node-extra-ca-certs, not "${TRUST}"`);
const RESULTS_DIR = process.env['BENCH_RESULTS_DIR'] ?? join(repoRoot, 'bench/results');
const CLUSTERS = 3 * PER_CLOUD;
const NODE_GROUPS = 2;
const TARGET_EFFICIENCY = 0.8;
const DATABASE = 'flotilla_test';

// Operation times (ms): a control plane in seconds, node groups shorter. EKS's chain comes to 8 s
// (its node groups once the cluster is ACTIVE); AKS and GKE create the node groups with the cluster,
// in 5 and 4 s (the pool times are their pools' own operations: scale, upgrade, delete).
const EKS_DURATIONS = { createCluster: 5_000, createNodegroup: 3_000 };
const AKS_DURATIONS = { clusterCreate: 5_000, poolCreate: 3_000 };
const GKE_DURATIONS = { createCluster: 4_000, deleteNodePool: 1_000, createNodePool: 1_500 };
// Request limits per account: EKS and ARM token buckets, GKE requests per window as Google counts them.
const EKS_LIMIT = { requestsPerSecond: 100, burst: 100 };
const AKS_LIMIT = { perSecond: 100, burst: 100 };
const GKE_LIMIT = { requests: 100, windowMs: 1_000 };
// What the importer is told of them (CLOUD_*_REQUEST_RATE): its budgets stay a little under each
// limit, buckets for the buckets and a window for GKE's window, a little longer than GKE's: the
// stand-in counts calls when they arrive, and a call that waited on a busy event loop arrives late.
const IMPORTER_RATES = { eks: '95/90', aks: '95/90', gke: '90 per 1100ms' };

const REGION = { eks: 'eu-west-1', aks: 'westeurope', gke: 'europe-west1' } as const;
const VERSION = '1.31';
const SUBSCRIPTION = '00000000-0000-0000-0000-0000000b3c40';
const RESOURCE_GROUP = 'rg-fleet-bench';
const PROJECT = 'flotilla-bench';
const awsAccount = { accessKeyId: 'AKIABENCHCLOUDPROV01', secretAccessKey: 'bench/cloud+provisioning/secret/key/0000001' };
const azureAccount = { tenantId: '00000000-0000-0000-0000-0000000000aa', clientId: '00000000-0000-0000-0000-0000000b3c41', clientSecret: 'bench-azure-client-secret' };
const gcpAccount = newServiceAccount('flotilla-bench@flotilla-bench.iam.gserviceaccount.com', [PROJECT]);

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return value;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message: string) => console.error(`[bench] ${message}`);

type Provider = 'eks' | 'aks' | 'gke';
const PROVIDERS: Provider[] = ['eks', 'aks', 'gke'];
const clusterId = (provider: Provider, index: number) => `cb-${provider}-${String(index).padStart(3, '0')}`;

function request(provider: Provider, index: number): EventData<typeof ClusterRequested> {
  const machineSize = { eks: 'm6i.large', aks: 'Standard_D2s_v5', gke: 'e2-standard-2' }[provider];
  const networking = {
    eks: {
      subnetIds: ['subnet-0bench0a', 'subnet-0bench0b'],
      securityGroupIds: ['sg-0bench'],
      clusterRoleArn: 'arn:aws:iam::123456789012:role/flotilla-eks-cluster',
      nodeRoleArn: 'arn:aws:iam::123456789012:role/flotilla-eks-node',
    },
    aks: {},
    gke: { network: 'fleet', subnetwork: 'fleet-nodes' },
  }[provider];
  const place = { eks: {}, aks: { subscriptionId: SUBSCRIPTION, resourceGroup: RESOURCE_GROUP }, gke: { projectId: PROJECT } }[provider];
  return {
    name: clusterId(provider, index),
    model: 'public-cloud',
    kubernetesVersion: VERSION,
    nodePools: [
      { name: 'system', count: 2, machineSize, labels: { role: 'system' }, taints: [] },
      { name: 'workers', count: 2, machineSize, minCount: 1, maxCount: 4, labels: { role: 'workers' }, taints: [] },
    ],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    cloud: { provider, credentialRef: `bench-${provider}`, region: REGION[provider], ...place, networking, endpointAccess: 'public', tags: { bench: 'cloud-provisioning' } },
  };
}

/** The importer's own process, started as production starts it (its entry is bench/cloud-importer.ts). */
class ImporterProcess {
  private child: ChildProcess | undefined;
  private readonly output: string[] = [];

  constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const entry = join(repoRoot, 'services/importer/dist/bench/cloud-importer.js');
    // `--cpu-prof`: V8 writes the importer's CPU profile there when it stops.
    const profile = CPU_PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}`];
    const child = spawn(process.execPath, [...profile, '--enable-source-maps', '--import', '@flotilla/telemetry/register', entry], {
      cwd: repoRoot,
      env: { ...process.env, ...this.env, PORT: String(this.port), FLOTILLA_SERVICE: 'importer' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const logFile = LOG_FILE === undefined ? undefined : createWriteStream(LOG_FILE);
    const keep = (chunk: Buffer) => {
      logFile?.write(chunk);
      this.output.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.output.length > 2_000) this.output.splice(0, this.output.length - 2_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`importer exited with ${child.exitCode ?? child.signalCode}:\n${this.tail()}`);
      const response = await fetch(`${this.url}/readyz`).catch(() => undefined);
      if (response?.ok) return;
      if (performance.now() > deadline) throw new Error(`importer not ready within ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(100);
    }
  }

  tail(lines = 30): string {
    return this.output.slice(-lines).join('\n');
  }

  lines(): readonly string[] {
    return this.output;
  }

  /** Peak resident set and CPU seconds, from /proc. */
  usage(): { peakRssMb: number; cpuSeconds: number } | undefined {
    const pid = this.child?.pid;
    if (pid === undefined || !this.running) return undefined;
    return procUsage(pid);
  }

  async stop(): Promise<void> {
    if (!this.child || !this.running) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
}

function procUsage(pid: number): { peakRssMb: number; cpuSeconds: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { peakRssMb: Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) / 1024, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
  } catch {
    return undefined;
  }
}

const cleanups = new Cleanups(log);

interface Progress {
  at: number;
  byPhase: Record<string, number>;
  throttled: number;
}

async function main(): Promise<void> {
  const suffix = randomSuffix();
  const prefix = `bcloud${suffix}`;
  const schema = `bench_importer_${suffix}`;
  await ensureDatabase(DATABASE);
  const url = databaseUrl(DATABASE, TEST_SERVER_URL);
  const db = await new DataSource({ type: 'postgres', url, extra: { max: 2 } }).initialize();
  cleanups.push(() => db.destroy());
  cleanups.push(() => db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  const bus = await BusConnection.open(TEST_NATS_URL, 'cloud-provisioning-bench');
  cleanups.push(() => bus.drain());
  cleanups.push(() => deleteTestStreams(bus.jsm, prefix));
  await ensureStreams(bus.jsm, busOptions({ service: 'bench', prefix, natsUrl: TEST_NATS_URL }));

  // The clouds, with the times and limits the critical path is computed from.
  const tls = testTls();
  const eks = await EksStandin.start({
    durations: EKS_DURATIONS,
    versions: { [REGION.eks]: ['1.30', '1.31', '1.32'] },
    clusterQuota: PER_CLOUD,
    rateLimit: { ...EKS_LIMIT, fractionalRetryAfter: true },
  });
  cleanups.push(() => eks.close());
  eks.identities.set(awsAccount.accessKeyId, { ...awsAccount, arn: 'arn:aws:iam::123456789012:user/flotilla-importer', eksAllowed: true });
  const aks = await AzureStandin.start({ durations: AKS_DURATIONS, rateLimit: { ...AKS_LIMIT, retryAfter: 'fractional' } });
  cleanups.push(() => aks.close());
  aks.principals.set(azureAccount.clientId, { ...azureAccount, subscriptions: [SUBSCRIPTION] });
  const gke = await GcpStandin.start({ durations: GKE_DURATIONS, rateLimit: GKE_LIMIT });
  cleanups.push(() => gke.close());
  gke.addAccount(gcpAccount);
  const works: CloudWork[] = [
    { provider: 'eks', clusters: PER_CLOUD, nodeGroups: NODE_GROUPS, durations: EKS_DURATIONS, rateLimit: { kind: 'token-bucket', perSecond: EKS_LIMIT.requestsPerSecond, burst: EKS_LIMIT.burst } },
    { provider: 'aks', clusters: PER_CLOUD, nodeGroups: NODE_GROUPS, durations: AKS_DURATIONS, rateLimit: { kind: 'token-bucket', perSecond: AKS_LIMIT.perSecond, burst: AKS_LIMIT.burst } },
    { provider: 'gke', clusters: PER_CLOUD, nodeGroups: NODE_GROUPS, durations: GKE_DURATIONS, rateLimit: { kind: 'window', ...GKE_LIMIT } },
  ];
  const bound = criticalPath(works);

  const caDir = mkdtempSync(join(tmpdir(), 'cloud-bench-ca-'));
  cleanups.push(() => rmSync(caDir, { recursive: true, force: true }));
  const caFile = join(caDir, 'ca.pem');
  writeFileSync(caFile, tls.caPem);

  // The reconciler's waits at the benchmark's time scale (its defaults are in importer.module.ts).
  const scaled = (realMs: number) => Math.max(10, Math.round(realMs / TIME_SCALE));
  // The clouds' typical operation times (look-again.ts) are divided by the same scale.
  const managed = {
    roundIntervalMs: scaled(1_000),
    pollIntervalMs: scaled(15_000),
    retryBaseMs: scaled(5_000),
    maxRetryMs: scaled(300_000),
    throttleFallbackMs: scaled(10_000),
    operationTimeScale: TIME_SCALE,
  };
  // Published before the importer starts, so it already knows the key of the token used below.
  const issuer = await testIssuer(prefix, TEST_NATS_URL);
  const importer = new ImporterProcess(await freePort(), {
    DATABASE_URL: url,
    DATABASE_SCHEMA: schema,
    NATS_URL: TEST_NATS_URL,
    BUS_PREFIX: prefix,
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn',
    OTEL_TRACES_EXPORTER: 'none',
    SECRETS_KEYS: KeyRing.generateConfigValue(['bench-1']),
    // The import and re-check loops have no work here: they poll at their default. The managed
    // reconciler's round is scaled with the rest of its waits (BENCH_MANAGED_SETTINGS).
    IMPORT_POLL_INTERVAL_MS: '1000',
    MANAGED_CONCURRENCY: String(CONCURRENCY),
    // Each cluster of a round holds a connection for its queries: the default 10 starves a round of 20.
    DATABASE_POOL_SIZE: String(POOL_SIZE),
    // Ready clusters are not re-checked during the run (their API servers are not stood in for).
    SYNC_INTERVAL_MS: '3600000',
    CLOUD_EKS_ENDPOINT: eks.url,
    CLOUD_AWS_STS_ENDPOINT: eks.url,
    CLOUD_AZURE_ARM_ENDPOINT: aks.url,
    CLOUD_AZURE_AUTHORITY_HOST: aks.url,
    CLOUD_GKE_API_ENDPOINT: gke.url,
    CLOUD_GCP_TOKEN_URI: `${gke.url}/token`,
    CLOUD_EKS_REQUEST_RATE: IMPORTER_RATES.eks,
    CLOUD_AKS_REQUEST_RATE: IMPORTER_RATES.aks,
    CLOUD_GKE_REQUEST_RATE: IMPORTER_RATES.gke,
    // The shared location lists (GKE, AKS) at the scale of the reconciler's poll.
    CLOUD_LIST_MAX_AGE_MS: String(scaled(15_000)),
    ...(TRUST === 'cloud-ca-file' ? { CLOUD_CA_FILE: caFile } : { NODE_EXTRA_CA_CERTS: caFile }),
    BENCH_MANAGED_SETTINGS: JSON.stringify(managed),
  });
  cleanups.push(() => importer.stop());
  log(`${CLUSTERS} clusters (${PER_CLOUD} per cloud, ${NODE_GROUPS} node groups each); prefix ${prefix}; reconciler ${JSON.stringify(managed)}, concurrency ${CONCURRENCY}; load ${loadText()}`);
  await importer.start();
  log(`importer ready at ${importer.url}`);

  const admin = `Bearer ${await issuer.token('admin')}`;
  const accounts = { eks: awsAccount, aks: azureAccount, gke: gcpAccount.keyFile };
  for (const provider of PROVIDERS) {
    const response = await fetch(`${importer.url}/api/v1/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: admin },
      body: JSON.stringify({ ref: `bench-${provider}`, kind: 'cloud-account', provider, account: accounts[provider] }),
    });
    if (response.status !== 201) throw new Error(`cloud account bench-${provider}: ${response.status} ${await response.text()}`);
  }

  // Interleaved, so no cloud gets its requests in first.
  const requests = Array.from({ length: PER_CLOUD }, (_, index) => PROVIDERS.map((provider) => createEvent(ClusterRequested, { subject: clusterId(provider, index), source: '/flotilla/inventory' }, request(provider, index)))).flat();
  const subject = eventsSubject({ prefix }, ClusterRequested.channel);
  const cpuAtStart = process.cpuUsage();
  const startedWall = Date.now();
  const started = performance.now();
  for (let index = 0; index < requests.length; index += 100) {
    await Promise.all(requests.slice(index, index + 100).map((event) => publishEvent(bus.js, subject, event)));
  }
  const publishSeconds = (performance.now() - started) / 1000;
  log(`published ${CLUSTERS} ClusterRequested in ${publishSeconds.toFixed(2)} s; critical path ${bound.seconds.toFixed(2)} s`);

  const throttledNow = () => eks.counts().throttledRequests + aks.counts().throttledRequests + gke.counts().throttledRequests;
  const history: Progress[] = [];
  let lastPrint = 0;
  for (;;) {
    const elapsed = performance.now() - started;
    const rows = await db.query<{ phase: string; count: number }[]>(`SELECT phase, count(*)::int AS count FROM "${schema}".managed_clusters GROUP BY phase`);
    const byPhase = Object.fromEntries(rows.map((row) => [row.phase, row.count]));
    const progress = { at: elapsed, byPhase, throttled: throttledNow() };
    history.push(progress);
    if ((byPhase['Running'] ?? 0) >= CLUSTERS) break;
    if ((byPhase['Failed'] ?? 0) > 0) throw new Error(`${byPhase['Failed']} cluster(s) Failed: ${await failureSample(db, schema)}`);
    if (!importer.running) throw new Error(`the importer exited during the run:\n${importer.tail()}`);
    if (elapsed > TIMEOUT_MS) throw new Error(`only ${byPhase['Running'] ?? 0} of ${CLUSTERS} clusters Running after ${TIMEOUT_MS} ms: ${JSON.stringify(byPhase)}; ${await failureSample(db, schema)}`);
    if (elapsed - lastPrint >= 2_000) {
      lastPrint = elapsed;
      log(`${(elapsed / 1000).toFixed(1).padStart(6)} s  ${JSON.stringify(byPhase)}  throttled ${progress.throttled}  load ${loadText()}`);
    }
    await sleep(POLL_MS);
  }
  const usage = importer.usage();
  const benchCpu = process.cpuUsage(cpuAtStart);

  // Each cluster's ClusterReady committed with its row turning Running (updated_at: that transaction's start).
  const readyRows = await db.query<{ id: string; provider: Provider; at: number }[]>(
    `SELECT id, provider, (extract(epoch FROM updated_at) * 1000)::float8 AS at FROM "${schema}".managed_clusters WHERE phase = 'Running' AND work IS NULL`,
  );
  const readyAt = (rows: typeof readyRows) => rows.map((row) => (Number(row.at) - startedWall) / 1000).sort((a, b) => a - b);
  const allReady = readyAt(readyRows);
  const seconds = allReady.at(-1) ?? Number.NaN;
  const readyEvents = await countOnBus(bus, prefix, ClusterReady.channel);

  const counts = { eks: eks.counts(), aks: aks.counts(), gke: gke.counts() };
  const requestsMade = { eks: counts.eks.requests, aks: counts.aks.armRequests, gke: counts.gke.apiRequests };
  const duplicates = counts.eks.duplicateCreates + counts.aks.duplicateCreates + counts.gke.duplicateCreates;
  const throttled = counts.eks.throttledRequests + counts.aks.throttledRequests + counts.gke.throttledRequests;
  const efficiency = bound.seconds / seconds;
  const gateClosures = importer.lines().filter((line) => line.includes('account gate closed')).length;
  const failedRounds = importer.lines().filter((line) => line.includes('managed cloud clusters round failed')).length;

  const problems: string[] = [];
  if (readyRows.length !== CLUSTERS) problems.push(`${readyRows.length} of ${CLUSTERS} clusters Running`);
  if (readyEvents !== CLUSTERS) problems.push(`${readyEvents} ClusterReady events on the bus, expected ${CLUSTERS}`);
  if (duplicates !== 0) problems.push(`${duplicates} duplicate create(s) at the stand-ins`);

  const perCloud = Object.fromEntries(
    PROVIDERS.map((provider) => {
      const times = readyAt(readyRows.filter((row) => row.provider === provider));
      const cloudBound = bound.clouds.find((cloud) => cloud.provider === provider)!;
      return [
        provider,
        {
          seconds_to_all_ready: round(times.at(-1) ?? Number.NaN),
          first_ready_s: round(times[0] ?? Number.NaN),
          p50_ready_s: round(times[Math.floor(times.length / 2)] ?? Number.NaN),
          chain_s: round(cloudBound.chainS),
          min_requests: cloudBound.minRequests,
          rate_limited_s: round(cloudBound.rateS),
          phase_bound_s: round(cloudBound.phaseS),
          requests: requestsMade[provider],
          requests_per_cluster: round(requestsMade[provider] / PER_CLOUD, 1),
          throttled_requests: counts[provider].throttledRequests,
          creates: Object.values(counts[provider].creates).reduce((sum, count) => sum + count, 0),
          duplicate_creates: counts[provider].duplicateCreates,
        },
      ];
    }),
  );
  const result = {
    benchmark: 'cloud-provisioning',
    timestamp: new Date(startedWall).toISOString(),
    clusters: CLUSTERS,
    seconds_to_all_ready: round(seconds),
    critical_path_s: round(bound.seconds),
    efficiency: round(efficiency, 3),
    target_efficiency: TARGET_EFFICIENCY,
    throttled_requests: throttled,
    duplicate_creates: duplicates,
    per_cloud: perCloud,
    parameters: {
      clusters_per_cloud: PER_CLOUD,
      node_groups_per_cluster: NODE_GROUPS,
      durations_ms: { eks: EKS_DURATIONS, aks: AKS_DURATIONS, gke: GKE_DURATIONS },
      rate_limits: { eks: EKS_LIMIT, aks: AKS_LIMIT, gke: GKE_LIMIT },
      time_scale: TIME_SCALE,
      reconciler: { ...managed, concurrency: CONCURRENCY, database_pool_size: POOL_SIZE },
      importer_request_rates: IMPORTER_RATES,
      list_max_age_ms: scaled(15_000),
      trust: TRUST,
    },
    gate_closures_logged: gateClosures,
    reconciler_rounds_failed: failedRounds,
    cluster_ready_events: readyEvents,
    publish_seconds: round(publishSeconds),
    importer_peak_rss_mb: round(usage?.peakRssMb ?? Number.NaN, 1),
    importer_cpu_seconds: round(usage?.cpuSeconds ?? Number.NaN),
    // This process serves the three stand-ins (TLS, signatures, JSON): it shares the cores with the importer.
    standins_cpu_seconds: round((benchCpu.user + benchCpu.system) / 1e6),
    progress: sampleProgress(history),
    load_average_end: loadavg().map((value) => round(value)),
    problems,
    node: process.version,
  };
  console.log(JSON.stringify(result, null, 2));
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'cloud-provisioning.json'), `${JSON.stringify(result, null, 2)}\n`);
  log(
    `all ${CLUSTERS} ready in ${seconds.toFixed(2)} s; critical path ${bound.seconds.toFixed(2)} s; efficiency ${efficiency.toFixed(3)} (target >= ${TARGET_EFFICIENCY}); ` +
      `throttled ${throttled}; duplicate creates ${duplicates}`,
  );
  if (problems.length > 0) throw new Error(`benchmark checks failed: ${problems.join('; ')}`);
}

async function failureSample(db: DataSource, schema: string): Promise<string> {
  const rows = await db.query<{ id: string; phase: string; step: string | null; reasons: unknown }[]>(
    `SELECT id, phase, step, reasons FROM "${schema}".managed_clusters WHERE phase = 'Failed' OR reasons <> '[]'::jsonb LIMIT 3`,
  );
  return JSON.stringify(rows);
}

async function countOnBus(bus: BusConnection, prefix: string, channel: string): Promise<number> {
  const subject = eventsSubject({ prefix }, channel);
  const info = await bus.jsm.streams.info(streamName({ prefix }, 'events'), { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

/** About 20 evenly spaced samples of the progress, to see where the time went. */
function sampleProgress(history: Progress[]): { s: number; phases: Record<string, number>; throttled: number }[] {
  const step = Math.max(1, Math.floor(history.length / 20));
  return history.filter((_, index) => index % step === 0 || index === history.length - 1).map((p) => ({ s: round(p.at / 1000), phases: p.byPhase, throttled: p.throttled }));
}

function loadText(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
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
