import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterDeleted, ClusterImported, ClusterImportRequested, createEvent, EventRejected, eventsSubject, ImportRejected, TunnelConnected, type EventData } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, freePort, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { stringify } from 'yaml';
import type { CredentialDescription } from '../src/credentials/credential-store.js';
import { importerService } from '../src/service.js';
import { aksCluster, eksCluster, gkeCluster, k3sCluster, kubeadmCluster } from './support/cluster-fixtures.js';
import { FakeApiServer, type FakeCluster } from './support/fake-apiserver.js';
import { importerClient, importerTestEnv, waitForEvents } from './support/importer-client.js';
import { createTestPki, serviceAccountJwt, type TestPki } from './support/pki.js';

const external = (subject: string) => ({ subject, source: '/another-platform-service' });
const importRequest = (data: Partial<EventData<typeof ClusterImportRequested>> = {}) => ({
  name: 'edge',
  apiServer: 'https://edge.example:6443',
  credentialRef: 'edge-admin',
  provider: 'cncf' as const,
  ...data,
});

describe('importer on real NATS and PostgreSQL: requests, credentials API', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let http: ReturnType<typeof importerClient>;
  let pki: TestPki;

  before(async () => {
    pki = createTestPki();
    service = await startTestService(importerService, importerTestEnv());
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-int-test');
    http = importerClient(service);
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('a ClusterImportRequested from the bus naming an unknown credential: ImportRejected credential-not-found, read model Rejected', async () => {
    const request = createEvent(ClusterImportRequested, external('edge-unknown-cred'), importRequest({ credentialRef: 'no-such-secret' }));
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterImportRequested.channel), request);

    const [rejected] = await waitForEvents(bus, prefix, ImportRejected, 'edge-unknown-cred');
    assert.equal(rejected?.source, '/flotilla/importer');
    assert.deepEqual(rejected?.data.reasons.map((reason) => reason.code), ['credential-not-found']);
    assert.match(rejected?.data.reasons[0]?.message ?? '', /"no-such-secret"/);
    assert.equal(rejected?.data.reasons[0]?.field, 'credentialRef');

    const cluster = await http.cluster('edge-unknown-cred');
    assert.equal(cluster?.state, 'Rejected');
    assert.equal(cluster?.requestEventId, request.id);
    assert.equal(cluster?.tunnel, null);
  });

  it('POST /imports answers 400 naming every bad field', async () => {
    const response = await http.post({ id: 'Not A Label', name: '', apiServer: 'http://plain.example', provider: 'k8s' });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { errors: { field: string }[] };
    assert.deepEqual(body.errors.map((error) => error.field).sort(), ['apiServer', 'credentialRef', 'id', 'name', 'provider']);
  });

  it('POST /imports emits ClusterImportRequested (202), which the importer then judges like any other request', async () => {
    const response = await http.post({ id: 'edge-posted', ...importRequest({ credentialRef: 'never-registered' }) });
    assert.equal(response.status, 202);
    const [requested] = await waitForEvents(bus, prefix, ClusterImportRequested, 'edge-posted');
    assert.equal(requested?.data.credentialRef, 'never-registered');
    assert.equal((await http.settled('edge-posted', ['Rejected'])).reasons[0]?.code, 'credential-not-found');
  });

  it('registers a bearer token: 201 with its description, never the token; GET lists and describes; 409 on the same ref', async () => {
    const token = serviceAccountJwt(new Date(Date.now() + 30 * 86_400_000));
    const described = await http.register({ ref: 'edge-token', kind: 'bearer-token', token, server: 'https://Edge.example:6443/', caCertificatePem: pki.caCertificatePem });
    assert.equal(described.kind, 'bearer-token');
    assert.equal(described.source, 'token');
    assert.equal(described.metadata.caCertificate, 'stored');
    assert.equal(described.binding?.apiServer, 'https://edge.example:6443', 'bound to the server it names, normalised');
    assert.ok(described.expiresAt, 'the JWT exp sets the expiry');
    assert.ok(Math.abs(Date.parse(described.expiresAt) - (Date.now() + 30 * 86_400_000)) < 5_000);
    assert.ok(!JSON.stringify(described).includes(token));

    const list = (await (await http.api('/api/v1/credentials')).json()) as { items: CredentialDescription[] };
    assert.ok(list.items.some((item) => item.ref === 'edge-token'));
    assert.ok(!JSON.stringify(list).includes(token));
    assert.equal(((await (await http.api('/api/v1/credentials/edge-token')).json()) as CredentialDescription).ref, 'edge-token');
    assert.equal((await http.api('/api/v1/credentials/nope')).status, 404);
    const again = await http.registerRaw({ ref: 'edge-token', kind: 'bearer-token', token: 'other', server: 'https://edge.example:6443' });
    assert.equal(again.status, 409);
  });

  it('registers a client certificate (expiry from the certificate) and a cloud account; refuses what does not fit, naming the field', async () => {
    const certificate = await http.register({ ref: 'edge-cert', kind: 'client-certificate', certificatePem: pki.clientCertificatePem, privateKeyPem: pki.clientKeyPem, server: 'https://edge.example:6443', caCertificatePem: pki.caCertificatePem });
    assert.equal(certificate.kind, 'client-certificate');
    assert.match(certificate.metadata.subject ?? '', /CN=admin/);
    assert.ok(certificate.expiresAt);

    const aws = await http.register({ ref: 'aws-prod', kind: 'cloud-account', provider: 'eks', account: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' } });
    assert.deepEqual([aws.kind, aws.metadata.provider], ['cloud-account', 'eks']);

    const other = createTestPki('another-cluster');
    const cases: [unknown, string][] = [
      [{ ref: 'Bad Ref', kind: 'bearer-token', token: 'abc', server: 'https://edge.example:6443' }, 'ref'],
      [{ ref: 'x', kind: 'password', token: 'abc' }, 'kind'],
      [{ ref: 'x', kind: 'bearer-token', token: 'two words', server: 'https://edge.example:6443' }, 'token'],
      [{ ref: 'x', kind: 'bearer-token', token: serviceAccountJwt(new Date(Date.now() - 60_000)), server: 'https://edge.example:6443' }, 'token'],
      [{ ref: 'x', kind: 'bearer-token', token: 'abc', server: 'https://edge.example:6443', caCertificatePem: 'not a certificate' }, 'caCertificatePem'],
      [{ ref: 'x', kind: 'bearer-token', token: 's3cr3t-value' }, 'server'],
      [{ ref: 'x', kind: 'bearer-token', token: 's3cr3t-value', server: 'http://edge.example:6443' }, 'server'],
      [{ ref: 'x', kind: 'client-certificate', certificatePem: pki.clientCertificatePem, privateKeyPem: other.clientKeyPem, server: 'https://edge.example:6443' }, 'privateKeyPem'],
      [{ ref: 'x', kind: 'client-certificate', certificatePem: 'garbage', privateKeyPem: pki.clientKeyPem, server: 'https://edge.example:6443' }, 'certificatePem'],
      [{ ref: 'x', kind: 'cloud-account', provider: 'eks', account: { accessKeyId: 'lowercase-is-wrong', secretAccessKey: 's3cr3t-value' } }, 'account.accessKeyId'],
      [{ ref: 'x', kind: 'kubeconfig', kubeconfig: 'clusters: [ {' }, 'kubeconfig'],
    ];
    for (const [body, field] of cases) {
      const response = await http.registerRaw(body);
      const answer = (await response.json()) as { errors: { field: string; message: string }[] };
      assert.equal(response.status, 400, JSON.stringify(body).slice(0, 80));
      assert.deepEqual(answer.errors.map((error) => error.field), [field], JSON.stringify(answer));
      assert.ok(!JSON.stringify(answer).includes('s3cr3t-value') && !JSON.stringify(answer).includes('two words'), 'a 400 never repeats a value');
    }
  });

  it('a kubeconfig is taken apart: the chosen context is stored as what it holds; a missing context is named with the ones there are', async () => {
    const kubeconfig = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'staging',
      clusters: [
        { name: 'prod', cluster: { server: 'https://prod.example:6443', 'certificate-authority-data': Buffer.from(pki.caCertificatePem).toString('base64') } },
        { name: 'staging', cluster: { server: 'https://staging.example:6443', 'insecure-skip-tls-verify': true } },
      ],
      users: [
        { name: 'prod-admin', user: { 'client-certificate-data': Buffer.from(pki.clientCertificatePem).toString('base64'), 'client-key-data': Buffer.from(pki.clientKeyPem).toString('base64') } },
        { name: 'staging-sso', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'kubelogin' } } },
      ],
      contexts: [
        { name: 'prod', context: { cluster: 'prod', user: 'prod-admin' } },
        { name: 'staging', context: { cluster: 'staging', user: 'staging-sso' } },
      ],
    });
    const prod = await http.register({ ref: 'prod-kubeconfig', kind: 'kubeconfig', kubeconfig, context: 'prod' });
    assert.deepEqual([prod.kind, prod.source, prod.metadata.apiServer, prod.metadata.context], ['client-certificate', 'kubeconfig', 'https://prod.example:6443', 'prod']);

    const refusals: [Record<string, unknown>, string, RegExp][] = [
      [{ context: 'nope' }, 'context', /no context "nope" \(it has: prod, staging\)/],
      [{}, 'kubeconfig', /cluster "staging" sets insecure-skip-tls-verify/],
    ];
    for (const [extra, field, message] of refusals) {
      const response = await http.registerRaw({ ref: 'k', kind: 'kubeconfig', kubeconfig, ...extra });
      const answer = (await response.json()) as { errors: { field: string; message: string }[] };
      assert.equal(response.status, 400);
      assert.equal(answer.errors[0]?.field, field);
      assert.match(answer.errors[0]?.message ?? '', message);
      assert.ok(!JSON.stringify(answer).includes(Buffer.from(pki.clientKeyPem).toString('base64').slice(0, 40)));
    }
  });

  it('DELETE removes a credential and its secret; refused while an imported cluster uses it', async () => {
    await http.register({ ref: 'short-lived', kind: 'bearer-token', token: 'abcdef.0123456789abcdef', server: 'https://edge.example:6443' });
    assert.equal((await http.api('/api/v1/credentials/short-lived', { method: 'DELETE' })).status, 204);
    assert.equal((await http.api('/api/v1/credentials/short-lived')).status, 404);
    assert.equal((await http.api('/api/v1/credentials/short-lived', { method: 'DELETE' })).status, 404);
  });

  it('serves health, readiness and the OpenAPI document', async () => {
    assert.equal((await http.api('/readyz')).status, 200);
    const openapi = (await (await http.api('/api/docs/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const path of ['/api/v1/imports', '/api/v1/connected-clusters', '/api/v1/connected-clusters/{id}', '/api/v1/credentials', '/api/v1/credentials/{ref}']) assert.ok(openapi.paths[path], path);
  });
});

describe('importer connectivity check against stand-in Kubernetes API servers', () => {
  const pki = createTestPki();
  const tokens = { eks: 'eks-admin-token-7f3a', gke: 'gke-admin-token-91bc', aks: 'aks-admin-token-22de', k3s: 'K10c9a8b7::server:5e4d', viewer: 'viewer-token-0000' };
  const jwt = serviceAccountJwt(new Date(Date.now() + 10 * 86_400_000));
  const clusters = new Map<string, FakeCluster>([
    ['/eks', { ...eksCluster(3), tokens: { [tokens.eks]: 'admin', [tokens.viewer]: 'viewer-without-nodes' } }],
    ['/gke', { ...gkeCluster(4), tokens: { [tokens.gke]: 'admin', [jwt]: 'admin' } }],
    ['/aks', { ...aksCluster(3), tokens: { [tokens.aks]: 'admin' }, notReady: true }],
    ['/k3s', { ...k3sCluster(2), clientCommonNames: ['admin'] }],
    ['/kubeadm', { ...kubeadmCluster(3), clientCommonNames: ['admin'] }],
    ['/old', { ...kubeadmCluster(1, 'v1.18.20'), clientCommonNames: ['admin'] }],
    ['/web', { ...kubeadmCluster(0), serves: 'web-page' }],
  ]);
  let apiServer: FakeApiServer;
  let slowServer: FakeApiServer;
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let http: ReturnType<typeof importerClient>;

  before(async () => {
    apiServer = await FakeApiServer.start({ pki, clusters });
    slowServer = await FakeApiServer.start({ pki, clusters: new Map([['', { ...eksCluster(1), tokens: { [tokens.eks]: 'admin' } }]]), latencyMs: [8_000, 8_000] });
    service = await startTestService(importerService, importerTestEnv({ IMPORT_PROBE_TIMEOUT_MS: '5000', SYNC_INTERVAL_MS: '3600000' }));
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-int-test-probe');
    http = importerClient(service);
    const ca = pki.caCertificatePem;
    // Each credential is bound to the one cluster it is used for.
    for (const [ref, token] of Object.entries(tokens)) await http.register({ ref: `${ref}-token`, kind: 'bearer-token', token, server: apiServer.url(`/${ref}`), caCertificatePem: ca });
    await http.register({ ref: 'slow-token', kind: 'bearer-token', token: tokens.eks, server: slowServer.url(), caCertificatePem: ca });
    await http.register({ ref: 'jwt-token', kind: 'bearer-token', token: jwt, server: apiServer.url('/gke'), caCertificatePem: ca });
    for (const path of ['k3s', 'kubeadm', 'old', 'web']) {
      await http.register({ ref: `${path}-cert`, kind: 'client-certificate', certificatePem: pki.clientCertificatePem, privateKeyPem: pki.clientKeyPem, server: apiServer.url(`/${path}`), caCertificatePem: ca });
    }
    await http.register({ ref: 'wrong-ca', kind: 'bearer-token', token: tokens.eks, server: apiServer.url('/eks'), caCertificatePem: createTestPki('someone-else').caCertificatePem });
    await http.register({ ref: 'wrong-token', kind: 'bearer-token', token: 'not-a-token-this-cluster-knows', server: apiServer.url('/eks'), caCertificatePem: ca });
  });

  after(async () => {
    await service.dispose();
    await apiServer.stop();
    await slowServer.stop();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const importCluster = async (id: string, path: string, credentialRef: string, server = apiServer) => {
    const response = await http.post({ id, name: id, apiServer: server.url(path), credentialRef, provider: 'cncf' });
    assert.equal(response.status, 202);
    return http.settled(id);
  };

  const distributions: [string, string, string, string, number, number][] = [
    ['eks', '/eks', 'eks-token', 'v1.31.5-eks-8cce635', 3, 12],
    ['gke', '/gke', 'gke-token', 'v1.30.8-gke.1051000', 4, 16],
    ['aks', '/aks', 'aks-token', 'v1.30.7', 3, 12],
    ['k3s', '/k3s', 'k3s-cert', 'v1.30.8+k3s1', 2, 4],
    ['vanilla', '/kubeadm', 'kubeadm-cert', 'v1.31.4', 6, 60],
  ];
  for (const [distribution, path, credentialRef, version, nodes, cpu] of distributions) {
    it(`imports a ${distribution} cluster with its facts (${credentialRef}); ClusterImported on the bus`, async () => {
      const id = `probe-${distribution}`;
      const cluster = await importCluster(id, path, credentialRef);
      assert.equal(cluster.state, 'Imported', JSON.stringify(cluster.reasons));
      assert.deepEqual([cluster.distribution, cluster.kubernetesVersion, cluster.nodeCount], [distribution, version, nodes]);
      const [imported] = await waitForEvents(bus, prefix, ClusterImported, id);
      assert.equal(imported?.data.distribution, distribution);
      assert.equal(imported?.data.kubernetesVersion, version);
      assert.equal(imported?.data.nodeCount, nodes);
      assert.equal(imported?.data.capacity.cpuCores, cpu);
      assert.ok((imported?.data.capacity.memoryBytes ?? 0) > nodes * 3e9);
      assert.ok(imported?.data.warnings.some((warning) => warning.code === 'onboard-unvalidated'));
    });
  }

  it('an AKS cluster whose /readyz fails is imported with the api-server-not-ready warning', async () => {
    const cluster = await http.cluster('probe-aks');
    assert.ok(cluster?.warnings.some((warning) => warning.code === 'api-server-not-ready'));
    assert.ok(!cluster?.warnings.some((warning) => warning.code === 'credential-expires'), 'an opaque token has no expiry');
  });

  it('a JWT token with an expiry: imported with a warning saying when management stops working', async () => {
    const cluster = await importCluster('probe-jwt', '/gke', 'jwt-token');
    assert.equal(cluster.state, 'Imported');
    const warning = cluster.warnings.find((candidate) => candidate.code === 'credential-expires');
    assert.ok(warning, JSON.stringify(cluster.warnings));
    const [imported] = await waitForEvents(bus, prefix, ClusterImported, 'probe-jwt');
    assert.ok(imported?.data.warnings.some((candidate) => candidate.code === 'credential-expires'));
    const expiry = ((await (await http.api('/api/v1/credentials/jwt-token')).json()) as CredentialDescription).expiresAt;
    assert.ok(expiry && warning.message.includes(expiry) && /management of probe-jwt stops working/.test(warning.message), warning.message);
  });

  it('a kubeconfig registered with a context selection imports the cluster it points to', async () => {
    const kubeconfig = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'eks',
      clusters: [
        { name: 'eks', cluster: { server: apiServer.url('/eks'), 'certificate-authority-data': Buffer.from(pki.caCertificatePem).toString('base64') } },
        { name: 'lab', cluster: { server: apiServer.url('/kubeadm'), 'certificate-authority-data': Buffer.from(pki.caCertificatePem).toString('base64') } },
      ],
      users: [
        { name: 'eks-viewer', user: { token: tokens.viewer } },
        { name: 'kubernetes-admin', user: { 'client-certificate-data': Buffer.from(pki.clientCertificatePem).toString('base64'), 'client-key-data': Buffer.from(pki.clientKeyPem).toString('base64') } },
      ],
      contexts: [
        { name: 'eks', context: { cluster: 'eks', user: 'eks-viewer' } },
        { name: 'kubernetes-admin@lab', context: { cluster: 'lab', user: 'kubernetes-admin' } },
      ],
    });
    const credential = await http.register({ ref: 'lab-kubeconfig', kind: 'kubeconfig', kubeconfig, context: 'kubernetes-admin@lab' });
    assert.equal(credential.metadata.apiServer, apiServer.url('/kubeadm'));
    const response = await http.post({ id: 'probe-kubeconfig', name: 'lab', apiServer: credential.metadata.apiServer, credentialRef: 'lab-kubeconfig', provider: 'cncf' });
    assert.equal(response.status, 202);
    const cluster = await http.settled('probe-kubeconfig');
    assert.deepEqual([cluster.state, cluster.distribution, cluster.nodeCount], ['Imported', 'vanilla', 6]);

    // The current context (a viewer token) may not list nodes.
    const current = await http.register({ ref: 'eks-kubeconfig', kind: 'kubeconfig', kubeconfig });
    assert.deepEqual([current.kind, current.metadata.context], ['bearer-token', 'eks']);
    const viewer = await importCluster('probe-forbidden', '/eks', 'eks-kubeconfig');
    assert.deepEqual(viewer.reasons.map((reason) => reason.code), ['forbidden']);
    assert.match(viewer.reasons[0]?.message ?? '', /may not list nodes/);
  });

  const failures: [string, () => Promise<{ path: string; credentialRef: string; server?: FakeApiServer; apiServer?: string }>, string, RegExp][] = [
    ['a CA that did not sign the server certificate', async () => ({ path: '/eks', credentialRef: 'wrong-ca' }), 'tls-verification-failed', /not signed by the CA stored with the credential/],
    ['a token the cluster does not know', async () => ({ path: '/eks', credentialRef: 'wrong-token' }), 'unauthorized', /401 Unauthorized/],
    [
      'nothing listening at the address',
      async () => {
        const nowhere = `https://127.0.0.1:${await freePort()}`;
        await http.register({ ref: 'nowhere-token', kind: 'bearer-token', token: tokens.eks, server: nowhere, caCertificatePem: pki.caCertificatePem });
        return { path: '', credentialRef: 'nowhere-token', apiServer: nowhere };
      },
      'api-server-unreachable',
      /connection was refused/,
    ],
    ['an API server slower than the probe timeout', async () => ({ path: '', credentialRef: 'slow-token', server: slowServer }), 'probe-timeout', /within 5000 ms|in time/],
    ['a web server instead of Kubernetes', async () => ({ path: '/web', credentialRef: 'web-cert' }), 'not-kubernetes', /does not serve a Kubernetes API/],
    ['a version outside the onboarding range (1.18)', async () => ({ path: '/old', credentialRef: 'old-cert' }), 'onboard-out-of-range', /1\.18\.20/],
  ];
  failures.forEach(([name, target, code, message], index) => {
    it(`${name}: ImportRejected ${code}`, async () => {
      const { path, credentialRef, server, apiServer: address } = await target();
      const id = `probe-fail-${index}`;
      const response = await http.post({ id, name: id, apiServer: address ?? (server ?? apiServer).url(path), credentialRef, provider: 'cncf' });
      assert.equal(response.status, 202);
      const cluster = await http.settled(id);
      assert.equal(cluster.state, 'Rejected');
      assert.deepEqual(cluster.reasons.map((reason) => reason.code), [code]);
      assert.match(cluster.reasons[0]?.message ?? '', message);
      const [rejected] = await waitForEvents(bus, prefix, ImportRejected, id);
      assert.equal(rejected?.data.reasons[0]?.code, code);
    });
  });

  it('a second import of an imported cluster is refused; the tunnel is followed; a deleted cluster is forgotten and its credential may go', async () => {
    assert.equal((await http.post({ id: 'probe-eks', name: 'again', apiServer: apiServer.url('/eks'), credentialRef: 'eks-token', provider: 'cncf' })).status, 409);
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterImportRequested.channel), createEvent(ClusterImportRequested, external('probe-eks'), importRequest({ credentialRef: 'eks-token' })));
    const [refused] = await waitForEvents(bus, prefix, EventRejected, 'probe-eks');
    assert.match(refused?.data.reason ?? '', /already-imported/);

    await publishEvent(bus.js, eventsSubject({ prefix }, TunnelConnected.channel), createEvent(TunnelConnected, { subject: 'probe-eks', source: '/flotilla/tunnel-broker' }, { agentId: 'agent-1' }));
    await eventually(async () => ((await http.cluster('probe-eks'))?.tunnel?.agentId === 'agent-1' ? true : undefined));

    assert.equal((await http.api('/api/v1/credentials/eks-token', { method: 'DELETE' })).status, 409);
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterDeleted.channel), createEvent(ClusterDeleted, external('probe-eks'), { model: 'connected' }));
    await eventually(async () => ((await http.api('/api/v1/connected-clusters/probe-eks')).status === 404 ? true : undefined));
    // probe-forbidden, probe-fail-* used other credentials; eks-token is free once probe-eks is gone.
    assert.equal((await http.api('/api/v1/credentials/eks-token', { method: 'DELETE' })).status, 204);
    assert.equal((await eventsOf(bus, prefix, ClusterImported, 'probe-eks')).length, 1);
  });
});
