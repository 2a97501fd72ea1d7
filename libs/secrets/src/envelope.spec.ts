import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { open, rewrap, seal, type SealedSecret } from './envelope.js';
import { SecretsError, type SecretsErrorCode } from './errors.js';
import { KeyRing } from './keyring.js';

const plaintext = Buffer.from('-----BEGIN PRIVATE KEY----- not really -----END PRIVATE KEY-----');
const context = 'cluster/c-1/kubeconfig';

function flip(buffer: Buffer, at = 0): Buffer {
  const copy = Buffer.from(buffer);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

/** Asserts that opening fails with `code`, and that the error carries neither keys nor plaintext. */
function assertFails(action: () => unknown, code: SecretsErrorCode, keys: Buffer[]): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof SecretsError, String(error));
    assert.equal(error.code, code);
    const text = `${error.message} ${error.stack ?? ''}`;
    assert.ok(!text.includes(plaintext.toString()));
    for (const key of keys) {
      assert.ok(!text.includes(key.toString('base64')) && !text.includes(key.toString('hex')));
    }
    return true;
  });
}

describe('envelope encryption', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);
  const ring = KeyRing.of([{ id: 'k1', key: k1 }]);

  it('opens what it sealed', () => {
    const sealed = seal(ring, plaintext, context);
    assert.equal(sealed.kekId, 'k1');
    assert.ok(!sealed.ciphertext.includes(plaintext));
    assert.deepEqual(open(ring, sealed, context), plaintext);
  });

  it('seals empty and large values', () => {
    for (const value of [Buffer.alloc(0), randomBytes(1024 * 1024)]) {
      assert.deepEqual(open(ring, seal(ring, value, context), context), value);
    }
  });

  it('uses a fresh data key and iv for every seal', () => {
    const sealed = Array.from({ length: 20 }, () => seal(ring, plaintext, context));
    const distinct = (pick: (s: SealedSecret) => Buffer) => new Set(sealed.map((s) => pick(s).toString('hex'))).size;
    assert.equal(distinct((s) => s.iv), 20);
    assert.equal(distinct((s) => s.wrapIv), 20);
    assert.equal(distinct((s) => s.wrappedKey), 20);
    assert.equal(distinct((s) => s.ciphertext), 20);
  });

  it('fails clearly when the ciphertext, its tag or its iv is altered', () => {
    const sealed = seal(ring, plaintext, context);
    assertFails(() => open(ring, { ...sealed, ciphertext: flip(sealed.ciphertext, 5) }, context), 'decrypt-failed', [k1]);
    assertFails(() => open(ring, { ...sealed, tag: flip(sealed.tag) }, context), 'decrypt-failed', [k1]);
    assertFails(() => open(ring, { ...sealed, iv: flip(sealed.iv) }, context), 'decrypt-failed', [k1]);
    assertFails(() => open(ring, { ...sealed, tag: sealed.tag.subarray(0, 8) }, context), 'malformed', [k1]);
  });

  it('fails clearly when the wrapped data key is altered', () => {
    const sealed = seal(ring, plaintext, context);
    assertFails(() => open(ring, { ...sealed, wrappedKey: flip(sealed.wrappedKey, 3) }, context), 'unwrap-failed', [k1]);
    assertFails(() => open(ring, { ...sealed, wrapTag: flip(sealed.wrapTag) }, context), 'unwrap-failed', [k1]);
    // Relabelling the key id (to another key of the ring) is caught as well.
    const two = KeyRing.of([{ id: 'k1', key: k1 }, { id: 'k2', key: k2 }]);
    assertFails(() => open(two, { ...sealed, kekId: 'k2' }, context), 'unwrap-failed', [k1, k2]);
  });

  it('does not open under another context: a ciphertext moved to another row fails', () => {
    const sealed = seal(ring, plaintext, context);
    assertFails(() => open(ring, sealed, 'cluster/c-2/kubeconfig'), 'decrypt-failed', [k1]);
  });

  it('does not open under another key with the same id', () => {
    const sealed = seal(ring, plaintext, context);
    const impostor = KeyRing.of([{ id: 'k1', key: k2 }]);
    assertFails(() => open(impostor, sealed, context), 'unwrap-failed', [k1, k2]);
  });

  it('names a missing key id, and says to keep old keys until rewrap is done', () => {
    const sealed = seal(ring, plaintext, context);
    const other = KeyRing.of([{ id: 'k2', key: k2 }]);
    assertFails(() => open(other, sealed, context), 'unknown-kek', [k1, k2]);
    assert.throws(() => open(other, sealed, context), /key id "k1".*SECRETS_KEYS/);
  });

  it('rotates: rewrap moves the data key to the new primary; the old key can then go', () => {
    const old = KeyRing.of([{ id: 'k1', key: k1 }]);
    const sealed = seal(old, plaintext, context);
    const during = KeyRing.of([{ id: 'k2', key: k2 }, { id: 'k1', key: k1 }]);
    assert.deepEqual(open(during, sealed, context), plaintext, 'the old key still opens during rotation');
    const moved = rewrap(during, sealed);
    assert.equal(moved.kekId, 'k2');
    assert.deepEqual(moved.ciphertext, sealed.ciphertext, 'the ciphertext is untouched');
    assert.deepEqual(moved.iv, sealed.iv);
    assert.deepEqual(moved.tag, sealed.tag);
    const after = KeyRing.of([{ id: 'k2', key: k2 }]);
    assert.deepEqual(open(after, moved, context), plaintext);
    assertFails(() => open(after, sealed, context), 'unknown-kek', [k1, k2]);
  });

  it('refuses an envelope version it does not write', () => {
    const sealed = seal(ring, plaintext, context);
    assertFails(() => open(ring, { ...sealed, version: 2 }, context), 'malformed', [k1]);
  });
});
