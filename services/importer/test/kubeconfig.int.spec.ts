import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AuditTrail } from '@flotilla/auth';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { StandInApiServer } from '@flotilla/tunnel/testing';
import { DataSource } from 'typeorm';
import { parse } from 'yaml';
import { importerService } from '../src/service.js';
import { importerTestEnv } from './support/importer-client.js';
import { createTestPki } from './support/pki.js';

const exec = promisify(execFile);
const CLUSTER_TOKEN = 'importer-credential-token-of-edge-cluster';

interface Kubeconfig {
  clusters: { cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users: { name: string; user: { token: string } }[];
}

/**
 * A directly reachable connected cluster used through Flotilla: the importer (over HTTPS, as
 * behind its public address) hands out a kubeconfig with the caller's token, and kubectl reaches
 * the cluster's stand-in API server through the importer's proxy, which forwards with the
 * importer's stored credential.
 */
describe('importer: kubeconfigs of connected clusters and the proxy kubectl uses', { timeout: 120_000 }, () => {
  const clusterPki = createTestPki('edge-cluster');
  const flotillaPki = createTestPki('flotilla');
  const dir = mkdtempSync(join(tmpdir(), 'importer-kubeconfig-'));
  let importer: TestService;
  let apiServer: StandInApiServer;
  let operatorToken: string;
  let viewerToken: string;

  const file = (name: string, content: string) => {
    writeFileSync(join(dir, name), content, { mode: 0o600 });
    return join(dir, name);
  };

  /** The importer's API over HTTPS, trusting Flotilla's CA. */
  const call = (method: string, path: string, token: string, body?: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> =>
    new Promise((resolve, reject) => {
      const outgoing = request(`${importer.url}${path}`, { method, ca: flotillaPki.caCertificatePem, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString() }));
      });
      outgoing.on('error', reject);
      outgoing.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const kubectl = (kubeconfig: string, ...args: string[]) => exec('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout', '20s', ...args], { env: { ...process.env, KUBECONFIG: '' }, timeout: 30_000 });

  before(async () => {
    apiServer = new StandInApiServer({ cert: clusterPki.serverCertificatePem, key: clusterPki.serverKeyPem, tokens: [CLUSTER_TOKEN], nodes: ['edge-cp-0', 'edge-worker-0'] });
    await apiServer.listen();
    importer = await startTestService(
      importerService,
      importerTestEnv({ TLS_CERT_FILE: file('flotilla.crt', flotillaPki.serverCertificatePem), TLS_KEY_FILE: file('flotilla.key', flotillaPki.serverKeyPem), FLOTILLA_PUBLIC_CA_FILE: file('flotilla-ca.crt', flotillaPki.caCertificatePem) }),
    );
    assert.match(importer.url, /^https:/);
    const admin = importer.adminToken;
    const registered = await call('POST', '/api/v1/credentials', admin, { ref: 'edge-token', kind: 'bearer-token', token: CLUSTER_TOKEN, server: apiServer.url, caCertificatePem: clusterPki.caCertificatePem });
    assert.equal(registered.status, 201, registered.text);
    const imported = await call('POST', '/api/v1/imports', admin, { id: 'edge-1', name: 'edge', apiServer: apiServer.url, credentialRef: 'edge-token', provider: 'cncf' });
    assert.equal(imported.status, 202, imported.text);
    await eventually(async () => ((JSON.parse((await call('GET', '/api/v1/connected-clusters/edge-1', admin)).text) as { state?: string }).state === 'Imported' ? true : undefined), 20_000, 'edge-1 imported');
    operatorToken = (await importer.auth('operator', { subject: 'olga' })).authorization!.replace('Bearer ', '');
    viewerToken = (await importer.auth('viewer', { subject: 'vera' })).authorization!.replace('Bearer ', '');
  });

  after(async () => {
    await apiServer?.close();
    await importer?.dispose();
    const bus = await BusConnection.open(TEST_NATS_URL, 'importer-kubeconfig-test');
    await deleteTestStreams(bus.jsm, importer.env['BUS_PREFIX']!);
    await bus.drain();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an operator's kubeconfig: Flotilla's address and CA, the importer's proxy, the operator's own token; kubectl reads and writes through it", async () => {
    const answer = await call('GET', '/api/v1/connected-clusters/edge-1/kubeconfig', operatorToken);
    assert.equal(answer.status, 200, answer.text);
    assert.match(String(answer.headers['content-type']), /^application\/yaml/);
    assert.equal(answer.headers['cache-control'], 'no-store');
    const document = parse(answer.text) as Kubeconfig;
    assert.equal(document.clusters[0]?.cluster.server, `${importer.url}/api/v1/connected-clusters/edge-1/k8s`);
    assert.equal(Buffer.from(document.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(), flotillaPki.caCertificatePem);
    assert.equal(document.users[0]?.user.token, operatorToken);
    const kubeconfig = file('operator.yaml', answer.text);

    // kubectl before 1.34 sends a --raw path from the server's root: the raw path names the proxy itself.
    const { stdout: version } = await kubectl(kubeconfig, 'get', '--raw', '/api/v1/connected-clusters/edge-1/k8s/version');
    assert.equal((JSON.parse(version) as { gitVersion: string }).gitVersion, 'v1.32.4');
    const { stdout: both } = await kubectl(kubeconfig, 'version', '-o', 'json');
    assert.equal((JSON.parse(both) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion, 'v1.32.4');
    apiServer.addPod('default', 'web-0');
    const { stdout: pods } = await kubectl(kubeconfig, 'get', 'pods', '-n', 'default', '-o', 'name');
    assert.equal(pods.trim(), 'pod/web-0');
    // From a file: kubectl sends it as JSON (typed commands send protobuf, which the stand-in does not read).
    await kubectl(kubeconfig, 'create', '--validate=false', '-n', 'default', '-f', file('secret.json', JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 's3cret' } })));
    assert.equal(Buffer.from(String((apiServer.secret('default', 'db')?.['data'] as Record<string, string>)['password']), 'base64').toString(), 's3cret');

    // The cluster saw the importer's credential only: never the caller's token or an impersonation.
    assert.ok(apiServer.requests.length >= 4);
    assert.ok(apiServer.requests.every((seen) => seen.authenticated && seen.user === undefined), JSON.stringify(apiServer.requests.slice(0, 3)));
  });

