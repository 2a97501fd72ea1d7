import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ImporterConfig } from '../config.js';
import { proxyPathOf, renderTokenKubeconfig } from './kubeconfig.js';
import { publicAddressOf, requestOrigin } from './public-address.js';

const problemsOf = (env: Record<string, string>) => {
  const parsed = ImporterConfig.safeParse({ SECRETS_KEYS: `k1:${Buffer.alloc(32).toString('base64')}`, ...env });
  return parsed.success ? [] : parsed.error.issues.map((issue) => issue.path.join('.'));
};

describe("connected clusters' kubeconfigs: Flotilla's public address", () => {
  it('FLOTILLA_PUBLIC_URL must be an https:// URL without user, query or fragment, and FLOTILLA_PUBLIC_CA_FILE a readable PEM file: start-up names the variable', () => {
    assert.deepEqual(problemsOf({ FLOTILLA_PUBLIC_URL: 'https://flotilla.example.com:8443/' }), []);
    for (const url of ['http://flotilla.example.com', 'https://me:pw@flotilla.example.com', 'https://flotilla.example.com/?a=1', 'flotilla']) assert.deepEqual(problemsOf({ FLOTILLA_PUBLIC_URL: url }), ['FLOTILLA_PUBLIC_URL'], url);
    assert.deepEqual(problemsOf({ FLOTILLA_PUBLIC_CA_FILE: '/nonexistent/ca.crt' }), ['FLOTILLA_PUBLIC_CA_FILE']);
    assert.deepEqual(publicAddressOf({ FLOTILLA_PUBLIC_URL: 'https://Flotilla.Example.com:443/' }), { url: 'https://flotilla.example.com', caCertificatePem: null });
  });

  it("without it, the request's origin as the entry point forwarded it, else the service's own", () => {
    assert.equal(requestOrigin({ host: '10.0.0.5:8082', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'localhost:8443' }, false), 'https://localhost:8443');
    assert.equal(requestOrigin({ host: 'importer:8082', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'flotilla.example.com', 'x-forwarded-port': '8443' }, false), 'https://flotilla.example.com:8443');
    assert.equal(requestOrigin({ 'x-forwarded-proto': 'https,http', 'x-forwarded-host': 'flotilla.example.com', 'x-forwarded-port': '443' }, false), 'https://flotilla.example.com');
    assert.equal(requestOrigin({ host: '127.0.0.1:8082' }, true), 'https://127.0.0.1:8082');
    assert.equal(requestOrigin({ host: '127.0.0.1:8082' }, false), 'http://127.0.0.1:8082');
  });

  it('the server path is the tunnel broker\'s proxy for a registered cluster, the importer\'s for the others; the user is the token', () => {
    assert.equal(proxyPathOf({ id: 'edge-1', credentialRef: 'flotilla:tunnel' }), '/api/v1/tunnels/edge-1/k8s');
    assert.equal(proxyPathOf({ id: 'edge-1', credentialRef: 'edge-admin' }), '/api/v1/connected-clusters/edge-1/k8s');
    const document = parse(renderTokenKubeconfig({ clusterId: 'edge-1', server: 'https://f.example/api/v1/tunnels/edge-1/k8s', caCertificatePem: null, user: 'alice', token: 'T' })) as Record<string, unknown>;
    assert.deepEqual(document['clusters'], [{ name: 'edge-1', cluster: { server: 'https://f.example/api/v1/tunnels/edge-1/k8s' } }]);
    assert.deepEqual(document['users'], [{ name: 'alice@edge-1', user: { token: 'T' } }]);
    assert.equal(document['current-context'], 'edge-1');
  });
});
