import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { parsePrivateKey } from './ssh-keys.js';

describe('parsePrivateKey', () => {
  it('accepts a PEM RSA key and fingerprints its public half', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    const parsed = parsePrivateKey(pem);
    assert.equal(parsed.ok, true);
    assert.equal(parsed.ok && parsed.type, 'ssh-rsa');
    assert.match(parsed.ok ? parsed.fingerprint : '', /^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('refuses junk without quoting it', () => {
    const parsed = parsePrivateKey('-----BEGIN OPENSSH PRIVATE KEY-----\nnot really\n-----END OPENSSH PRIVATE KEY-----');
    assert.deepEqual(parsed, { ok: false, message: 'is not an OpenSSH or PEM private key' });
  });

  it('refuses an encrypted key', () => {
    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string;
    assert.deepEqual(parsePrivateKey(pem), { ok: false, message: 'is encrypted: register it without a passphrase' });
  });

  it('refuses a public key', () => {
    const parsed = parsePrivateKey('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host');
    assert.deepEqual(parsed, { ok: false, message: 'is a public key: the private key is needed' });
  });
});
