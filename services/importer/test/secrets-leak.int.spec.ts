import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { streamName } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { databaseUrl, deleteTestStreams, ensureDatabase, eventually, randomSuffix, TEST_NATS_URL, TEST_SERVER_URL, TEST_STREAM_MAX_BYTES, testBusPrefix } from '@flotilla/messaging/testing';
import { KeyRing } from '@flotilla/secrets';
import { testIssuer } from '@flotilla/service-kit/testing';
import pg from 'pg';
import { stringify } from 'yaml';
import { kubeadmCluster } from './support/cluster-fixtures.js';
import { FakeApiServer } from './support/fake-apiserver.js';
import { createTestPki, serviceAccountJwt } from './support/pki.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const DATABASE = 'flotilla_test';

/**
 * The importer as a process, as it runs in production: its whole stdout (JSON logs at debug),
 * every table of its schema and every event it put on the bus are searched for the secrets it
 * was given. None may appear, in any encoding the inputs came in.
 */
describe('secrets stay secret: database, logs, bus events and API answers', () => {
  const pki = createTestPki();
  const other = createTestPki('not-this-cluster');
  const token = serviceAccountJwt(new Date(Date.now() + 5 * 86_400_000), 'system:serviceaccount:kube-system:leak-check');
  const kubeconfigToken = 'kc-token-Zq8vN2xL5pR7tW1y';
  const wrongToken = 'wrong-token-Hh3Jk9Lm2Nb4';
  const awsSecret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYLEAKCHECK';
  const keyBody = pki.clientKeyPem.split('\n')[1] ?? '';
  const kubeconfig = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'lab',
    clusters: [{ name: 'lab', cluster: { server: 'https://127.0.0.1:1/placeholder', 'certificate-authority-data': Buffer.from(pki.caCertificatePem).toString('base64') } }],
    users: [
      { name: 'lab-admin', user: { token: kubeconfigToken } },
      { name: 'lab-cert', user: { 'client-certificate-data': Buffer.from(pki.clientCertificatePem).toString('base64'), 'client-key-data': Buffer.from(pki.clientKeyPem).toString('base64') } },
    ],
    contexts: [
      { name: 'lab', context: { cluster: 'lab', user: 'lab-admin' } },
      { name: 'lab-cert', context: { cluster: 'lab', user: 'lab-cert' } },
    ],
  });
  const secrets: Record<string, string> = {
    token,
    'token payload': token.split('.')[2] ?? token,
    'kubeconfig token': kubeconfigToken,
    'wrong token': wrongToken,
    'client key (PEM line)': keyBody,
    'client key (base64 of the PEM)': Buffer.from(pki.clientKeyPem).toString('base64').slice(20, 80),
    'other key (PEM line)': other.clientKeyPem.split('\n')[1] ?? '',
    'aws secret': awsSecret,
  };
  let apiServer: FakeApiServer;
  let child: ChildProcess;
  let output = '';
  let url = '';
  const answers: string[] = [];
  const schema = `importer_leak_${randomSuffix()}`;
  const prefix = testBusPrefix();
  const databaseUrlForTest = databaseUrl(DATABASE, TEST_SERVER_URL);
  /** An admin token for the bus prefix, whose key is published before the process starts. */
  let authorization = '';

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', authorization }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    answers.push(text);
    return { status: response.status, text };
  };

  before(async () => {
    apiServer = await FakeApiServer.start({ pki, clusters: new Map([['/lab', { ...kubeadmCluster(2), tokens: { [token]: 'admin', [kubeconfigToken]: 'admin' }, clientCommonNames: ['admin'] }]]) });
    await ensureDatabase(DATABASE);
    authorization = `Bearer ${await (await testIssuer(prefix)).token('admin')}`;
    child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrlForTest,
        DATABASE_SCHEMA: schema,
        NATS_URL: TEST_NATS_URL,
        BUS_PREFIX: prefix,
        BUS_STREAM_MAX_BYTES: String(TEST_STREAM_MAX_BYTES),
        PORT: '0',
        LOG_LEVEL: 'debug',
        OTEL_SDK_DISABLED: 'true',
        SECRETS_KEYS: KeyRing.generateConfigValue(['leak-1']),
        IMPORT_POLL_INTERVAL_MS: '50',
        SYNC_INTERVAL_MS: '300',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    url = await eventually(() => /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output)?.[1], 30_000, 'the importer to listen');
  });

  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await apiServer.stop();
    const client = new pg.Client({ connectionString: databaseUrlForTest });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
    const bus = await BusConnection.open(TEST_NATS_URL, 'importer-leak-cleanup');
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('imports with a token, a client key and kubeconfigs (and fails with a wrong token), then finds no secret anywhere', async () => {
    const ca = pki.caCertificatePem;
    const labeled = kubeconfig.replace('https://127.0.0.1:1/placeholder', apiServer.url('/lab'));
    const registrations = [
      { ref: 'leak-token', kind: 'bearer-token', token, server: apiServer.url('/lab'), caCertificatePem: ca },
      { ref: 'leak-cert', kind: 'client-certificate', certificatePem: pki.clientCertificatePem, privateKeyPem: pki.clientKeyPem, server: apiServer.url('/lab'), caCertificatePem: ca },
      { ref: 'leak-kubeconfig', kind: 'kubeconfig', kubeconfig: labeled },
      { ref: 'leak-kubeconfig-cert', kind: 'kubeconfig', kubeconfig: labeled, context: 'lab-cert' },
      { ref: 'leak-wrong', kind: 'bearer-token', token: wrongToken, server: apiServer.url('/lab'), caCertificatePem: ca },
      { ref: 'leak-aws', kind: 'cloud-account', provider: 'eks', account: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: awsSecret } },
    ];
    for (const body of registrations) assert.equal((await call('POST', '/api/v1/credentials', body)).status, 201, body.ref);
    // Refused registrations carrying secrets: the key of another certificate, a kubeconfig context that is not there.
    const refused = [
      { ref: 'leak-bad', kind: 'client-certificate', certificatePem: pki.clientCertificatePem, privateKeyPem: other.clientKeyPem, server: apiServer.url('/lab') },
      { ref: 'leak-bad', kind: 'kubeconfig', kubeconfig: labeled, context: 'nope' },
    ];
    for (const body of refused) assert.equal((await call('POST', '/api/v1/credentials', body)).status, 400);
    // The search itself works: everything that was sent holds every secret.
    const sent = JSON.stringify([...registrations, ...refused]);
    assert.deepEqual(Object.entries(secrets).filter(([, secret]) => !sent.includes(secret)).map(([name]) => name), []);

    const imports: [string, string, string][] = [
      ['leak-a', 'leak-token', 'Imported'],
      ['leak-b', 'leak-cert', 'Imported'],
      ['leak-c', 'leak-kubeconfig', 'Imported'],
      ['leak-d', 'leak-wrong', 'Rejected'],
      ['leak-e', 'leak-kubeconfig-cert', 'Imported'],
    ];
    for (const [id, credentialRef] of imports) {
      assert.equal((await call('POST', '/api/v1/imports', { id, name: id, apiServer: apiServer.url('/lab'), credentialRef, provider: 'cncf' })).status, 202);
    }
    for (const [id, , state] of imports) {
      await eventually(async () => ((JSON.parse((await call('GET', `/api/v1/connected-clusters/${id}`)).text) as { state?: string }).state === state ? true : undefined), 15_000, `${id} ${state}`);
    }
    // A few sync rounds, so the re-check path logs too.
    await eventually(() => ((apiServer.requests.get('/readyz') ?? 0) >= 10 ? true : undefined), 10_000, 'sync rounds');
    await call('GET', '/api/v1/credentials');
    for (const ref of ['leak-token', 'leak-cert', 'leak-kubeconfig', 'leak-aws']) await call('GET', `/api/v1/credentials/${ref}`);

    const database = await dumpSchema(databaseUrlForTest, schema);
    const events = await dumpEvents(prefix);
    child.kill('SIGTERM');
    await once(child, 'exit');

    assert.match(database, /"ref":"credential\/leak-token"/, 'the dump holds the sealed secrets');
    assert.ok(events.includes('io.flotilla.cluster.imported') || events.includes('ClusterImported') || events.includes('"nodeCount"'), 'the events were captured');
    assert.ok(output.includes('"level"'), 'the logs were captured');
    const places: Record<string, string> = { database, logs: output, 'bus events': events, 'API answers': answers.join('\n') };
    const found: string[] = [];
    for (const [where, text] of Object.entries(places)) {
      for (const [name, secret] of Object.entries(secrets)) {
        assert.ok(secret.length >= 16, `${name} is long enough to search for`);
        if (text.includes(secret)) found.push(`${name} in ${where}`);
      }
    }
    assert.deepEqual(found, []);
  });
});

