import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { prepareCredential, RegisterCredentialBody, type CredentialPayload, type Preparation } from './registration.js';

const now = new Date(Date.UTC(2026, 10, 23, 12, 0, 0));
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (exp: number) => `${encode({ alg: 'RS256' })}.${encode({ sub: 'system:serviceaccount:kube-system:importer', exp })}.c2ln`;
const prepare = (body: unknown): Preparation => prepareCredential(RegisterCredentialBody.parse(body), now);
const payloadOf = (preparation: Preparation) => {
  assert.ok(preparation.ok, JSON.stringify(!preparation.ok && preparation.errors));
  return JSON.parse(preparation.credential.secret.revealString()) as CredentialPayload;
};
const kubeconfig = (user: Record<string, unknown>, cluster: Record<string, unknown> = {}) =>
  stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'edge',
    clusters: [{ name: 'edge', cluster: { server: 'https://edge.example:6443', ...cluster } }],
    users: [{ name: 'edge-admin', user }],
    contexts: [{ name: 'edge', context: { cluster: 'edge', user: 'edge-admin' } }],
  });

describe('prepareCredential', () => {
  it('a JWT bearer token: expiry from exp, the token sealed, never in metadata', () => {
    const token = jwt(Math.floor(now.getTime() / 1000) + 3600);
    const preparation = prepare({ ref: 'edge', kind: 'bearer-token', token, server: 'https://Edge.Example:6443/' });
    assert.ok(preparation.ok);
    assert.equal(preparation.credential.expiresAt?.toISOString(), new Date(now.getTime() + 3_600_000).toISOString());
    assert.equal(preparation.credential.metadata.caCertificate, 'system-roots');
    assert.deepEqual(preparation.credential.metadata.binding, { apiServer: 'https://edge.example:6443', caFingerprints: [] });
    assert.deepEqual(payloadOf(preparation), { kind: 'bearer-token', token, server: 'https://edge.example:6443', caCertificatePem: null });
    assert.ok(!JSON.stringify(preparation.credential).includes(token), 'the prepared credential shows no token');
  });

  it('an expired JWT is refused, naming the field', () => {
    const preparation = prepare({ ref: 'edge', kind: 'bearer-token', token: jwt(Math.floor(now.getTime() / 1000) - 1), server: 'https://edge.example:6443' });
    assert.ok(!preparation.ok);
    assert.equal(preparation.errors[0]?.field, 'token');
    assert.match(preparation.errors[0]?.message ?? '', /expired at 2026-11-23T11:59:59/);
  });

  it('a kubeconfig with a token user: stored as bearer-token with the server and context, bound to that server', () => {
    const preparation = prepare({ ref: 'edge', kind: 'kubeconfig', kubeconfig: kubeconfig({ token: 'opaque-token-1234' }) });
    assert.ok(preparation.ok);
    assert.deepEqual(
      [preparation.credential.kind, preparation.credential.source, preparation.credential.metadata],
      ['bearer-token', 'kubeconfig', { apiServer: 'https://edge.example:6443', context: 'edge', caCertificate: 'system-roots', binding: { apiServer: 'https://edge.example:6443', caFingerprints: [] } }],
    );
    const payload = payloadOf(preparation);
    assert.ok(payload.kind === 'bearer-token');
    assert.equal(payload.server, 'https://edge.example:6443');
  });

  it('a token or client certificate must name its server: missing or not https, refused naming "server"', () => {
    const missing = RegisterCredentialBody.safeParse({ ref: 'edge', kind: 'bearer-token', token: 'opaque-token-1234' });
    assert.ok(!missing.success);
    assert.deepEqual(missing.error.issues.map((issue) => [issue.path.join('.'), /is required/.test(issue.message)]), [['server', true]]);
    const certificate = RegisterCredentialBody.safeParse({ ref: 'edge', kind: 'client-certificate', certificatePem: 'x', privateKeyPem: 'y' });
    assert.ok(!certificate.success);
    assert.deepEqual(certificate.error.issues.map((issue) => issue.path.join('.')), ['server']);
    for (const server of ['http://edge.example:6443', 'edge.example', 'https://admin:pw@edge.example']) {
      const preparation = prepare({ ref: 'edge', kind: 'bearer-token', token: 'opaque-token-1234', server });
      assert.ok(!preparation.ok, server);
      assert.equal(preparation.errors[0]?.field, 'server', server);
      assert.ok(!(preparation.errors[0]?.message ?? '').includes('pw'), 'the value is not repeated');
    }
  });

  const refusals: [string, string, RegExp][] = [
    ['an exec plugin', kubeconfig({ exec: { command: 'aws', args: ['eks', 'get-token'] } }), /user "edge-admin" uses an exec plugin/],
    ['a token file', kubeconfig({ tokenFile: '/var/run/token' }), /neither a token nor client-certificate-data/],
    ['certificate files', kubeconfig({ 'client-certificate': '/a.crt', 'client-key': '/a.key' }), /points to certificate files/],
    ['a key without a certificate', kubeconfig({ 'client-key-data': Buffer.from('-----BEGIN PRIVATE KEY-----').toString('base64') }), /client-key-data but no client-certificate-data/],
    ['skipped TLS verification', kubeconfig({ token: 't0k3n-abc' }, { 'insecure-skip-tls-verify': true }), /cluster "edge" sets insecure-skip-tls-verify/],
    ['a plain-http server', stringify({ clusters: [{ name: 'c', cluster: { server: 'http://edge:8080' } }], users: [{ name: 'u', user: { token: 'x' } }], contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }], 'current-context': 'c' }), /only talks to https/],
    ['no current-context', stringify({ clusters: [], users: [], contexts: [{ name: 'a', context: { cluster: 'c', user: 'u' } }] }), /no current-context: name one of its contexts \(a\)/],
    ['broken YAML', 'clusters: [ {\n  token: super-secret-value', /YAML .*line \d+/],
  ];
  for (const [name, text, message] of refusals) {
    it(`a kubeconfig with ${name} is refused with a message that says so`, () => {
      const preparation = prepare({ ref: 'edge', kind: 'kubeconfig', kubeconfig: text });
      assert.ok(!preparation.ok);
      assert.match(preparation.errors[0]?.message ?? '', message);
      assert.ok(!(preparation.errors[0]?.message ?? '').includes('super-secret-value'), 'the YAML is never quoted');
    });
  }

  it('cloud accounts: checked per provider, the GCP key file accepted as a string', () => {
    const gcp = { type: 'service_account', client_email: 'importer@acme.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\nMII...\n-----END PRIVATE KEY-----\n', project_id: 'acme' };
    const preparation = prepare({ ref: 'gcp', kind: 'cloud-account', provider: 'gke', account: JSON.stringify(gcp) });
    assert.ok(preparation.ok);
    assert.deepEqual(preparation.credential.metadata, { provider: 'gke' });
    const azure = prepare({ ref: 'az', kind: 'cloud-account', provider: 'aks', account: { tenantId: 't', clientId: 'c' } });
    assert.ok(!azure.ok);
    assert.equal(azure.errors[0]?.field, 'account.clientSecret');
  });
});
