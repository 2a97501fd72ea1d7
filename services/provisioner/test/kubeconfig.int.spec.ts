import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AuditTrail } from '@flotilla/auth';
import { ClusterReady } from '@flotilla/contracts';
import { freePort } from '@flotilla/messaging/testing';
import { StandInApiServer } from '@flotilla/tunnel/testing';
import * as x509 from '@peculiar/x509';
import { parse } from 'yaml';
import { JoinSecretsRepository } from '../src/bootstrap/join-secrets.repository.js';
import { clusterSpec, Harness, onClock, TestClock } from './support/harness.js';

const exec = promisify(execFile);
const KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** The API server's serving certificate, signed by the cluster CA as kubeadm's is, for 127.0.0.1. */
async function servingCertificate(ca: { certificatePem: string; privateKeyPem: string }): Promise<{ cert: string; key: string }> {
  const caCertificate = new x509.X509Certificate(ca.certificatePem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.privateKeyPem), KEY, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(KEY, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
      subject: 'CN=kube-apiserver',
      issuer: caCertificate.subjectName,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }]), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])],
    },
    webcrypto,
  );
  return { cert: certificate.toString('pem'), key: x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') };
}

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
}

describe('provisioner: kubeconfigs of the clusters it built, used by kubectl', { timeout: 180_000 }, () => {
  const clock = new TestClock();
  let h: Harness;
  let apiServer: StandInApiServer;
  let dir: string;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    h = await Harness.start({}, onClock(clock));
    port = await freePort();
    // The cluster's endpoint is where the stand-in of its API servers listens.
    await h.request('kc-1', clusterSpec({ labels: { team: 'a' }, nodePools: [{ name: 'workers', count: 1, machineSize: 'm', labels: {}, taints: [] }], infrastructure: { provider: 'simulated', parameters: { controlPlaneEndpoint: `127.0.0.1:${port}` } } }));
    await h.waitFor(ClusterReady, 'kc-1', 60_000);
    const secrets = await h.service.app.get(JoinSecretsRepository).find('kc-1');
    assert.ok(secrets, 'the cluster has its CA');
    // kube-apiserver as kubeadm sets it up: serving certificate and client CA from the cluster CA.
    apiServer = new StandInApiServer({ ...(await servingCertificate(secrets.ca)), tokens: [], clientCa: secrets.ca.certificatePem, nodes: ['kc-1-cp-0', 'kc-1-workers-0'] });
    await apiServer.listen(port);
  });

  after(async () => {
    await apiServer?.close();
    await h?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const kubeconfigOf = async (headers: Record<string, string>, query = '') => fetch(`${h.service.url}/api/v1/provisioner/clusters/kc-1/kubeconfig${query}`, { headers });
  const kubectl = async (file: string, ...args: string[]) => exec('kubectl', ['--kubeconfig', file, '--request-timeout', '20s', ...args], { env: { ...process.env, KUBECONFIG: '' }, timeout: 30_000 });
  const save = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  };

  it('an operator gets a kubeconfig kubectl uses as is: the cluster endpoint, its CA, a client certificate naming the caller', async () => {
    const answer = await kubeconfigOf(await h.service.auth('operator', { subject: 'alice' }));
    assert.equal(answer.status, 200, await answer.clone().text());
    assert.match(answer.headers.get('content-type') ?? '', /^application\/yaml/);
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    const text = await answer.text();
    const document = parse(text) as Kubeconfig;
    assert.equal(document.clusters[0]?.cluster.server, `https://127.0.0.1:${port}`);
    assert.equal(document.users[0]?.name, 'alice@kc-1');
    const file = save('operator.yaml', text);

    const { stdout: version } = await kubectl(file, 'get', '--raw', '/version');
    assert.equal((JSON.parse(version) as { gitVersion: string }).gitVersion, 'v1.32.4');
    const { stdout: nodes } = await kubectl(file, 'get', 'nodes', '-o', 'name');
    assert.deepEqual(nodes.trim().split('\n'), ['node/kc-1-cp-0', 'node/kc-1-workers-0']);
    const seen = apiServer.requests.filter((request) => request.certificate !== undefined);
    assert.ok(seen.length >= 2);
    assert.ok(seen.every((request) => request.certificate?.user === 'alice' && request.certificate.groups.join() === 'flotilla:operator'), JSON.stringify(seen.map((request) => request.certificate)));
  });

  it('an admin is flotilla:admin and kubeadm:cluster-admins; a viewer, a caller of another scope, or a bad ttl gets nothing', async () => {
    const admin = await kubeconfigOf(await h.service.auth('admin', { subject: 'root-person' }), '?ttl=10m');
    assert.equal(admin.status, 200);
    await kubectl(save('admin.yaml', await admin.text()), 'get', '--raw', '/version');
    assert.deepEqual(apiServer.requests.at(-1)?.certificate, { user: 'root-person', groups: ['flotilla:admin', 'kubeadm:cluster-admins'] });

    const viewer = await kubeconfigOf(await h.service.auth('viewer'));
    assert.equal(viewer.status, 403);
    assert.match(((await viewer.json()) as { message: string }).message, /operator role/);
    assert.equal((await kubeconfigOf(await h.service.auth('operator', { scope: { labels: { team: 'b' } } }))).status, 403);
    assert.equal((await kubeconfigOf(await h.service.auth('operator', { scope: { labels: { team: 'a' } } }))).status, 200);
    const badTtl = await kubeconfigOf(await h.service.auth('operator'), '?ttl=3d');
    assert.equal(badTtl.status, 400);
    assert.match(await badTtl.text(), /ttl/);
    assert.equal((await fetch(`${h.service.url}/api/v1/provisioner/clusters/nowhere/kubeconfig`, { headers: await h.service.auth('operator') })).status, 404);
  });

  it('an expired certificate is refused by the API server', async () => {
    // Issued three hours ago for an hour: it ran out two hours ago.
    clock.advance(-3 * 3_600_000);
    const answer = await kubeconfigOf(await h.service.auth('operator', { subject: 'late' }), '?ttl=1h');
    clock.advance(3 * 3_600_000);
    assert.equal(answer.status, 200);
    const before = apiServer.requests.length;
    await assert.rejects(kubectl(save('expired.yaml', await answer.text()), 'get', '--raw', '/version'));
    assert.ok(apiServer.refusedCertificates.includes('CERT_HAS_EXPIRED'), JSON.stringify(apiServer.refusedCertificates));
    assert.equal(apiServer.requests.length, before, 'nothing reached the API');
  });

  it('each kubeconfig is in the audit trail with its serial and expiry, never the certificate or its key', async () => {
    const answer = await kubeconfigOf(await h.service.auth('operator', { subject: 'audited' }), '?ttl=15m');
    const document = parse(await answer.text()) as Kubeconfig;
    const certificate = new x509.X509Certificate(Buffer.from(document.users[0]!.user['client-certificate-data'], 'base64').toString());
    await h.service.app.get(AuditTrail).settled();
    const records = (await h.query<{ record: { subject: string; route: string; method: string; reason?: string; status: number } }>(`SELECT record FROM audit_records`)).map((row) => row.record);
    const mine = records.find((record) => record.subject === 'audited');
    assert.ok(mine, JSON.stringify(records));
    assert.equal(mine.method, 'GET');
    assert.equal(mine.route, '/api/v1/provisioner/clusters/:id/kubeconfig');
    assert.equal(mine.status, 200);
    // The same number, whichever leading zeros each writes (a serial's first byte may be 0x0f).
    assert.match(mine.reason ?? '', new RegExp(`serial 0*${certificate.serialNumber.replace(/^0+/, '')}\\b`, 'i'));
    assert.match(mine.reason ?? '', new RegExp(certificate.notAfter.toISOString().slice(0, 16)));
    const everything = JSON.stringify(records);
    assert.doesNotMatch(everything, /PRIVATE KEY|BEGIN CERTIFICATE/);
    assert.ok(!everything.includes(document.users[0]!.user['client-key-data'].slice(0, 40)), 'no key data');
    assert.ok(!everything.includes(document.users[0]!.user['client-certificate-data'].slice(0, 40)), 'no certificate data');
    // Refusals are recorded too.
    assert.ok(records.some((record) => record.route === '/api/v1/provisioner/clusters/:id/kubeconfig' && record.status === 403));
  });
});
