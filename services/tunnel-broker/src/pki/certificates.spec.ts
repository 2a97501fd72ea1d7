import 'reflect-metadata';
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { CertificateAuthority, CertificateRequestError, generateCa, listenerKey } from './certificates.js';

const now = new Date('2026-12-06T12:00:00Z');

async function request(algorithm: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams, name = 'CN=whatever, O=asks for anything') {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  return (await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: algorithm, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://flotilla/cluster/someone-else' }])] })).toString('pem');
}

describe('the tunnel CA', () => {
  it("signs an agent's request for its cluster only, whatever names the request asks for", async () => {
    const ca = await CertificateAuthority.load(await generateCa('test CA', 10, now));
    const issued = await ca.signAgentRequest(await request({ name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const), 'edge-1', 3600, now);
    const certificate = new X509Certificate(issued.certificatePem);
    assert.equal(certificate.subjectAltName, 'URI:spiffe://flotilla/cluster/edge-1');
    assert.equal(certificate.ca, false);
    assert.ok(certificate.verify(new X509Certificate(ca.certificatePem).publicKey));
    assert.equal(issued.notAfter.getTime(), now.getTime() + 3_600_000);
    assert.equal(issued.serialNumber, certificate.serialNumber.toLowerCase());
  });

  it('refuses requests that are not PKCS#10, not ECDSA, or not signed by their key', async () => {
    const ca = await CertificateAuthority.load(await generateCa('test CA', 10, now));
    await assert.rejects(ca.signAgentRequest('not a request', 'edge-1', 60, now), CertificateRequestError);
    const rsa = await request({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' });
    await assert.rejects(ca.signAgentRequest(rsa, 'edge-1', 60, now), /ECDSA/);
    const good = await request({ name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const);
    // A flipped byte in the signature (the end of the DER) breaks it.
    const der = Buffer.from(good.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    der[der.length - 2] = der[der.length - 2]! ^ 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    await assert.rejects(ca.signAgentRequest(tampered, 'edge-1', 60, now), CertificateRequestError);
  });

  it("renews for the same key, and never beyond the CA's own life", async () => {
    const ca = await CertificateAuthority.load(await generateCa('test CA', 1, now));
    const first = await ca.signAgentRequest(await request({ name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const), 'edge-1', 365 * 86_400, now);
    assert.equal(first.notAfter.getTime(), ca.notAfter.getTime());
    const renewed = await ca.renewAgentCertificate(new X509Certificate(first.certificatePem).raw, 'edge-1', 600, now);
    assert.ok(new X509Certificate(renewed.certificatePem).publicKey.equals(new X509Certificate(first.certificatePem).publicKey));
    assert.notEqual(renewed.serialNumber, first.serialNumber);
  });

  it('certifies the listener for the names agents dial', async () => {
    const ca = await CertificateAuthority.load(await generateCa('test CA', 10, now));
    const key = await listenerKey();
    const issued = await ca.serverCertificate(['tunnel.example', '10.0.0.7'], key.publicKey, 86_400, now);
    assert.equal(new X509Certificate(issued.certificatePem).subjectAltName, 'DNS:tunnel.example, IP Address:10.0.0.7');
  });
});
