import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorFacts, probeFailureOf, type ErrorFacts } from './probe-failures.js';

const server = 'https://10.0.0.1:6443';

describe('probeFailureOf', () => {
  const cases: [string, ErrorFacts, string][] = [
    ['a CA that did not sign the server certificate', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'tls-verification-failed'],
    ['a self-signed server certificate', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'tls-verification-failed'],
    ['a certificate for another name', { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, 'tls-verification-failed'],
    ['a client certificate refused in the handshake', { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' }, 'unauthorized'],
    ['401', { status: 401 }, 'unauthorized'],
    ['403', { status: 403 }, 'forbidden'],
    ['connection refused', { code: 'ECONNREFUSED' }, 'api-server-unreachable'],
    ['DNS', { code: 'ENOTFOUND' }, 'api-server-unreachable'],
    ['aborted', { name: 'AbortError' }, 'probe-timeout'],
    ['500', { status: 500 }, 'api-server-error'],
  ];
  for (const [name, facts, expected] of cases) {
    it(`${name}: ${expected}`, () => {
      const failure = probeFailureOf(facts, 'list nodes', server, 'edge-admin');
      assert.equal(failure.code, expected);
      assert.match(failure.message, /10\.0\.0\.1:6443/);
    });
  }

  it('404 on /version is not Kubernetes; on another step it is an API error', () => {
    assert.equal(probeFailureOf({ status: 404 }, 'read the version', server, 'x').code, 'not-kubernetes');
    assert.equal(probeFailureOf({ status: 404 }, 'list nodes', server, 'x').code, 'api-server-error');
  });

  it('a forbidden message says what was refused and why it matters', () => {
    assert.match(probeFailureOf({ status: 403 }, 'list nodes', server, 'ro-token').message, /"ro-token" may not list nodes .*cluster-admin/);
  });
});

describe('errorFacts', () => {
  it('reads the client ApiException status, FetchError codes, causes and aborts', () => {
    assert.deepEqual(errorFacts(Object.assign(new Error('HTTP-Code: 401'), { code: 401 })), { status: 401 });
    assert.deepEqual(errorFacts(Object.assign(new Error('request failed'), { code: 'ECONNREFUSED', type: 'system' })), { code: 'ECONNREFUSED' });
    assert.deepEqual(errorFacts(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) })), { code: 'ENOTFOUND' });
    assert.deepEqual(errorFacts(Object.assign(new Error('aborted'), { name: 'AbortError' })), { name: 'AbortError' });
    assert.deepEqual(errorFacts('text'), {});
  });
});
