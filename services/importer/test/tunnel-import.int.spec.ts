import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { selfSignedCertificate } from '@flotilla/auth/testing';
import {
  ClusterDeleted,
  ClusterDeletionRequested,
  ClusterImported,
  ClusterImportRequested,
  ClusterReachable,
  ClusterUnreachable,
  createEvent,
  eventsSubject,
  TunnelConnected,
  TunnelDisconnected,
  TunnelRegistrationRedeemed,
} from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { StandInApiServer } from '@flotilla/tunnel/testing';
import { tunnelBrokerService } from '@flotilla/tunnel-broker/dist/src/service.js';
import { TUNNEL_CREDENTIAL_REF } from '../src/domain/tunnel-cluster.js';
import type { CreatedRegistration } from '../src/registration/registrations.controller.js';
import { importerService } from '../src/service.js';
import { importerClient, importerTestEnv, waitForEvents } from './support/importer-client.js';
import { createTestPki } from './support/pki.js';
import { enroll, TestTunnelAgent, type Enrollment } from './support/tunnel-agent.js';

const SERVICE_ACCOUNT_TOKEN = 'agent-service-account-token';

/**
 * Register mode from end to end, with the real tunnel broker (both services in this process, on
 * one bus): the importer registers a cluster, the broker learns the token's hash, an agent enrolls
 * with the token and connects, and the importer checks the cluster through the broker's proxy as
 * `service:importer`, follows its tunnel going down and coming back, and removes it.
 */