/** Every table of the schema as text, one JSON row per line (bytea as hex). */
async function dumpSchema(connectionString: string, schema: string): Promise<string> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const tables = (await client.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, [schema])).rows;
    const lines: string[] = [];
    for (const { table_name: table } of tables) {
      const rows = await client.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${schema}"."${table}" t`);
      lines.push(`-- ${table}`, ...rows.rows.map((row) => row.row));
    }
    assert.ok(tables.some((table) => table.table_name === 'secrets') && tables.some((table) => table.table_name === 'outbox'));
    return lines.join('\n');
  } finally {
    await client.end();
  }
}

/** Every message of the test's events stream: subject, headers and payload as text. */
async function dumpEvents(prefix: string): Promise<string> {
  const bus = await BusConnection.open(TEST_NATS_URL, 'importer-leak-events');
  try {
    const stream = streamName({ prefix }, 'events');
    const info = await bus.jsm.streams.info(stream);
    const lines: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const message = await bus.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!message) continue;
      const headers = message.header ? [...message.header.keys()].map((key) => `${key}: ${message.header?.get(key) ?? ''}`).join('; ') : '';
      lines.push(`${message.subject} ${headers} ${new TextDecoder().decode(message.data)}`);
    }
    return lines.join('\n');
  } finally {
    await bus.drain();
  }
}
