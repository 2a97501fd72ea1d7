import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { ClusterImported, ClusterImportRequested, ClusterUnreachable, createEvent, eventsSubject, ImportRejected, type EventData } from '@flotilla/contracts';
import { BusConnection, publishEvent, UnitOfWork } from '@flotilla/messaging';
import { HttpException } from '@nestjs/common';
import { deleteTestStreams, eventsOf, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { Secret, SecretStore } from '@flotilla/secrets';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { stringify } from 'yaml';
import { CLUSTER_PROBE, type ClusterProbe, type ProbeTarget } from '../src/connectivity/cluster-probe.js';
import { BoundAgent, CredentialBindingError } from '../src/connectivity/credential-guard.js';
import { inspectCluster } from '../src/connectivity/kubernetes-cluster-probe.js';
import { CREDENTIAL_STORE, type CredentialStore } from '../src/credentials/credential-store.js';
import { CredentialsController } from '../src/http/credentials.controller.js';
import { CreateImportBody } from '../src/http/import-requests.js';
import { ImportsController } from '../src/http/imports.controller.js';
import { importerService } from '../src/service.js';
import { kubeadmCluster } from './support/cluster-fixtures.js';
import { FakeApiServer } from './support/fake-apiserver.js';
import { importerTestEnv, waitForEvents } from './support/importer-client.js';
import { createTestPki } from './support/pki.js';

const TOKEN = 'lab-admin-token-5c1e9a';

/** The CA's SHA-256 fingerprint as openssl prints it (not as the importer computes it). */
function opensslFingerprint(pem: string): string {
  const output = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], { input: pem }).toString('utf8');
  return output.trim().split('=')[1] ?? output;
}

