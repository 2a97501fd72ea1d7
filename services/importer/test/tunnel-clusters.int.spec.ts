import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ClusterDeleted,
  ClusterDeletionRequested,
  ClusterImported,
  ClusterReachable,
  ClusterUnreachable,
  createEvent,
  EventRejected,
  eventsSubject,
  ImportRejected,
  TunnelConnected,
  TunnelDisconnected,
  TunnelRegistrationRedeemed,
  TunnelRegistrationRevoked,
  type EventData,
  type EventDefinition,
} from '@flotilla/contracts';
import { BusConnection, OutboxRelay, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { TUNNEL_CREDENTIAL_REF } from '../src/domain/tunnel-cluster.js';
import type { CreatedRegistration } from '../src/registration/registrations.controller.js';
import { importerService } from '../src/service.js';
import { k3sCluster, kubeadmCluster } from './support/cluster-fixtures.js';
import { FakeApiServer, type FakeCluster } from './support/fake-apiserver.js';
import { importerClient, importerTestEnv, waitForEvents } from './support/importer-client.js';
import { createTestPki } from './support/pki.js';

/** The claims of a JWT, unverified: the stand-in proxy only looks at who the caller says it is (the real broker verifies). */
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: string; role?: string };
/** What the stand-in proxy lets through: the importer's own tokens (its service identity), nothing else. */
const asImporter = { acceptToken: (token: string) => claimsOf(token).sub === 'service:importer' };
const proxyPath = (clusterId: string) => `/api/v1/tunnels/${clusterId}/k8s`;

/**
 * Clusters registered through the tunnel, with a stand-in for the tunnel broker's proxy: an HTTPS
 * server of its own CA serving each registered cluster's API under /api/v1/tunnels/<id>/k8s, and
 * the broker's events published by the test. The real broker is in tunnel-import.int.spec.ts.
 */
