import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { SecretsError } from './errors.js';

/** Name of the configuration variable; every error about the ring names it. */
export const SECRETS_KEYS_VARIABLE = 'SECRETS_KEYS';
export const KEY_BYTES = 32;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]+={0,2}$/;
const HOW_TO_MAKE_A_KEY = 'make a key with `openssl rand -base64 32`';

// Key material lives here, out of the object itself: nothing that walks a KeyRing (a logger,
// JSON.stringify, util.inspect, a debugger's object view) reaches it.
const material = new WeakMap<KeyRing, ReadonlyMap<string, Buffer>>();

/**
 * The key-encryption keys (KEKs) of a service. The first is the primary: it wraps every new data
 * key. Every key in the ring can unwrap, so rotation is: put a new key first, keep the old ones
 * until rewrap has moved every secret to the new one, then drop them.
 */
export class KeyRing {
  readonly primaryId: string;
  /** Key ids in configuration order, primary first. */
  readonly ids: readonly string[];

  private constructor(keys: ReadonlyMap<string, Buffer>) {
    const ids = [...keys.keys()];
    if (ids[0] === undefined) throw ringError('is empty');
    this.primaryId = ids[0];
    this.ids = ids;
    material.set(this, keys);
  }

  /**
   * Reads `SECRETS_KEYS`: `id1:BASE64,id2:BASE64`, each key 32 random bytes. Errors name the
   * variable and the entry (by position and id), never its key.
   */
  static parse(text: string): KeyRing {
    const entries = text
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    if (entries.length === 0) throw ringError(`is empty: expected id:BASE64_KEY[,id:BASE64_KEY...]; ${HOW_TO_MAKE_A_KEY}`);
    const keys = new Map<string, Buffer>();
    entries.forEach((entry, index) => {
      const position = `entry ${index + 1}`;
      const colon = entry.indexOf(':');
      if (colon < 0) throw ringError(`${position} is not id:BASE64_KEY (no ':' found)`);
      const id = entry.slice(0, colon).trim();
      const encoded = entry.slice(colon + 1).trim();
      if (!ID_PATTERN.test(id)) throw ringError(`${position} has an invalid key id: use 1-64 letters, digits, '.', '_' or '-'`);
      const named = `${position} (key id "${id}")`;
      if (keys.has(id)) throw ringError(`${named} repeats a key id: each id must be unique`);
      keys.set(id, decodeKey(encoded, named));
    });
    return new KeyRing(keys);
  }

  /** A ring from keys in hand (tests, tools); the first is the primary. */
  static of(keys: readonly { id: string; key: Buffer }[]): KeyRing {
    return KeyRing.parse(keys.map(({ id, key }) => `${id}:${key.toString('base64')}`).join(','));
  }

  /** A SECRETS_KEYS value with a fresh random key per id, the first the primary (for tests and first set-up). */
  static generateConfigValue(ids: readonly string[]): string {
    return ids.map((id) => `${id}:${randomBytes(KEY_BYTES).toString('base64')}`).join(',');
  }

  has(id: string): boolean {
    return material.get(this)?.has(id) ?? false;
  }

  toString(): string {
    return `KeyRing(primary=${this.primaryId}, ids=${this.ids.join(',')})`;
  }

  toJSON(): { primaryId: string; ids: readonly string[] } {
    return { primaryId: this.primaryId, ids: this.ids };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** The KEK of `id`, for the envelope code only (not exported from the package). */
export function kekOf(ring: KeyRing, id: string): Buffer | undefined {
  return material.get(ring)?.get(id);
}

function decodeKey(encoded: string, named: string): Buffer {
  // Buffer.from(..., 'base64') ignores junk silently: check the alphabet and the round trip.
  const key = BASE64_PATTERN.test(encoded) ? Buffer.from(encoded, 'base64') : undefined;
  if (!key || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
    throw ringError(`${named} is not valid base64; ${HOW_TO_MAKE_A_KEY}`);
  }
  if (key.length !== KEY_BYTES) {
    throw ringError(`${named} is ${key.length} bytes, expected ${KEY_BYTES} (AES-256); ${HOW_TO_MAKE_A_KEY}`);
  }
  return key;
}

function ringError(problem: string): SecretsError {
  return new SecretsError('invalid-key-ring', `${SECRETS_KEYS_VARIABLE} ${problem}`);
}