describe('a cluster behind a firewall: registered, imported and removed through the real tunnel broker', () => {
  const pki = createTestPki('flotilla-internal');
  const dir = mkdtempSync(join(tmpdir(), 'importer-tunnel-import-'));
  let broker: TestService;
  let importer: TestService;
  let bus: BusConnection;
  let prefix: string;
  let http: ReturnType<typeof importerClient>;
  let apiServer: StandInApiServer;
  let apiServerCa: string;
  let agent: TestTunnelAgent | undefined;
  let enrollment: (Enrollment & { keyPem: string }) | undefined;
  let clusterId = '';

  before(async () => {
    const file = (name: string, content: string) => {
      writeFileSync(join(dir, name), content);
      return join(dir, name);
    };
    // The broker serves its API over HTTPS with a certificate of the installation's internal CA: the importer sends its token there.
    broker = await startTestService(tunnelBrokerService, {
      TLS_CERT_FILE: file('broker.crt', pki.serverCertificatePem),
      TLS_KEY_FILE: file('broker.key', pki.serverKeyPem),
      TUNNEL_AGENT_PORT: '0',
      TUNNEL_KEEPALIVE_MS: '500',
      TUNNEL_KEEPALIVE_TIMEOUT_MS: '1000',
    });
    prefix = broker.env['BUS_PREFIX']!;
    importer = await startTestService(
      importerService,
      importerTestEnv({
        BUS_PREFIX: prefix,
        TUNNEL_BROKER_URL: broker.url,
        TUNNEL_BROKER_CA_FILE: file('internal-ca.pem', pki.caCertificatePem),
        REGISTRATION_TUNNEL_URL: broker.url,
        SYNC_INTERVAL_MS: '500',
        SYNC_MAX_BACKOFF_MS: '1000',
      }),
    );
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-tunnel-import-test');
    http = importerClient(importer);
    const tls = selfSignedCertificate();
    apiServerCa = tls.cert;
    apiServer = new StandInApiServer({ ...tls, tokens: [SERVICE_ACCOUNT_TOKEN], gitVersion: 'v1.31.6', nodes: ['edge-cp-1', 'edge-worker-1', 'edge-worker-2'] });
    await apiServer.listen();
  });

  after(async () => {
    await agent?.link.stop();
    await apiServer.close();
    await importer.dispose();
    await broker.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registered, the broker gets the hash; the agent enrolls (the importer waits for its tunnel), connects, and the cluster is imported with what its API server says', async () => {
    const response = await http.api('/api/v1/registrations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clusterName: 'edge behind nat', labels: { site: 'edge-7' } }) });
    assert.equal(response.status, 201);
    const created = (await response.json()) as CreatedRegistration;
    clusterId = created.clusterId;

    // Enrolment succeeds only once the broker has the token's hash from the bus.
    enrollment = await enroll(broker.url, pki.caCertificatePem, created.token, 'edge-agent-1');
    assert.equal(enrollment.clusterId, clusterId);
    const [redeemed] = await waitForEvents(bus, prefix, TunnelRegistrationRedeemed, clusterId);
    assert.equal(redeemed?.data.registrationId, created.registrationId);
    const [requested] = await waitForEvents(bus, prefix, ClusterImportRequested, clusterId);
    assert.deepEqual(requested?.data, { name: 'edge behind nat', credentialRef: TUNNEL_CREDENTIAL_REF, provider: 'cncf', labels: { site: 'edge-7' } });
    assert.equal((await http.settled(clusterId, ['Requested'])).state, 'Requested', 'enrolled, not yet connected: waiting for the tunnel');
    assert.equal(apiServer.requests.length, 0);

    agent = new TestTunnelAgent(enrollment, apiServer, apiServerCa, SERVICE_ACCOUNT_TOKEN);
    agent.link.start();
    await waitForEvents(bus, prefix, TunnelConnected, clusterId);
    const [imported] = await waitForEvents(bus, prefix, ClusterImported, clusterId);
    assert.equal(imported?.data.kubernetesVersion, 'v1.31.6');
    assert.equal(imported?.data.nodeCount, 3);
    assert.equal(imported?.data.name, 'edge behind nat');
    const cluster = await http.settled(clusterId, ['Imported']);
    assert.deepEqual([cluster.tunnel?.state, cluster.tunnel?.agentId], ['connected', 'edge-agent-1']);
    assert.equal(((await (await http.api(`/api/v1/registrations/${created.registrationId}`)).json()) as { status: string }).status, 'used');
  });

  it('the probe reached the API server as service:importer (impersonated by the agent, with its own token)', () => {
    const probes = apiServer.requests.filter((request) => ['/version', '/readyz'].includes(request.path) || request.path.startsWith('/api/v1/nodes'));
    assert.ok(probes.some((request) => request.path === '/version'));
    assert.ok(probes.some((request) => request.path.startsWith('/api/v1/nodes')));
    for (const request of probes) {
      assert.equal(request.user, 'service:importer', request.path);
      assert.deepEqual(request.groups, ['flotilla:viewer'], request.path);
      assert.equal(request.authenticated, true, `${request.path}: with the agent's service-account token`);
      assert.equal(request.method, 'GET');
    }
  });

  it('the agent dropped: ClusterUnreachable (tunnel-down) at once; it comes back: re-checked through the tunnel, ClusterReachable', async () => {
    assert.ok(agent && enrollment);
    await agent.link.stop();
    const stopped = Date.now();
    const [down] = await waitForEvents(bus, prefix, TunnelDisconnected, clusterId);
    const [unreachable] = await waitForEvents(bus, prefix, ClusterUnreachable, clusterId);
    assert.equal(unreachable?.data.reason.code, 'tunnel-down');
    assert.match(unreachable?.data.reason.message ?? '', new RegExp(down?.data.reason ?? '(no reason)'));
    assert.ok(Math.abs(Date.parse(unreachable?.data.since ?? '') - stopped) < 5_000, 'since the broker saw it go');
    assert.equal((await http.settled(clusterId, ['Unreachable'])).state, 'Unreachable');

    const before = apiServer.requests.length;
    agent.link.start();
    await waitForEvents(bus, prefix, TunnelConnected, clusterId, 2);
    const [reachable] = await waitForEvents(bus, prefix, ClusterReachable, clusterId);
    assert.ok(reachable);
    assert.equal((await http.settled(clusterId, ['Imported'])).reasons.length, 0);
    assert.ok(apiServer.requests.slice(before).some((request) => request.path === '/version' && request.user === 'service:importer'), 're-checked through the tunnel');
    assert.equal((await eventsOf(bus, prefix, ClusterUnreachable, clusterId)).length, 1);
  });

  it('ClusterDeletionRequested: the importer forgets it and emits ClusterDeleted; the broker stops the agent', async () => {
    assert.ok(agent);
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterDeletionRequested.channel), createEvent(ClusterDeletionRequested, { subject: clusterId, source: '/flotilla/inventory' }, { reason: 'site decommissioned' }));
    const [deleted] = await waitForEvents(bus, prefix, ClusterDeleted, clusterId);
    assert.deepEqual(deleted?.data, { model: 'connected' });
    assert.equal(deleted?.source, '/flotilla/importer');
    assert.equal(await http.cluster(clusterId), undefined);
    const commands = agent.commands;
    await eventually(() => (commands.some((command) => command.method === 'POST' && command.path === '/stop') ? true : undefined), 15_000, 'the broker telling the agent to stop');
    const [gone] = await waitForEvents(bus, prefix, TunnelDisconnected, clusterId, 2);
    assert.ok(gone);
  });
});
