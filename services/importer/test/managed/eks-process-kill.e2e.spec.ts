import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ClusterReady, ClusterRequested, createEvent, eventsSubject } from '@flotilla/contracts';
import { BusConnection, busOptions, ensureStreams, publishEvent } from '@flotilla/messaging';
import { databaseUrl, deleteTestStreams, ensureDatabase, eventsOf, eventually, freePort, randomSuffix, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix } from '@flotilla/messaging/testing';
import { KeyRing } from '@flotilla/secrets';
import { testIssuer } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { cloudNameFor } from '../../src/managed/managed-cluster.js';
import { EksStandin } from '../support/cloud-standins/eks-standin.js';
import { testTls } from '../support/cloud-standins/test-tls.js';
import { eksClusterRequest } from './support.js';

// The importer as its own process, as production starts it (runService, config from the
// environment, CLOUD_* at the stand-in), with the reconciler's waits scaled to the stand-in's
// sub-second operations (BENCH_MANAGED_SETTINGS of the benchmark's entry, which is nothing else).
const ENTRY = fileURLToPath(new URL('../../bench/cloud-importer.js', import.meta.url));

const account = { accessKeyId: 'AKIAPROCESSKILLTEST1', secretAccessKey: 'process/kill+test/0123456789abcdefghijkl' };
const region = 'eu-west-1';
const clusterId = 'killed';

describe('the importer process killed with SIGKILL in the middle of a public cloud create (EKS): restarted, it finishes it from what EKS has', () => {
  const env: Record<string, string> = {
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
    // A step cut by the kill leaves its claim to run out: short, so the next process takes it over soon.
    BENCH_MANAGED_SETTINGS: JSON.stringify({ roundIntervalMs: 50, pollIntervalMs: 100, retryBaseMs: 100, maxRetryMs: 1_000, throttleFallbackMs: 300, stepTimeoutMs: 6_000, leaseMs: 8_000 }),
  };
  let eks: EksStandin;
  let bus: BusConnection;
  let db: DataSource;
  let caDir: string;
  let port: number;
  const children: ChildProcess[] = [];
  const schema = env['DATABASE_SCHEMA']!;
  const cloudName = cloudNameFor(clusterId);
  const creates = (what = '') => eks.lifecycle.creates.get(what === '' ? `cluster/${region}/${cloudName}` : `nodegroup/${region}/${cloudName}/${what}`) ?? 0;
  const stored = () => eks.fixtures.find((entry) => entry.region === region && entry.cluster.name === cloudName);

  /** Starts an importer process and waits until it answers /readyz (migrated, consuming). */
  const startImporter = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--enable-source-maps', ENTRY], { env: { ...process.env, ...env, PORT: String(port), FLOTILLA_SERVICE: 'importer' }, stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(child);
    await eventually(
      async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the importer exited (${child.exitCode ?? child.signalCode})`);
        const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return response?.ok === true ? true : undefined;
      },
      60_000,
      'the importer ready',
    );
    return child;
  };

  const kill = async (child: ChildProcess): Promise<void> => {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };

  before(async () => {
    await ensureDatabase('flotilla_test');
    db = await new DataSource({ type: 'postgres', url: env['DATABASE_URL']!, extra: { max: 2 } }).initialize();
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-process-kill-test');
    await ensureStreams(bus.jsm, busOptions({ service: 'test', prefix: env['BUS_PREFIX']!, natsUrl: TEST_NATS_URL }));
    eks = await EksStandin.start({ durations: { createCluster: 800, createNodegroup: 600, deleteCluster: 200, deleteNodegroup: 200 }, versions: { [region]: ['1.30', '1.31'] } });
    eks.identities.set(account.accessKeyId, { ...account, arn: 'arn:aws:iam::123456789012:user/flotilla-importer', eksAllowed: true });
    caDir = mkdtempSync(join(tmpdir(), 'importer-kill-ca-'));
    writeFileSync(join(caDir, 'ca.pem'), testTls().caPem);
    Object.assign(env, { CLOUD_EKS_ENDPOINT: eks.url, CLOUD_AWS_STS_ENDPOINT: eks.url, CLOUD_CA_FILE: join(caDir, 'ca.pem') });
    port = await freePort();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) await kill(child);
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.destroy();
    await eks.close();
    rmSync(caDir, { recursive: true, force: true });
    await deleteTestStreams(bus.jsm, env['BUS_PREFIX']!);
    await bus.drain();
  });

  it('killed while the control plane is CREATING, then while the node groups are CREATING: ClusterReady once, one cluster and one of each node group at EKS', async () => {
    // Published before the first process starts, so it knows the key of the admin token.
    const issuer = await testIssuer(env['BUS_PREFIX']!, TEST_NATS_URL);
    const first = await startImporter();
    const registered = await fetch(`http://127.0.0.1:${port}/api/v1/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await issuer.token('admin')}` },
      body: JSON.stringify({ ref: 'aws-fleet', kind: 'cloud-account', provider: 'eks', account }),
    });
    assert.equal(registered.status, 201, await registered.text());

    // EKS's clock held while the process dies: the control plane cannot finish before the kill, however slow the machine.
    eks.lifecycle.pause();
    const request = createEvent(ClusterRequested, { subject: clusterId, source: '/flotilla/inventory' }, eksClusterRequest(clusterId, '1.31', region));
    await publishEvent(bus.js, eventsSubject({ prefix: env['BUS_PREFIX']! }, ClusterRequested.channel), request);
    await eventually(() => (creates() === 1 ? true : undefined), 60_000, 'the control plane create at EKS');
    await kill(first);
    assert.equal(stored()?.cluster.status, 'CREATING', 'killed while the control plane was being created');

    const second = await startImporter();
    eks.lifecycle.resume();
    await eventually(() => (creates('system') + creates('workers') > 0 ? true : undefined), 60_000, 'a node group create at EKS');
    eks.lifecycle.pause();
    await kill(second);
    const groups = stored()?.nodegroups ?? [];
    assert.ok(groups.length > 0 && groups.every((group) => group.status === 'CREATING'), `killed while node groups were being created: ${JSON.stringify(groups.map((group) => [group.nodegroupName, group.status]))}`);

    await startImporter();
    eks.lifecycle.resume();
    const [ready] = await eventually(async () => {
      const seen = await eventsOf(bus, env['BUS_PREFIX']!, ClusterReady, clusterId);
      return seen.length > 0 ? seen : undefined;
    }, 60_000, 'ClusterReady');
    assert.equal(ready?.data.nodeCount, 5);
    assert.match(ready?.data.kubernetesVersion ?? '', /^1\.31/);

    assert.deepEqual([creates(), creates('system'), creates('workers')], [1, 1, 1], 'exactly one cluster and one of each node group at EKS');
    assert.equal(eks.lifecycle.duplicateCreates, 0);
    assert.deepEqual(
      stored()?.nodegroups.map((group) => [group.nodegroupName, group.status]).sort(),
      [
        ['system', 'ACTIVE'],
        ['workers', 'ACTIVE'],
      ],
    );
    const rows = await db.query<{ phase: string; work: unknown }[]>(`SELECT phase, work FROM "${schema}".managed_clusters WHERE id = $1`, [clusterId]);
    assert.deepEqual(rows, [{ phase: 'Running', work: null }]);
    // The work is over (no step left to take), so the one ClusterReady is the only one there will be.
    assert.equal((await eventsOf(bus, env['BUS_PREFIX']!, ClusterReady, clusterId)).length, 1);
  });
});
