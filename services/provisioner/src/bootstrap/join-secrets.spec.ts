import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  BOOTSTRAP_TOKEN_PATTERN,
  bootstrapTokenExpiresAt,
  bootstrapTokenId,
  caCertHashOf,
  certificatesExpireAt,
  generateBootstrapToken,
  generateJoinSecrets,
  JoinSecretsSchema,
  staleJoinMaterial,
} from './join-secrets.js';

const HOUR_MS = 3_600_000;

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

  it('record when the token was minted and the certificates uploaded: 24 h and 2 h from when the set was made', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const secrets = await generateJoinSecrets('c1', now);
    assert.deepEqual([secrets.bootstrapTokenMintedAt, secrets.certificatesUploadedAt], [now.toISOString(), now.toISOString()]);
    assert.equal(bootstrapTokenExpiresAt(secrets).toISOString(), '2026-01-02T00:00:00.000Z');
    assert.equal(certificatesExpireAt(secrets).toISOString(), '2026-01-01T02:00:00.000Z');
    assert.match(generateBootstrapToken(), BOOTSTRAP_TOKEN_PATTERN);
  });

  it('are stale when they do not last the whole join window: the token for any join, the certificates for a control plane', async () => {
    const made = new Date('2026-01-01T00:00:00Z');
    const secrets = await generateJoinSecrets('c1', made);
    const at = (hours: number, windowMinutes = 10) => new Date(made.getTime() + hours * HOUR_MS + windowMinutes * 60_000);
    assert.deepEqual(staleJoinMaterial(secrets, { controlPlane: true, until: at(1) }), { bootstrapToken: false, certificates: false });
    // Valid now, gone before the machine would join.
    assert.deepEqual(staleJoinMaterial(secrets, { controlPlane: true, until: at(1, 60) }), { bootstrapToken: false, certificates: true });
    assert.deepEqual(staleJoinMaterial(secrets, { controlPlane: false, until: at(3) }), { bootstrapToken: false, certificates: false });
    assert.deepEqual(staleJoinMaterial(secrets, { controlPlane: true, until: at(3) }), { bootstrapToken: false, certificates: true });
    assert.deepEqual(staleJoinMaterial(secrets, { controlPlane: false, until: at(23, 60) }), { bootstrapToken: true, certificates: false });
    assert.deepEqual(staleJoinMaterial(secrets, { controlPlane: true, until: at(25) }), { bootstrapToken: true, certificates: true });
  });

  it('read sets stored before lifetimes were recorded (the repository dates them)', async () => {
    const { bootstrapTokenMintedAt: _minted, certificatesUploadedAt: _uploaded, ...older } = await generateJoinSecrets('c1');
    const parsed = JoinSecretsSchema.safeParse(older);
    assert.ok(parsed.success);
    assert.equal(parsed.data.bootstrapTokenMintedAt, undefined);
    assert.ok(!JoinSecretsSchema.safeParse({ ...older, bootstrapTokenMintedAt: 'yesterday' }).success);
  });

  it('refuse an empty cluster id', async () => {
    await assert.rejects(generateJoinSecrets(''), /clusterId/);
  });
});