  it('viewers read through the proxy but not secrets, write nothing, exec nothing and get no kubeconfig; operators exec through it', async () => {
    const kubeconfig = file('viewer.yaml', (await call('GET', '/api/v1/connected-clusters/edge-1/kubeconfig', operatorToken)).text.replace(operatorToken, viewerToken));
    const { stdout: pods } = await kubectl(kubeconfig, 'get', 'pods', '-n', 'default', '-o', 'name');
    assert.equal(pods.trim(), 'pod/web-0');
    await assert.rejects(kubectl(kubeconfig, 'get', 'secrets', '-n', 'default'), /reading secrets through Flotilla: this needs the operator role/);
    await assert.rejects(kubectl(kubeconfig, 'get', 'secrets', '-A'), /needs the operator role/);
    await assert.rejects(kubectl(kubeconfig, 'delete', 'pod', 'web-0', '-n', 'default'), /DELETE requests through Flotilla: this needs the operator role/);
    assert.ok(apiServer.secret('default', 'db'), 'untouched');
    const refused = await call('GET', '/api/v1/connected-clusters/edge-1/kubeconfig', viewerToken);
    assert.equal(refused.status, 403);
    assert.match(refused.text, /operator role/);
    await assert.rejects(kubectl(kubeconfig, 'exec', '-n', 'default', 'web-0', '--', 'echo', 'hi'), /exec, attach and port-forward through Flotilla: this needs the operator role/);
    // An operator's exec is relayed: WebSocket to the API server with the importer's credential.
    const operatorKubeconfig = file('operator-exec.yaml', (await call('GET', '/api/v1/connected-clusters/edge-1/kubeconfig', operatorToken)).text);
    const { stdout: echoed } = await kubectl(operatorKubeconfig, 'exec', '-n', 'default', 'web-0', '--', 'echo', 'through', 'flotilla');
    assert.equal(echoed.trim(), 'through flotilla');
    assert.ok(apiServer.requests.some((seen) => seen.upgrade?.toLowerCase() === 'websocket' && seen.path.includes('/pods/web-0/exec') && seen.authenticated));
    await assert.rejects(kubectl(operatorKubeconfig, 'exec', '-n', 'default', 'web-0', '--', 'sh', '-c', 'echo failing; exit 3'), (error: { code?: number }) => error.code === 3);
    assert.equal((await call('GET', '/api/v1/connected-clusters/nowhere/kubeconfig', operatorToken)).status, 404);
    assert.equal((await call('GET', '/api/v1/connected-clusters/nowhere/k8s/version', operatorToken)).status, 404);
    assert.equal((await call('GET', '/api/v1/connected-clusters/edge-1/k8s/version', 'not-a-token')).status, 401);
  });

  it('the audit trail has the kubeconfigs and every proxied request with who asked, never a token', async () => {
    await importer.app.get(AuditTrail).settled();
    const records = (await importer.app.get(DataSource).query<{ record: { subject: string; method: string; route: string; status: number; clusterId?: string; reason?: string } }[]>(`SELECT record FROM audit_records`)).map((row) => row.record);
    const issued = records.filter((record) => record.route === '/api/v1/connected-clusters/:id/kubeconfig' && record.status === 200);
    assert.ok(issued.length >= 2 && issued.every((record) => record.subject === 'olga' && record.clusterId === 'edge-1'), JSON.stringify(issued));
    assert.ok(records.some((record) => record.subject === 'vera' && record.route === '/api/v1/connected-clusters/edge-1/k8s/api/v1/namespaces/default/secrets' && record.status === 403));
    assert.ok(records.some((record) => record.subject === 'olga' && record.method === 'POST' && record.route === '/api/v1/connected-clusters/edge-1/k8s/api/v1/namespaces/default/secrets' && record.status === 201));
    const everything = JSON.stringify(records);
    for (const secret of [operatorToken, viewerToken, CLUSTER_TOKEN, 's3cret']) assert.ok(!everything.includes(secret), 'no token or secret in the audit trail');
  });
});
