import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SecretsError } from './errors.js';
import { KEY_BYTES, kekOf, type KeyRing } from './keyring.js';

/** The envelope format written today; `open` refuses others rather than guess. */
export const SEALED_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

/**
 * A secret at rest. The plaintext is encrypted with its own random data key (AES-256-GCM); the
 * data key is stored encrypted ("wrapped") by a key-encryption key (KEK) of the ring, named by
 * `kekId`. Nothing here is secret on its own.
 */
export interface SealedSecret {
  version: number;
  /** The KEK that wrapped `wrappedKey`. */
  kekId: string;
  /** The 32-byte data key, encrypted by the KEK (AES-256-GCM, AAD binds the version and kekId). */
  wrappedKey: Buffer;
  wrapIv: Buffer;
  wrapTag: Buffer;
  /** The plaintext, encrypted by the data key (AES-256-GCM, AAD binds the version and the context). */
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/**
 * Encrypts `plaintext` under a fresh data key wrapped by the primary KEK. `context` (the secret's
 * reference, say) is authenticated, not stored: opening with another context fails, so a
 * ciphertext copied to another row does not open there.
 */
export function seal(keys: KeyRing, plaintext: Buffer, context: string): SealedSecret {
  const dataKey = randomBytes(KEY_BYTES);
  try {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, dataKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(dataAad(context));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { version: SEALED_VERSION, ...wrap(keys, dataKey), iv, ciphertext, tag: cipher.getAuthTag() };
  } finally {
    dataKey.fill(0);
  }
}

/** Decrypts a sealed secret; throws a SecretsError (no key or plaintext in it) if anything does not authenticate. */
export function open(keys: KeyRing, sealed: SealedSecret, context: string): Buffer {
  checkShape(sealed);
  const dataKey = unwrap(keys, sealed);
  try {
    const decipher = createDecipheriv(ALGORITHM, dataKey, sealed.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(dataAad(context));
    decipher.setAuthTag(sealed.tag);
    try {
      return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
    } catch {
      throw new SecretsError('decrypt-failed', 'cannot open secret: the ciphertext, its tag or the context do not authenticate (altered, or opened as another secret)');
    }
  } finally {
    dataKey.fill(0);
  }
}

/** The same secret with its data key re-wrapped by the primary KEK; the ciphertext is untouched. */
export function rewrap(keys: KeyRing, sealed: SealedSecret): SealedSecret {
  checkShape(sealed);
  const dataKey = unwrap(keys, sealed);
  try {
    return { ...sealed, ...wrap(keys, dataKey) };
  } finally {
    dataKey.fill(0);
  }
}

function wrap(keys: KeyRing, dataKey: Buffer): Pick<SealedSecret, 'kekId' | 'wrappedKey' | 'wrapIv' | 'wrapTag'> {
  const kekId = keys.primaryId;
  const kek = kekOf(keys, kekId);
  if (!kek) throw new SecretsError('unknown-kek', `cannot seal: the primary key id "${kekId}" has no key`);
  const wrapIv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, kek, wrapIv, { authTagLength: TAG_BYTES });
  cipher.setAAD(wrapAad(kekId));
  const wrappedKey = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return { kekId, wrappedKey, wrapIv, wrapTag: cipher.getAuthTag() };
}

function unwrap(keys: KeyRing, sealed: SealedSecret): Buffer {
  const kek = kekOf(keys, sealed.kekId);
  if (!kek) {
    throw new SecretsError('unknown-kek', `cannot open secret: it is wrapped by key id "${sealed.kekId}", which SECRETS_KEYS does not list (keep old keys until rewrap is done)`);
  }
  const decipher = createDecipheriv(ALGORITHM, kek, sealed.wrapIv, { authTagLength: TAG_BYTES });
  decipher.setAAD(wrapAad(sealed.kekId));
  decipher.setAuthTag(sealed.wrapTag);
  let dataKey: Buffer;
  try {
    dataKey = Buffer.concat([decipher.update(sealed.wrappedKey), decipher.final()]);
  } catch {
    throw new SecretsError('unwrap-failed', `cannot open secret: its data key does not unwrap under key id "${sealed.kekId}" (wrapped key altered, or a different key configured under that id)`);
  }
  if (dataKey.length !== KEY_BYTES) throw new SecretsError('malformed', `cannot open secret: its data key is ${dataKey.length} bytes, expected ${KEY_BYTES}`);
  return dataKey;
}

function checkShape(sealed: SealedSecret): void {
  if (sealed.version !== SEALED_VERSION) throw new SecretsError('malformed', `cannot open secret: envelope version ${String(sealed.version)} is not ${SEALED_VERSION}`);
  const sizes: [string, Buffer, number][] = [
    ['iv', sealed.iv, IV_BYTES],
    ['tag', sealed.tag, TAG_BYTES],
    ['wrap iv', sealed.wrapIv, IV_BYTES],
    ['wrap tag', sealed.wrapTag, TAG_BYTES],
    ['wrapped key', sealed.wrappedKey, KEY_BYTES],
  ];
  for (const [name, value, expected] of sizes) {
    if (!Buffer.isBuffer(value) || value.length !== expected) {
      throw new SecretsError('malformed', `cannot open secret: its ${name} is ${Buffer.isBuffer(value) ? `${value.length} bytes` : 'missing'}, expected ${expected}`);
    }
  }
}

// Domain separation: a data key and a ciphertext can never be mistaken for each other.
function dataAad(context: string): Buffer {
  return Buffer.from(`flotilla-secrets/v${SEALED_VERSION}/data\0${context}`, 'utf8');
}

function wrapAad(kekId: string): Buffer {
  return Buffer.from(`flotilla-secrets/v${SEALED_VERSION}/wrap\0${kekId}`, 'utf8');
}
