import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertBound, bindingErrorIn, CredentialBindingError, type GuardedEndpoint } from './credential-guard.js';

const endpoint = (apiServer: string, boundTo = 'https://edge.example:6443'): GuardedEndpoint => ({
  apiServer,
  caCertificatePem: null,
  boundTo: { apiServer: boundTo, caFingerprints: [] },
  credentialRef: 'edge-admin',
});

describe('credential guard (where the Kubernetes client is built)', () => {
  it('lets through the bound server, however spelt', () => {
    assert.doesNotThrow(() => assertBound(endpoint('https://EDGE.example:6443/')));
  });

  it('throws a CredentialBindingError for any other address, naming the credential and both addresses', () => {
    for (const apiServer of ['https://elsewhere.example:6443', 'https://edge.example:6443/k8s/clusters/other', 'https://edge.example']) {
      assert.throws(
        () => assertBound(endpoint(apiServer)),
        (error: unknown) => error instanceof CredentialBindingError && error.code === 'credential-server-mismatch' && /"edge-admin" is bound to https:\/\/edge\.example:6443/.test(error.message),
        apiServer,
      );
    }
  });

  it('throws credential-ca-mismatch when the endpoint would verify the server with another CA than the bound one', () => {
    const withOtherCa = { ...endpoint('https://edge.example:6443'), boundTo: { apiServer: 'https://edge.example:6443', caFingerprints: ['AA:BB'] } };
    assert.throws(() => assertBound(withOtherCa), (error: unknown) => error instanceof CredentialBindingError && error.code === 'credential-ca-mismatch');
  });

  it('finds the refusal inside what a client wraps it in', () => {
    const refusal = new CredentialBindingError('credential-server-mismatch', 'no');
    assert.equal(bindingErrorIn(new Error('request failed', { cause: new Error('fetch failed', { cause: refusal }) })), refusal);
    assert.equal(bindingErrorIn(new Error('ECONNREFUSED')), undefined);
    assert.equal(bindingErrorIn('text'), undefined);
  });
});
