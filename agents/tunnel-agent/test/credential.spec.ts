import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { certificateProblem, newKeyAndRequest, parseTunnelAddress } from '../src/credential.js';
import { TestCa } from './pki.js';

describe('agent credential', () => {
  let ca: TestCa;
  let key: string;
  let certificate: string;
  before(async () => {
    ca = await TestCa.create();
    const request = await newKeyAndRequest('edge-a1');
    key = request.key;
    certificate = await ca.signRequest(request.csr, 'edge-a1');
  });

  it('makes an ECDSA P-256 key that stays here and a request the CA can sign', () => {
    assert.match(key, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(certificateProblem(certificate, key, 'edge-a1', ca.cert), undefined);
  });

  it("accepts only a certificate for its key, naming its cluster, of the tunnel's CA, not expired", async () => {
    assert.equal(certificateProblem(await ca.renew(certificate, 'edge-a1'), key, 'edge-a1', ca.cert), undefined);
    assert.equal(certificateProblem(await ca.otherKey('edge-a1'), key, 'edge-a1', ca.cert), "is not for this agent's key");
    assert.equal(certificateProblem(await ca.renew(certificate, 'edge-b2'), key, 'edge-a1', ca.cert), 'names cluster edge-b2, not edge-a1');
    assert.equal(certificateProblem(certificate, key, 'edge-a1', (await TestCa.create('another')).cert), "is not signed by the tunnel's CA");
    assert.match(certificateProblem(certificate, key, 'edge-a1', ca.cert, new Date(Date.now() + 2 * 86_400_000)) ?? '', /^expired at /);
    assert.equal(certificateProblem('garbage', key, 'edge-a1', ca.cert), 'is not a PEM certificate');
  });

  it('reads host:port tunnel addresses, IPv6 in brackets', () => {
    assert.deepEqual(parseTunnelAddress('tunnel.flotilla.example:8443'), { host: 'tunnel.flotilla.example', port: 8443 });
    assert.deepEqual(parseTunnelAddress('10.0.0.7:443'), { host: '10.0.0.7', port: 443 });
    assert.deepEqual(parseTunnelAddress('[fd00::7]:443'), { host: 'fd00::7', port: 443 });
    for (const bad of ['tunnel.example', 'tunnel.example:0', 'tunnel.example:70000', 'fd00::7:443', '[not-v6]:443', ':443', 'a b:1']) assert.equal(parseTunnelAddress(bad), undefined, bad);
  });
});