describe('a credential goes only to the API server it is bound to', () => {
  const pki = createTestPki();
  let bound: FakeApiServer;
  /** Another server with a certificate from the same CA, accepting any token: it must never see one. */
  let elsewhere: FakeApiServer;
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  const fromOutside = (subject: string, data: Partial<EventData<typeof ClusterImportRequested>>) =>
    publishEvent(
      bus.js,
      eventsSubject({ prefix }, ClusterImportRequested.channel),
      createEvent(ClusterImportRequested, { subject, source: '/another-platform-service' }, { name: subject, credentialRef: 'lab-token', provider: 'cncf', ...data }),
    );
  // The HTTP routes are being put behind authentication: the tests call the controllers in-process (their validation and answers, without the transport).
  const register = async (body: Record<string, unknown>) => service.app.get(CredentialsController).register({ body });
  const describeCredential = async (ref: string) => service.app.get(CredentialsController).get(ref);
  /** POST /api/v1/imports: the answer, or the 400's body. */
  const postImport = async (body: Record<string, unknown>) => {
    try {
      return { status: 202, body: (await service.app.get(ImportsController).create(CreateImportBody.parse(body))) as unknown };
    } catch (error) {
      if (error instanceof HttpException) return { status: error.getStatus(), body: error.getResponse() };
      throw error;
    }
  };
  const nothingReachedElsewhere = () => assert.deepEqual([elsewhere.connections, elsewhere.authorizedRequests], [0, 0], 'the other server saw no connection and no token');

  before(async () => {
    bound = await FakeApiServer.start({ pki, clusters: new Map([['/lab', { ...kubeadmCluster(2), tokens: { [TOKEN]: 'admin' } }]]) });
    elsewhere = await FakeApiServer.start({ pki, clusters: new Map([['/lab', { ...kubeadmCluster(2), acceptToken: () => true }]]) });
    service = await startTestService(importerService, importerTestEnv({ SYNC_INTERVAL_MS: '300', SYNC_UNREACHABLE_AFTER_FAILURES: '1', SYNC_CHECK_TIMEOUT_MS: '15000' }));
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-binding-test');
  });

  after(async () => {
    await service.dispose();
    await bound.stop();
    await elsewhere.stop();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('a token registered with its server is described with the binding (server, CA fingerprint), never the token, and imports that server', async () => {
    const described = await register({ ref: 'lab-token', kind: 'bearer-token', token: TOKEN, server: `${bound.url('/lab')}/`, caCertificatePem: pki.caCertificatePem });
    assert.deepEqual(described.binding, { apiServer: bound.url('/lab'), caFingerprints: [opensslFingerprint(pki.caCertificatePem)] });
    assert.ok(!JSON.stringify(described).includes(TOKEN));
    assert.deepEqual((await describeCredential('lab-token')).binding, described.binding);

    const accepted = await postImport({ id: 'bound-lab', name: 'lab', apiServer: `${bound.url('/lab')}/`, credentialRef: 'lab-token', provider: 'cncf' });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const [imported] = await waitForEvents(bus, prefix, ClusterImported, 'bound-lab');
    assert.equal(imported?.data.nodeCount, 5);
    assert.ok(bound.authorizedRequests > 0, 'the bound server got the token');
    nothingReachedElsewhere();
  });

  it('POST /imports naming another server (port or path) with it: 400 naming apiServer; nothing is requested or sent', async () => {
    for (const [id, apiServer] of [
      ['other-port', elsewhere.url('/lab')],
      ['other-path', bound.url('/lab/../other')],
    ] as const) {
      const refused = await postImport({ id, name: id, apiServer, credentialRef: 'lab-token', provider: 'cncf' });
      assert.equal(refused.status, 400, apiServer);
      const errors = (refused.body as { errors: { field: string; code: string; message: string }[] }).errors;
      assert.deepEqual(errors.map((error) => [error.field, error.code]), [['apiServer', 'credential-server-mismatch']]);
      assert.match(errors[0]?.message ?? '', new RegExp(`bound to ${bound.url('/lab').replace(/[./]/g, '\\$&')}`));
      assert.equal((await eventsOf(bus, prefix, ClusterImportRequested, id)).length, 0, 'no request was emitted');
    }
    nothingReachedElsewhere();
  });

  it('the same request from the bus (an outside publisher): ImportRejected credential-server-mismatch; the other server never sees the token', async () => {
    await fromOutside('bus-elsewhere', { apiServer: elsewhere.url('/lab') });
    const [rejected] = await waitForEvents(bus, prefix, ImportRejected, 'bus-elsewhere');
    assert.deepEqual(rejected?.data.reasons.map((reason) => [reason.code, reason.field]), [['credential-server-mismatch', 'apiServer']]);
    // The worker checks what was accepted: a little later, still nothing went there.
    await new Promise((resolve) => setTimeout(resolve, 500));
    nothingReachedElsewhere();
  });

  it('defence in depth: the probe, the client and its agent refuse another address whoever asks (import, re-check)', async () => {
    const credential = await service.app.get<CredentialStore>(CREDENTIAL_STORE).find('lab-token');
    assert.ok(credential);
    const probe = service.app.get<ClusterProbe>(CLUSTER_PROBE);
    const target = (apiServer: string): ProbeTarget => ({ clusterId: 'bound-lab', provider: 'cncf', apiServer, cloud: null, credential });
    const signal = () => AbortSignal.timeout(5_000);
    assert.equal((await probe.health(target(bound.url('/lab')), signal())).ok, true, 'the bound server answers');
    for (const outcome of [await probe.health(target(elsewhere.url('/lab')), signal()), await probe.probe(target(elsewhere.url('/lab')), signal())]) {
      assert.deepEqual(outcome.ok ? 'ok' : outcome.failures.map((failure) => failure.code), ['credential-server-mismatch']);
    }

    // An endpoint built by anything else than the credential's binding: the client is never built.
    const boundTo = { apiServer: bound.url('/lab'), caFingerprints: [opensslFingerprint(pki.caCertificatePem)] };
    const endpoint = { apiServer: elsewhere.url('/lab'), caCertificatePem: pki.caCertificatePem, auth: { kind: 'bearer-token' as const, token: new Secret(TOKEN) }, expiresAt: null, credentialRef: 'lab-token', boundTo };
    const inspected = await inspectCluster(endpoint, signal());
    assert.deepEqual(inspected.ok ? 'ok' : inspected.failures.map((failure) => failure.code), ['credential-server-mismatch']);
    assert.equal((await inspectCluster({ ...endpoint, apiServer: bound.url('/lab') }, signal())).ok, true);

    // The client's agent connects to the bound host and port only (a redirect elsewhere included).
    const agent = new BoundAgent(boundTo, 'lab-token', { ca: pki.caCertificatePem });
    try {
      const sent = new Promise<number>((resolve, reject) => {
        const call = request(`${elsewhere.url('/lab')}/version`, { agent, headers: { authorization: `Bearer ${TOKEN}` } }, (response) => resolve(response.statusCode ?? 0));
        call.on('error', reject);
        call.end();
      });
      await assert.rejects(sent, (error: unknown) => error instanceof CredentialBindingError && error.code === 'credential-server-mismatch');
    } finally {
      agent.destroy();
    }
    nothingReachedElsewhere();
  });

  it('a re-check whose address changed behind the importer (the row rewritten): refused, ClusterUnreachable credential-server-mismatch; nothing sent there', async () => {
    await service.app.get(DataSource).query(`UPDATE connected_clusters SET api_server = $1, next_sync_at = now() WHERE id = 'bound-lab'`, [elsewhere.url('/lab')]);
    const [unreachable] = await waitForEvents(bus, prefix, ClusterUnreachable, 'bound-lab');
    assert.equal(unreachable?.data.reason.code, 'credential-server-mismatch');
    nothingReachedElsewhere();
  });

  it('a kubeconfig context: bound to its context server and CA; imports there, refused elsewhere', async () => {
    const caData = Buffer.from(pki.caCertificatePem).toString('base64');
    const kubeconfig = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'lab',
      clusters: [
        { name: 'lab', cluster: { server: bound.url('/lab'), 'certificate-authority-data': caData } },
        { name: 'other', cluster: { server: elsewhere.url('/lab'), 'certificate-authority-data': caData } },
      ],
      users: [{ name: 'lab-admin', user: { token: TOKEN } }],
      contexts: [
        { name: 'lab', context: { cluster: 'lab', user: 'lab-admin' } },
        { name: 'other', context: { cluster: 'other', user: 'lab-admin' } },
      ],
    });
    const described = await register({ ref: 'lab-kubeconfig', kind: 'kubeconfig', kubeconfig, context: 'lab' });
    assert.deepEqual(described.binding, { apiServer: bound.url('/lab'), caFingerprints: [opensslFingerprint(pki.caCertificatePem)] });
    assert.equal(described.metadata.apiServer, bound.url('/lab'));

    assert.equal((await postImport({ id: 'kube-lab', name: 'kube-lab', apiServer: bound.url('/lab'), credentialRef: 'lab-kubeconfig', provider: 'cncf' })).status, 202);
    await waitForEvents(bus, prefix, ClusterImported, 'kube-lab');

    await fromOutside('kube-elsewhere', { apiServer: elsewhere.url('/lab'), credentialRef: 'lab-kubeconfig' });
    const [rejected] = await waitForEvents(bus, prefix, ImportRejected, 'kube-elsewhere');
    assert.deepEqual(rejected?.data.reasons.map((reason) => reason.code), ['credential-server-mismatch']);

    // The same kubeconfig's other context is bound to the other server, not to this one.
    const other = await register({ ref: 'other-kubeconfig', kind: 'kubeconfig', kubeconfig, context: 'other' });
    assert.equal(other.binding?.apiServer, elsewhere.url('/lab'));
    assert.equal((await postImport({ id: 'kube-cross', name: 'kube-cross', apiServer: bound.url('/lab'), credentialRef: 'other-kubeconfig', provider: 'cncf' })).status, 400);
    nothingReachedElsewhere();
  });

  it('a credential stored before bindings (no server sealed with it): refused as credential-unbound, sent nowhere', async () => {
    await service.app.get(UnitOfWork).run(async () => {
      const unitOfWork = service.app.get(UnitOfWork);
      await unitOfWork.manager.query(`INSERT INTO credentials (ref, kind, source, metadata) VALUES ('legacy-token', 'bearer-token', 'token', '{"caCertificate":"stored"}')`);
      await service.app.get(SecretStore).put('credential/legacy-token', 'bearer-token', new Secret(JSON.stringify({ kind: 'bearer-token', token: TOKEN, caCertificatePem: pki.caCertificatePem })));
    });
    const described = await describeCredential('legacy-token');
    assert.equal(described.binding, null);
    await fromOutside('legacy', { apiServer: elsewhere.url('/lab'), credentialRef: 'legacy-token' });
    const [rejected] = await waitForEvents(bus, prefix, ImportRejected, 'legacy');
    assert.deepEqual(rejected?.data.reasons.map((reason) => [reason.code, reason.field]), [['credential-unbound', 'credentialRef']]);

    // The connectivity layer refuses it too, whatever the plain-text row says.
    const credential = await service.app.get<CredentialStore>(CREDENTIAL_STORE).find('legacy-token');
    assert.ok(credential);
    const outcome = await service.app.get<ClusterProbe>(CLUSTER_PROBE).health({ clusterId: 'legacy', provider: 'cncf', apiServer: elsewhere.url('/lab'), cloud: null, credential }, AbortSignal.timeout(5_000));
    assert.deepEqual(outcome.ok ? 'ok' : outcome.failures.map((failure) => failure.code), ['credential-unbound']);
    nothingReachedElsewhere();
  });
});
