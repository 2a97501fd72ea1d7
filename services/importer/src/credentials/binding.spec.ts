import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { caFingerprints, checkBinding, normaliseApiServer, type CredentialBinding } from './binding.js';

const normalised = (text: string) => {
  const result = normaliseApiServer(text);
  return result.ok ? result.url : `refused: ${result.problem}`;
};

describe('normaliseApiServer', () => {
  it('folds the spellings of one address: host case, the default port, trailing slashes', () => {
    const same = ['https://Edge.Example:443', 'https://edge.example/', 'https://EDGE.EXAMPLE:443//', 'https://edge.example'];
    for (const text of same) assert.equal(normalised(text), 'https://edge.example', text);
    assert.equal(normalised('https://edge.example:6443/'), 'https://edge.example:6443');
    assert.equal(normalised('https://[::1]:6443/'), 'https://[::1]:6443');
    assert.equal(normalised('https://bücher.example'), 'https://xn--bcher-kva.example');
  });

  it('keeps the path (a proxy serves many clusters under one host) and what might name another place', () => {
    assert.equal(normalised('https://rancher.example/k8s/clusters/c-1/'), 'https://rancher.example/k8s/clusters/c-1');
    assert.notEqual(normalised('https://rancher.example/k8s/clusters/c-1'), normalised('https://rancher.example/k8s/clusters/c-2'));
    assert.notEqual(normalised('https://edge.example:6443'), normalised('https://edge.example'));
    assert.notEqual(normalised('https://edge.example.'), normalised('https://edge.example'), 'a trailing dot is not folded (search domains)');
  });

  it('refuses what is not an https API server address, saying why', () => {
    assert.match(normalised('http://edge.example'), /refused: must be an https:\/\/ URL/);
    assert.match(normalised('edge.example:6443'), /refused: /);
    assert.match(normalised('not a url'), /refused: is not a URL/);
    assert.match(normalised('https://user:pass@edge.example'), /refused: must not carry a user name/);
    assert.match(normalised('https://edge.example/?x=1'), /refused: must not carry a query/);
    assert.match(normalised('https://edge.example/#frag'), /refused: must not carry a query or a fragment/);
  });
});

describe('checkBinding', () => {
  const bound: CredentialBinding = { apiServer: 'https://edge.example:6443', caFingerprints: ['AA:BB'] };

  it('the bound server, however spelt: allowed, with the binding', () => {
    for (const apiServer of ['https://edge.example:6443', 'https://EDGE.example:6443/']) {
      assert.deepEqual(checkBinding('edge', bound, { apiServer }), { ok: true, binding: bound }, apiServer);
    }
    assert.deepEqual(checkBinding('edge', bound, { apiServer: 'https://edge.example:6443', caFingerprints: ['AA:BB'] }).ok, true);
  });

  it('another server, port, path or scheme: credential-server-mismatch on apiServer, naming both', () => {
    for (const apiServer of ['https://evil.example:6443', 'https://edge.example:6444', 'https://edge.example:6443/proxy', 'https://edge.example', 'http://edge.example:6443']) {
      const check = checkBinding('edge', bound, { apiServer });
      assert.ok(!check.ok, apiServer);
      assert.deepEqual([check.code, check.field], ['credential-server-mismatch', 'apiServer'], apiServer);
      assert.match(check.message, /credential "edge"/);
      assert.match(check.message, /https:\/\/edge\.example:6443/);
    }
  });

  it('another CA: credential-ca-mismatch; the system roots are a CA like another', () => {
    for (const fingerprints of [['CC:DD'], [], ['AA:BB', 'CC:DD']]) {
      const check = checkBinding('edge', bound, { apiServer: bound.apiServer, caFingerprints: fingerprints });
      assert.ok(!check.ok);
      assert.equal(check.code, 'credential-ca-mismatch');
    }
    const roots = checkBinding('edge', { ...bound, caFingerprints: [] }, { apiServer: bound.apiServer, caFingerprints: ['AA:BB'] });
    assert.ok(!roots.ok);
    assert.match(roots.message, /bound to the system roots/);
  });

  it('no binding (registered before bindings): credential-unbound on credentialRef, whatever the address', () => {
    const check = checkBinding('legacy', null, { apiServer: 'https://edge.example:6443' });
    assert.ok(!check.ok);
    assert.deepEqual([check.code, check.field], ['credential-unbound', 'credentialRef']);
    assert.match(check.message, /register it again with "server"/);
  });
});

// A throw-away CA (openssl req -x509, EC P-256); its fingerprint as `openssl x509 -noout -fingerprint -sha256` printed it.
const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBkTCCATegAwIBAgIUBvVemeAGpdrn1FjWctB2eHBFbyowCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTZmluZ2VycHJpbnQtdGVzdC1jYTAeFw0yNjEyMDYwMzM3MTJa
Fw0yNjEyMDcwMzM3MTJaMB4xHDAaBgNVBAMME2ZpbmdlcnByaW50LXRlc3QtY2Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATv7WYOKc7rB9tjoGygC4POPkGblhs6
YxcVALSFra5TezHxaLT3XAmqXhlIYt6zn7qHvsezkGzT1j5l01+a/pmco1MwUTAd
BgNVHQ4EFgQUMarkWxH65Prf2EwQHtjCuIEA+2gwHwYDVR0jBBgwFoAUMarkWxH6
5Prf2EwQHtjCuIEA+2gwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBF
AiEAkeMsy2mgKKN81n+Ps3zR9XX3rD3q9H2RS/Lytfz83MYCIHQrf0hXqAM4HfHj
lfflyrk5iHBQB7A9TKCixRgTooRn
-----END CERTIFICATE-----
`;
const CA_FINGERPRINT = '06:1D:C8:9B:BE:DC:10:EE:94:27:10:90:6C:FF:BA:D6:CD:C2:02:77:5F:F7:76:90:AD:4D:D2:3D:6D:62:24:93';

describe('caFingerprints', () => {
  it('none without a CA; otherwise the SHA-256 fingerprint of each certificate of the bundle, as openssl prints it', () => {
    assert.deepEqual(caFingerprints(null), []);
    assert.deepEqual(caFingerprints(CA_PEM), [CA_FINGERPRINT]);
    assert.deepEqual(caFingerprints(`${CA_PEM}\n${CA_PEM}`), [CA_FINGERPRINT, CA_FINGERPRINT]);
    assert.throws(() => caFingerprints('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'));
  });
});