describe('clusters registered through the tunnel (stand-in proxy), and removing connected clusters', () => {
  const pki = createTestPki('tunnel-broker');
  const dir = mkdtempSync(join(tmpdir(), 'importer-tunnel-'));
  const clusters = new Map<string, FakeCluster>();
  let proxy: FakeApiServer;
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let http: ReturnType<typeof importerClient>;

  const publish = <D extends EventDefinition>(definition: D, subject: string, data: EventData<D>) =>
    publishEvent(bus.js, eventsSubject({ prefix }, definition.channel), createEvent(definition, { subject, source: `/flotilla/${producerOf(definition)}` }, data));
  /** Each event comes from a service that produces it: consumers refuse one that claims another's. */
  const producerOf = (definition: EventDefinition) => definition.producers.find((producer) => producer !== 'external') ?? 'tunnel-broker';
  /** Registers a cluster, has the broker redeem it, and serves its API behind the stand-in proxy. */
  const registered = async (name: string, cluster: FakeCluster): Promise<string> => {
    const response = await http.api('/api/v1/registrations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clusterName: name, labels: { site: name } }) });
    assert.equal(response.status, 201);
    const created = (await response.json()) as CreatedRegistration;
    clusters.set(proxyPath(created.clusterId), cluster);
    await publish(TunnelRegistrationRedeemed, created.clusterId, { registrationId: created.registrationId, agentId: `agent-${name}`, certificateSerial: '2a', certificateExpiresAt: new Date(Date.now() + 86_400_000).toISOString() });
    await http.settled(created.clusterId, ['Requested']);
    return created.clusterId;
  };
  const requestsTo = (clusterId: string) => proxy.clusterRequests.get(proxyPath(clusterId)) ?? 0;
  /** Whether a re-check of the cluster holds its claim. */
  const syncClaimed = async (clusterId: string) => {
    const [row] = await service.app.get(DataSource).query<{ claimed: boolean }[]>(`SELECT sync_claimed_at IS NOT NULL AS claimed FROM connected_clusters WHERE id = $1`, [clusterId]);
    return row?.claimed ?? false;
  };
  /** The requests to a cluster once none is in flight: unchanged over a re-check interval and more. */
  const settledRequestsTo = async (clusterId: string) => {
    let last = requestsTo(clusterId);
    return eventually(async () => {
      await sleep(400);
      const now = requestsTo(clusterId);
      if (now === last) return now;
      last = now;
      return undefined;
    }, 10_000, `no request in flight to ${clusterId}`);
  };
  /** The EventRejected notices about a cluster, once there are `count` (none: after a while, to see that none came). */
  const rejectionsOf = async (clusterId: string, count: number) => {
    const find = async () => (await eventsOf(bus, prefix, EventRejected)).filter((event) => event.data.rejectedSubject === clusterId);
    if (count > 0) return eventually(async () => ((await find()).length >= count ? find() : undefined), 10_000, `${count} EventRejected for ${clusterId}`);
    await sleep(500);
    return find();
  };

  before(async () => {
    proxy = await FakeApiServer.start({ pki, clusters });
    writeFileSync(join(dir, 'broker-ca.pem'), pki.caCertificatePem);
    const env = importerTestEnv({
      TUNNEL_BROKER_URL: proxy.url(),
      TUNNEL_BROKER_CA_FILE: join(dir, 'broker-ca.pem'),
      REGISTRATION_TUNNEL_URL: 'https://tunnel.flotilla.example',
      SYNC_INTERVAL_MS: '300',
      SYNC_MAX_BACKOFF_MS: '600',
    });
    service = await startTestService(importerService, env);
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-tunnel-test');
    http = importerClient(service);
  });

  after(async () => {
    await service.dispose();
    await proxy.stop();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits for its tunnel, then is checked through the broker as the importer itself: ClusterImported', async () => {
    const id = await registered('edge-north', { ...k3sCluster(3, 'v1.31.4+k3s1'), ...asImporter });
    await sleep(600);
    assert.equal(requestsTo(id), 0, 'nothing is sent while the tunnel is down');
    assert.equal((await http.cluster(id))?.state, 'Requested');

    await publish(TunnelConnected, id, { agentId: 'agent-edge-north', agentVersion: '0.1.0' });
    const [imported] = await waitForEvents(bus, prefix, ClusterImported, id);
    assert.equal(imported?.data.kubernetesVersion, 'v1.31.4+k3s1');
    assert.equal(imported?.data.distribution, 'k3s');
    assert.equal(imported?.data.nodeCount, 3);
    assert.ok(requestsTo(id) >= 3, 'version, nodes and readiness through the proxy');
    assert.ok(proxy.bearerTokens.size > 0);
    for (const token of proxy.bearerTokens) assert.deepEqual(claimsOf(token), { ...claimsOf(token), sub: 'service:importer', role: 'viewer' }, 'only the importer\'s own token went to the broker');
    const cluster = await http.settled(id, ['Imported']);
    assert.deepEqual([cluster.apiServer, cluster.tunnel?.state], [null, 'connected']);
  });

  it('its tunnel down: ClusterUnreachable tunnel-down at once, no re-check meanwhile; back up: re-checked, ClusterReachable', async () => {
    const id = await registered('edge-south', { ...kubeadmCluster(1, 'v1.32.2'), ...asImporter });
    await publish(TunnelConnected, id, { agentId: 'agent-edge-south' });
    await http.settled(id, ['Imported']);
    // Re-checks go through the tunnel as well.
    const before = requestsTo(id);
    await eventually(() => (requestsTo(id) > before ? true : undefined), 5_000, 'a re-check through the tunnel');

    await publish(TunnelDisconnected, id, { agentId: 'agent-edge-south', reason: 'heartbeat-timeout' });
    const [unreachable] = await waitForEvents(bus, prefix, ClusterUnreachable, id);
    assert.equal(unreachable?.data.reason.code, 'tunnel-down');
    assert.match(unreachable?.data.reason.message ?? '', /heartbeat-timeout/);
    assert.equal((await http.settled(id, ['Unreachable'])).reasons[0]?.code, 'tunnel-down');
    // A re-check that was under way when the tunnel went down may still be answered.
    const whileDown = await settledRequestsTo(id);
    await sleep(1_000);
    assert.equal(requestsTo(id), whileDown, 'no re-check through a tunnel known to be down');

    await publish(TunnelConnected, id, { agentId: 'agent-edge-south' });
    await waitForEvents(bus, prefix, ClusterReachable, id);
    assert.equal((await http.settled(id, ['Imported'])).reasons.length, 0);
    assert.equal((await eventsOf(bus, prefix, ClusterUnreachable, id)).length, 1);
  });

  it('a re-check answered through a tunnel that went down meanwhile is dropped: the cluster stays Unreachable until the tunnel is back', async () => {
    const id = await registered('edge-east', { ...kubeadmCluster(1, 'v1.32.2'), ...asImporter });
    await publish(TunnelConnected, id, { agentId: 'agent-edge-east' });
    await http.settled(id, ['Imported']);
    // The next re-check is held in flight at the proxy while the tunnel goes down, then answered.
    const fake = clusters.get(proxyPath(id))!;
    let answer = () => {};
    fake.heldUntil = new Promise<void>((resolve) => (answer = resolve));
    const before = requestsTo(id);
    await eventually(() => (requestsTo(id) > before ? true : undefined), 5_000, 'a re-check in flight');
    await publish(TunnelDisconnected, id, { agentId: 'agent-edge-east', reason: 'heartbeat-timeout' });
    await waitForEvents(bus, prefix, ClusterUnreachable, id);
    delete fake.heldUntil;
    answer();
    // Its result dealt with (recorded or given back), and what that emitted published.
    await eventually(async () => ((await syncClaimed(id)) ? undefined : true), 10_000, 'the re-check dealt with');
    await service.app.get(OutboxRelay).publishRound(0);
    assert.deepEqual(await eventsOf(bus, prefix, ClusterReachable, id), [], 'an answer through the tunnel that went down is not news of the cluster');
    assert.equal((await http.cluster(id))?.state, 'Unreachable');

    await publish(TunnelConnected, id, { agentId: 'agent-edge-east' });
    await waitForEvents(bus, prefix, ClusterReachable, id);
    assert.equal((await http.settled(id, ['Imported'])).reasons.length, 0);
  });

  it('the broker does not carry the check (502) though the tunnel seemed up: it waits, saying why, instead of being rejected', async () => {
    const id = await registered('edge-flaky', { ...k3sCluster(1, 'v1.30.8+k3s1'), ...asImporter, serves: 'bad-gateway' });
    await publish(TunnelConnected, id, { agentId: 'agent-edge-flaky' });
    const waiting = await eventually(
      async () => {
        const cluster = await http.cluster(id);
        return cluster?.state === 'Requested' && cluster.reasons.length > 0 ? cluster : undefined;
      },
      5_000,
      'the reason it waits',
    );
    assert.equal(waiting.reasons[0]?.code, 'tunnel-down');
    assert.deepEqual(await eventsOf(bus, prefix, ImportRejected, id), []);

    clusters.get(proxyPath(id))!.serves = 'kubernetes';
    await waitForEvents(bus, prefix, ClusterImported, id, 1, 10_000);
  });

  it('ClusterDeletionRequested: a tunnel cluster is forgotten and ClusterDeleted (connected) tells the broker; a cluster not held here is ignored', async () => {
    const id = await registered('edge-gone', { ...k3sCluster(1, 'v1.31.4+k3s1'), ...asImporter });
    await publish(TunnelConnected, id, { agentId: 'agent-edge-gone' });
    await http.settled(id, ['Imported']);

    await publish(ClusterDeletionRequested, id, { reason: 'site closed' });
    const [deleted] = await waitForEvents(bus, prefix, ClusterDeleted, id);
    assert.deepEqual(deleted?.data, { model: 'connected' });
    assert.equal(await http.cluster(id), undefined);
    const after = await settledRequestsTo(id);
    await sleep(1_000);
    assert.equal(requestsTo(id), after, 'no more re-checks');
    // The broker refuses its agent from now on: its old registration imports nothing again.
    assert.equal((await http.post({ id, name: 'edge-gone', credentialRef: TUNNEL_CREDENTIAL_REF, provider: 'cncf' })).status, 202);
    const [refused] = await waitForEvents(bus, prefix, ImportRejected, id);
    assert.deepEqual(refused?.data.reasons.map((reason) => reason.code), ['tunnel-not-registered']);

    // An id the importer does not hold: refused with the reason (the inventory shows it for a
    // connected cluster, and leaves a platform cluster's deletion to the provisioner), never removed here.
    await publish(ClusterDeletionRequested, 'platform-cluster-1', {});
    const notHeld = await rejectionsOf('platform-cluster-1', 1);
    assert.equal(notHeld.length, 1);
    assert.match(notHeld[0]?.data.reason ?? '', /^cluster-not-held: the importer holds no connected cluster "platform-cluster-1"/);
    assert.deepEqual(await eventsOf(bus, prefix, ClusterDeleted, 'platform-cluster-1'), []);
  });

  it('a registered cluster whose agent never enrolled is removed: its open registration revoked, ClusterDeleted once', async () => {
    const response = await http.api('/api/v1/registrations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clusterName: 'edge-never' }) });
    const created = (await response.json()) as CreatedRegistration;
    await publish(ClusterDeletionRequested, created.clusterId, {});
    await publish(ClusterDeletionRequested, created.clusterId, {});
    const [revoked] = await waitForEvents(bus, prefix, TunnelRegistrationRevoked, created.clusterId);
    assert.equal(revoked?.data.registrationId, created.registrationId);
    await waitForEvents(bus, prefix, ClusterDeleted, created.clusterId);
    await sleep(800);
    assert.equal((await eventsOf(bus, prefix, ClusterDeleted, created.clusterId)).length, 1, 'removed once for both requests');
    assert.deepEqual(await rejectionsOf(created.clusterId, 0), [], 'both requests are answered by the removal');
    assert.equal(((await (await http.api(`/api/v1/registrations/${created.registrationId}`)).json()) as { status: string }).status, 'revoked');
    assert.equal(await http.cluster(created.clusterId), undefined);
  });

  it('round trip of a direct import: removed (twice asked, once done), re-checks stop, the credential released and bound again, imported again under the same id', async () => {
    clusters.set('/round-trip', { ...kubeadmCluster(1, 'v1.31.4'), clientCommonNames: ['admin'] });
    clusters.set('/elsewhere', { ...kubeadmCluster(1, 'v1.32.2'), clientCommonNames: ['admin'] });
    const credential = (path: string) => http.register({ ref: 'round-trip-admin', kind: 'client-certificate', certificatePem: pki.clientCertificatePem, privateKeyPem: pki.clientKeyPem, server: proxy.url(path), caCertificatePem: pki.caCertificatePem });
    const importIt = async () => {
      assert.equal((await http.post({ id: 'round-trip', name: 'round-trip', apiServer: proxy.url('/round-trip'), credentialRef: 'round-trip-admin', provider: 'cncf' })).status, 202);
      return http.settled('round-trip', ['Imported']);
    };
    await credential('/round-trip');
    await importIt();
    await eventually(async () => ((proxy.clusterRequests.get('/round-trip') ?? 0) > 0 ? true : undefined), 5_000, 'checked');

    await publish(ClusterDeletionRequested, 'round-trip', { reason: 'moving' });
    await publish(ClusterDeletionRequested, 'round-trip', { reason: 'moving' });
    await waitForEvents(bus, prefix, ClusterDeleted, 'round-trip');
    assert.equal(await http.cluster('round-trip'), undefined);
    await eventually(async () => ((await http.api('/api/v1/credentials/round-trip-admin')).status === 404 ? true : undefined), 5_000, 'the credential released');
    const seen = proxy.clusterRequests.get('/round-trip') ?? 0;
    await sleep(1_200);
    assert.equal(proxy.clusterRequests.get('/round-trip') ?? 0, seen, 'no re-check of a removed cluster');
    assert.equal((await eventsOf(bus, prefix, ClusterDeleted, 'round-trip')).length, 1, 'ClusterDeleted once');
    assert.deepEqual(await rejectionsOf('round-trip', 0), [], 'the second request is answered by the removal');

    // The ref is free: bound to another API server, then to the same one again.
    await credential('/elsewhere');
    assert.equal((await http.api('/api/v1/credentials/round-trip-admin', { method: 'DELETE' })).status, 204);
    await credential('/round-trip');
    const back = await importIt();
    assert.equal(back.kubernetesVersion, 'v1.31.4');
    assert.equal((await eventsOf(bus, prefix, ClusterImported, 'round-trip')).length, 2);
    await eventually(async () => ((proxy.clusterRequests.get('/round-trip') ?? 0) > seen ? true : undefined), 5_000, 'checked again once imported again');

    // Asked to remove it after it was removed and before it came back would have been refused;
    // now it is held again, and a later request removes it again.
    await publish(ClusterDeletionRequested, 'round-trip', {});
    await waitForEvents(bus, prefix, ClusterDeleted, 'round-trip', 2);
    await publish(ClusterDeletionRequested, 'round-trip', { reason: 'asked once more, after the removal' });
    const [late] = await rejectionsOf('round-trip', 1);
    assert.match(late?.data.reason ?? '', /^cluster-deleted: connected cluster "round-trip" was removed at .*; import it \(or register it\) again/);
  });

  it('ClusterDeletionRequested for a direct import: forgotten, its credential deleted, unless another cluster still uses it', async () => {
    clusters.set('/direct-a', { ...kubeadmCluster(1, 'v1.31.4'), clientCommonNames: ['admin'] });
    const credential = (ref: string, path: string) => http.register({ ref, kind: 'client-certificate', certificatePem: pki.clientCertificatePem, privateKeyPem: pki.clientKeyPem, server: proxy.url(path), caCertificatePem: pki.caCertificatePem });
    await credential('direct-a-admin', '/direct-a');
    assert.equal((await http.post({ id: 'direct-a', name: 'direct-a', apiServer: proxy.url('/direct-a'), credentialRef: 'direct-a-admin', provider: 'cncf' })).status, 202);
    await http.settled('direct-a', ['Imported']);
    await publish(ClusterDeletionRequested, 'direct-a', {});
    await waitForEvents(bus, prefix, ClusterDeleted, 'direct-a');
    await eventually(async () => ((await http.api('/api/v1/credentials/direct-a-admin')).status === 404 ? true : undefined), 5_000, 'the credential deleted');

    // A cloud account (or any credential) can serve several clusters: it stays while one still uses it.
    await credential('shared-admin', '/shared');
    clusters.set('/shared', { ...kubeadmCluster(1, 'v1.31.4'), clientCommonNames: ['admin'] });
    assert.equal((await http.post({ id: 'shared-b', name: 'shared-b', apiServer: proxy.url('/shared'), credentialRef: 'shared-admin', provider: 'cncf' })).status, 202);
    assert.equal((await http.post({ id: 'shared-c', name: 'shared-c', apiServer: proxy.url('/shared'), credentialRef: 'shared-admin', provider: 'cncf' })).status, 202);
    await http.settled('shared-b', ['Imported']);
    await http.settled('shared-c', ['Imported']);
    await publish(ClusterDeletionRequested, 'shared-b', {});
    await waitForEvents(bus, prefix, ClusterDeleted, 'shared-b');
    await sleep(300);
    assert.equal((await http.api('/api/v1/credentials/shared-admin')).status, 200, 'shared-c still uses it');
    await publish(ClusterDeletionRequested, 'shared-c', {});
    await waitForEvents(bus, prefix, ClusterDeleted, 'shared-c');
    await eventually(async () => ((await http.api('/api/v1/credentials/shared-admin')).status === 404 ? true : undefined), 5_000, 'the last user gone, the credential deleted');
  });
});
