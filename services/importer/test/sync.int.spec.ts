import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterReachable, ClusterUnreachable, ClusterVersionChanged } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { importerService } from '../src/service.js';
import { kubeadmCluster, versionBody } from './support/cluster-fixtures.js';
import { FakeApiServer } from './support/fake-apiserver.js';
import { importerClient, importerTestEnv, waitForEvents } from './support/importer-client.js';
import { createTestPki } from './support/pki.js';

describe('keeping connected clusters current (sync loop, two replicas)', () => {
  const pki = createTestPki();
  let apiServer: FakeApiServer;
  let service: TestService;
  let replica: TestService;
  let bus: BusConnection;
  let prefix: string;
  let http: ReturnType<typeof importerClient>;
  const syncRow = async (id: string) => {
    // Between two re-checks (not while one holds its claim, when next_sync_at is the lease's end).
    const [row] = await service.app
      .get(DataSource)
      .query<{ sync_failures: number; next_sync_at: Date; last_synced_at: Date | null }[]>(`SELECT sync_failures, next_sync_at, last_synced_at FROM connected_clusters WHERE id = $1 AND sync_claimed_at IS NULL`, [id]);
    return row;
  };

  before(async () => {
    apiServer = await FakeApiServer.start({ pki, clusters: new Map([['/lab', { ...kubeadmCluster(2, 'v1.31.4'), clientCommonNames: ['admin'] }]]) });
    const env = importerTestEnv({ SYNC_INTERVAL_MS: '200', SYNC_MAX_BACKOFF_MS: '800', SYNC_UNREACHABLE_AFTER_FAILURES: '2', SYNC_CHECK_TIMEOUT_MS: '5000', SYNC_CONCURRENCY: '4' });
    service = await startTestService(importerService, env);
    replica = await startTestService(importerService, service.env);
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-sync-test');
    http = importerClient(service);
    await http.register({ ref: 'lab-admin', kind: 'client-certificate', certificatePem: pki.clientCertificatePem, privateKeyPem: pki.clientKeyPem, server: apiServer.url('/lab'), caCertificatePem: pki.caCertificatePem });
    assert.equal((await http.post({ id: 'sync-lab', name: 'lab', apiServer: apiServer.url('/lab'), credentialRef: 'lab-admin', provider: 'cncf' })).status, 202);
    assert.equal((await http.settled('sync-lab')).state, 'Imported');
  });

  after(async () => {
    await replica.dispose({ keepSchema: true });
    await service.dispose();
    await apiServer.stop().catch(() => undefined);
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('re-reads the version on schedule: an upgrade made outside the platform is ClusterVersionChanged, once', async () => {
    const before = apiServer.requests.get('/version') ?? 0;
    await eventually(async () => ((apiServer.requests.get('/version') ?? 0) >= before + 3 ? true : undefined), 5_000, 'three re-checks');
    assert.deepEqual(await eventsOf(bus, prefix, ClusterVersionChanged, 'sync-lab'), [], 'no change, no event');

    apiServer.cluster('/lab').version = versionBody('v1.32.1');
    const [changed] = await waitForEvents(bus, prefix, ClusterVersionChanged, 'sync-lab');
    assert.deepEqual(changed?.data, { previousVersion: 'v1.31.4', kubernetesVersion: 'v1.32.1' });
    assert.equal((await http.cluster('sync-lab'))?.kubernetesVersion, 'v1.32.1');
    await sleep(800);
    assert.equal((await eventsOf(bus, prefix, ClusterVersionChanged, 'sync-lab')).length, 1, 'both replicas re-check, one event');
  });

  it('a stopped API server: ClusterUnreachable once (not every round), with backoff between attempts', async () => {
    const port = Number(new URL(apiServer.url()).port);
    await apiServer.stop();
    const [unreachable] = await waitForEvents(bus, prefix, ClusterUnreachable, 'sync-lab');
    assert.equal(unreachable?.data.reason.code, 'api-server-unreachable');
    assert.match(unreachable?.data.reason.message ?? '', /connection was refused/);
    assert.equal((await http.cluster('sync-lab'))?.state, 'Unreachable');

    // Something at the address that accepts and drops connections: counts the attempts.
    let attempts = 0;
    const counter: Server = createServer((socket: Socket) => {
      attempts += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => counter.listen(port, '127.0.0.1', resolve));
    try {
      await sleep(3_000);
      // Without backoff a 200 ms interval gives ~15 attempts in 3 s; doubling up to 800 ms gives at most ~5.
      assert.ok(attempts >= 2 && attempts <= 6, `${attempts} attempts in 3 s`);
      const row = await eventually(() => syncRow('sync-lab'), 5_000, 'sync-lab between two re-checks');
      assert.ok(row && row.sync_failures >= 4, JSON.stringify(row));
      assert.equal(row.next_sync_at.getTime() - (row.last_synced_at?.getTime() ?? 0), 800, 'the backoff is capped at SYNC_MAX_BACKOFF_MS');
      assert.equal((await eventsOf(bus, prefix, ClusterUnreachable, 'sync-lab')).length, 1, 'one outage, one ClusterUnreachable');
    } finally {
      await new Promise<void>((resolve) => counter.close(() => resolve()));
    }
  });

  it('the API server back: ClusterReachable, the cluster Imported again', async () => {
    await apiServer.restart();
    const [reachable] = await waitForEvents(bus, prefix, ClusterReachable, 'sync-lab', 1, 10_000);
    assert.ok(reachable?.data.since);
    assert.equal((await http.settled('sync-lab', ['Imported'])).reasons.length, 0);
    await sleep(600);
    assert.equal((await eventsOf(bus, prefix, ClusterReachable, 'sync-lab')).length, 1);
    assert.equal((await eventsOf(bus, prefix, ClusterUnreachable, 'sync-lab')).length, 1);
    assert.equal((await eventually(() => syncRow('sync-lab')))?.sync_failures, 0);
  });
});
