import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterRequested, createEvent, eventsSubject, type EventData } from '@flotilla/contracts';
import { BusConnection, busOptions, ensureStreams, publishEvent } from '@flotilla/messaging';
import { databaseUrl, deleteTestStreams, ensureDatabase, eventually, freePort, randomSuffix, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix } from '@flotilla/messaging/testing';
import { KeyRing } from '@flotilla/secrets';
import { testIssuer } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { testTls } from '../support/cloud-standins/test-tls.js';
import { STANDIN_TIME_SCALE } from './support.js';

// The importer as its own process, as production starts it (runService, config from the
// environment, CLOUD_* at the stand-ins, CLOUD_CA_FILE their CA), with the reconciler's waits
// scaled to the stand-ins' sub-second operations (BENCH_MANAGED_SETTINGS of the benchmark's
// entry, which does nothing else).
const ENTRY = fileURLToPath(new URL('../../bench/cloud-importer.js', import.meta.url));

/** Importer processes on one schema and bus prefix, started, killed and started again by a test. */
export class ImporterProcesses {
  readonly env: Record<string, string> = {
    DATABASE_URL: databaseUrl('flotilla_test'),
    DATABASE_SCHEMA: `importer_kill_${randomSuffix()}`,
    BUS_PREFIX: testBusPrefix(),
    NATS_URL: TEST_NATS_URL,
    LOG_LEVEL: 'warn',
    OTEL_SDK_DISABLED: 'true',
    BUS_STREAM_MAX_BYTES: String(TEST_STREAM_MAX_BYTES),
    // Every process opens the cloud account the first one sealed.
    SECRETS_KEYS: KeyRing.generateConfigValue(['kill-1']),
    IMPORT_POLL_INTERVAL_MS: '50',
    // Ready clusters are not re-checked here (their API servers are not stood in for).
    SYNC_INTERVAL_MS: '3600000',
    CLOUD_REQUEST_TIMEOUT_MS: '5000',
    // The location lists a look reads (GKE, AKS) at the same scale as the reconciler's poll.
    CLOUD_LIST_MAX_AGE_MS: '100',
    // A step cut by the kill leaves its claim to run out: short, so the next process takes it over soon.
    BENCH_MANAGED_SETTINGS: JSON.stringify({ roundIntervalMs: 50, pollIntervalMs: 100, retryBaseMs: 100, maxRetryMs: 1_000, throttleFallbackMs: 300, stepTimeoutMs: 6_000, leaseMs: 8_000, operationTimeScale: STANDIN_TIME_SCALE }),
  };
  private readonly children: ChildProcess[] = [];

  private constructor(
    readonly bus: BusConnection,
    readonly db: DataSource,
    private readonly caDir: string,
    private readonly port: number,
  ) {}

  /** `cloud`: the CLOUD_* variables pointing at the stand-ins. */
  static async open(cloud: Record<string, string>): Promise<ImporterProcesses> {
    await ensureDatabase('flotilla_test');
    const db = await new DataSource({ type: 'postgres', url: databaseUrl('flotilla_test'), extra: { max: 2 } }).initialize();
    const bus = await BusConnection.open(TEST_NATS_URL, 'importer-process-kill-test');
    const caDir = mkdtempSync(join(tmpdir(), 'importer-kill-ca-'));
    writeFileSync(join(caDir, 'ca.pem'), testTls().caPem);
    const processes = new ImporterProcesses(bus, db, caDir, await freePort());
    Object.assign(processes.env, cloud, { CLOUD_CA_FILE: join(caDir, 'ca.pem') });
    await ensureStreams(bus.jsm, busOptions({ service: 'test', prefix: processes.prefix, natsUrl: TEST_NATS_URL }));
    return processes;
  }

  get prefix(): string {
    return this.env['BUS_PREFIX']!;
  }

  get schema(): string {
    return this.env['DATABASE_SCHEMA']!;
  }

  /** Starts an importer process and waits until it answers /readyz (migrated, consuming). */
  async start(): Promise<ChildProcess> {
    // Published before the process starts, so it knows the key of the tokens used here.
    await testIssuer(this.prefix, TEST_NATS_URL);
    const child = spawn(process.execPath, ['--enable-source-maps', ENTRY], { env: { ...process.env, ...this.env, PORT: String(this.port), FLOTILLA_SERVICE: 'importer' }, stdio: ['ignore', 'inherit', 'inherit'] });
    this.children.push(child);
    await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the importer exited (${child.exitCode ?? child.signalCode})`);
        const response = await fetch(`http://127.0.0.1:${this.port}/readyz`).catch(() => undefined);
        return response?.ok === true ? true : undefined;
      },
      60_000,
      'the importer ready',
    );
    return child;
  }

  async kill(child: ChildProcess): Promise<void> {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Stores a cloud account through the running process's API, as an admin. */
  async registerAccount(ref: string, provider: 'eks' | 'aks' | 'gke', account: unknown): Promise<void> {
    const issuer = await testIssuer(this.prefix, TEST_NATS_URL);
    const response = await fetch(`http://127.0.0.1:${this.port}/api/v1/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await issuer.token('admin')}` },
      body: JSON.stringify({ ref, kind: 'cloud-account', provider, account }),
    });
    if (response.status !== 201) throw new Error(`registering ${ref}: ${response.status} ${await response.text()}`);
  }

  async request(clusterId: string, data: EventData<typeof ClusterRequested>): Promise<void> {
    await publishEvent(this.bus.js, eventsSubject({ prefix: this.prefix }, ClusterRequested.channel), createEvent(ClusterRequested, { subject: clusterId, source: '/flotilla/inventory' }, data));
  }

  /** The managed cluster's row as the processes left it. */
  async managedRow(clusterId: string): Promise<{ phase: string; work: unknown }[]> {
    return this.db.query<{ phase: string; work: unknown }[]>(`SELECT phase, work FROM "${this.schema}".managed_clusters WHERE id = $1`, [clusterId]);
  }

  async close(): Promise<void> {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) await this.kill(child);
    await this.db.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    await this.db.destroy();
    rmSync(this.caDir, { recursive: true, force: true });
    await deleteTestStreams(this.bus.jsm, this.prefix);
    await this.bus.drain();
  }
}
