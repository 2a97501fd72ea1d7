import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { BOOTSTRAP_TOKEN_PATTERN, bootstrapTokenId, caCertHashOf, generateJoinSecrets, JoinSecretsSchema } from './join-secrets.js';

describe('join secrets', () => {
  it('have the formats kubeadm expects', async () => {
    const secrets = await generateJoinSecrets('c1');
    assert.match(secrets.bootstrapToken, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.match(secrets.certificateKey, /^[0-9a-f]{64}$/);
    assert.match(secrets.caCertHash, /^sha256:[0-9a-f]{64}$/);
    assert.equal(bootstrapTokenId(secrets.bootstrapToken), secrets.bootstrapToken.slice(0, 6));
    assert.equal(secrets.clusterId, 'c1');
    assert.ok(JoinSecretsSchema.safeParse(secrets).success);
  });

  it('pin the CA by the SHA-256 of its DER SubjectPublicKeyInfo, as computed independently', async () => {
    const secrets = await generateJoinSecrets('c1');
    const certificate = new X509Certificate(secrets.ca.certificatePem);
    const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
    assert.equal(secrets.caCertHash, `sha256:${createHash('sha256').update(spki).digest('hex')}`);
    assert.equal(caCertHashOf(secrets.ca.certificatePem), secrets.caCertHash);
  });

  it('make a self-signed CA whose private key matches its certificate', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const secrets = await generateJoinSecrets('c1', now);
    const certificate = new X509Certificate(secrets.ca.certificatePem);
    assert.equal(certificate.ca, true);
    assert.ok(certificate.verify(certificate.publicKey), 'self-signed');
    assert.match(certificate.subject, /CN=kubernetes/);
    assert.match(certificate.subject, /cluster c1/);
    assert.ok(new Date(certificate.validFrom) <= now);
    assert.ok(new Date(certificate.validTo) >= new Date('2035-12-31T00:00:00Z'));
    const derived = createPublicKey(createPrivateKey(secrets.ca.privateKeyPem)).export({ type: 'spki', format: 'der' });
    assert.deepEqual(derived, certificate.publicKey.export({ type: 'spki', format: 'der' }));
  });

  it('are different for every cluster', async () => {
    const [a, b] = await Promise.all([generateJoinSecrets('c1'), generateJoinSecrets('c2')]);
    assert.notEqual(a.bootstrapToken, b.bootstrapToken);
    assert.notEqual(a.certificateKey, b.certificateKey);
    assert.notEqual(a.caCertHash, b.caCertHash);
  });

  it('draw token characters from the whole alphabet', async () => {
    const seen = new Set<string>();
    for (let index = 0; index < 40; index++) for (const char of (await generateJoinSecrets('c')).bootstrapToken.replace('.', '')) seen.add(char);
    assert.ok(seen.size > 30, `only ${seen.size} distinct characters`);
    assert.ok(BOOTSTRAP_TOKEN_PATTERN.test('abc123.0123456789abcdef'));
    assert.ok(!BOOTSTRAP_TOKEN_PATTERN.test('ABC123.0123456789abcdef'));
  });

  it('refuse an empty cluster id', async () => {
    await assert.rejects(generateJoinSecrets(''), /clusterId/);
  });
});
