import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { generateClusterCaCertificate } from './cluster-ca.js';

const NAME = [
  { type: 'CN', value: 'kubernetes' },
  { type: 'OU', value: 'flotilla cluster c1' },
] as const;

describe('cluster CA certificate', () => {
  it('is a self-signed v3 CA of the P-256 key it comes with, read back by an independent parser', async () => {
    const ca = generateClusterCaCertificate({ name: [...NAME], notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2036-01-01T00:00:00Z') });
    const certificate = new X509Certificate(ca.certificatePem);
    assert.equal(certificate.ca, true);
    assert.ok(certificate.verify(certificate.publicKey), 'self-signed');
    assert.ok(certificate.checkIssued(certificate));
    assert.equal(certificate.subject, 'CN=kubernetes\nOU=flotilla cluster c1');
    assert.equal(certificate.issuer, certificate.subject);
    assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.deepEqual(createPublicKey(createPrivateKey(ca.privateKeyPem)).export({ type: 'spki', format: 'der' }), ca.spki);
    assert.deepEqual(certificate.publicKey.export({ type: 'spki', format: 'der' }), ca.spki);

    const parsed = new x509.X509Certificate(ca.certificatePem);
    assert.equal(parsed.notBefore.toISOString(), '2026-01-01T00:00:00.000Z');
    assert.equal(parsed.notAfter.toISOString(), '2036-01-01T00:00:00.000Z');
    assert.deepEqual({ ...parsed.signatureAlgorithm }, { name: 'ECDSA', hash: { name: 'SHA-256' } });
    const basic = parsed.getExtension(x509.BasicConstraintsExtension);
    assert.ok(basic?.critical && basic.ca);
    const usages = parsed.getExtension(x509.KeyUsagesExtension);
    assert.ok(usages?.critical);
    assert.equal(usages.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature);
    const keyId = parsed.getExtension(x509.SubjectKeyIdentifierExtension);
    assert.equal(keyId?.critical, false);
    // RFC 5280's method 1, as the same library computes it from the key.
    const expected = await x509.SubjectKeyIdentifierExtension.create(await parsed.publicKey.export(), false);
    assert.equal(keyId.keyId, expected.keyId);
    assert.equal(keyId.keyId, createHash('sha1').update(ca.spki.subarray(-65)).digest('hex'));
  });

  it('writes dates from 2050 as GeneralizedTime and gives every certificate its own positive serial', () => {
    const serials = new Set<string>();
    for (let index = 0; index < 50; index++) {
      const ca = generateClusterCaCertificate({ name: [...NAME], notBefore: new Date('2049-12-31T23:59:59Z'), notAfter: new Date('2059-06-30T12:00:00Z') });
      const parsed = new x509.X509Certificate(ca.certificatePem);
      assert.equal(parsed.notBefore.toISOString(), '2049-12-31T23:59:59.000Z');
      assert.equal(parsed.notAfter.toISOString(), '2059-06-30T12:00:00.000Z');
      const serial = new X509Certificate(ca.certificatePem).serialNumber;
      // Shortest form: 16 bytes with the sign bit clear, never a leading zero byte.
      assert.match(serial, /^(0[1-9A-F]|[1-7][0-9A-F])[0-9A-F]{30}$/);
      serials.add(serial);
    }
    assert.equal(serials.size, 50);
  });
});
