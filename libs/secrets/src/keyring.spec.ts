import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { z } from 'zod';
import { SecretsConfig } from './config.js';
import { SecretsError } from './errors.js';
import { KeyRing } from './keyring.js';

const key = () => randomBytes(32).toString('base64');

function parseError(text: string): SecretsError {
  try {
    KeyRing.parse(text);
  } catch (error) {
    assert.ok(error instanceof SecretsError);
    assert.equal(error.code, 'invalid-key-ring');
    assert.match(error.message, /SECRETS_KEYS/);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(text.slice(0, 10))}... to be rejected`);
}

describe('KeyRing.parse', () => {
  it('reads id:base64 entries in order, the first the primary', () => {
    const ring = KeyRing.parse(` k2:${key()} , k1:${key()}`);
    assert.equal(ring.primaryId, 'k2');
    assert.deepEqual(ring.ids, ['k2', 'k1']);
    assert.ok(ring.has('k1'));
    assert.ok(!ring.has('k3'));
  });

  it('rejects an empty value', () => {
    assert.match(parseError('').message, /empty.*openssl rand -base64 32/);
    assert.match(parseError(' , ').message, /empty/);
  });

  it('rejects bad base64 without echoing it', () => {
    const bad = `${key().slice(0, 20)}!!${key().slice(0, 22)}`;
    const error = parseError(`k1:${key()},k2:${bad}`);
    assert.match(error.message, /entry 2 \(key id "k2"\) is not valid base64/);
    assert.ok(!error.message.includes(bad));
  });

  it('rejects a key of the wrong length, naming the entry but not the key', () => {
    const short = randomBytes(16).toString('base64');
    const error = parseError(`k1:${short}`);
    assert.match(error.message, /entry 1 \(key id "k1"\) is 16 bytes, expected 32/);
    assert.match(error.message, /openssl rand -base64 32/);
    assert.ok(!error.message.includes(short));
  });

  it('rejects a repeated id', () => {
    assert.match(parseError(`a:${key()},a:${key()}`).message, /entry 2 \(key id "a"\) repeats a key id/);
  });

  it('rejects an entry without an id, or with an invalid one, without echoing the entry', () => {
    const material = key();
    const noColon = parseError(material);
    assert.match(noColon.message, /entry 1 is not id:BASE64_KEY/);
    assert.ok(!noColon.message.includes(material));
    const badId = parseError(`bad id:${material}`);
    assert.match(badId.message, /entry 1 has an invalid key id/);
    assert.ok(!badId.message.includes(material));
  });

  it('never shows key material when logged or serialised', () => {
    const material = key();
    const ring = KeyRing.parse(`k1:${material}`);
    for (const shown of [String(ring), JSON.stringify(ring), inspect(ring), inspect({ nested: { ring } }, { depth: 5, showHidden: true })]) {
      assert.ok(shown.includes('k1'), shown);
      assert.ok(!shown.includes(material), shown);
      assert.ok(!shown.includes(Buffer.from(material, 'base64').toString('hex')), shown);
    }
  });

  it('generates a configuration value that parses', () => {
    const ring = KeyRing.parse(KeyRing.generateConfigValue(['new', 'old']));
    assert.deepEqual(ring.ids, ['new', 'old']);
  });
});

describe('SecretsConfig', () => {
  const schema = z.object(SecretsConfig);

  it('parses SECRETS_KEYS to a KeyRing', () => {
    const config = schema.parse({ SECRETS_KEYS: `k1:${key()}` });
    assert.ok(config.SECRETS_KEYS instanceof KeyRing);
    assert.equal(config.SECRETS_KEYS.primaryId, 'k1');
  });

  it('is required, and says how to make a key', () => {
    const result = schema.safeParse({});
    assert.ok(!result.success);
    assert.deepEqual(result.error.issues[0]?.path, ['SECRETS_KEYS']);
    assert.match(result.error.issues[0]?.message ?? '', /required.*openssl rand -base64 32/);
  });

  it('reports a bad entry under SECRETS_KEYS without the key', () => {
    const short = randomBytes(8).toString('base64');
    const result = schema.safeParse({ SECRETS_KEYS: `k1:${short}` });
    assert.ok(!result.success);
    const issue = result.error.issues[0];
    assert.deepEqual(issue?.path, ['SECRETS_KEYS']);
    assert.match(issue?.message ?? '', /entry 1 \(key id "k1"\) is 8 bytes/);
    assert.ok(!(issue?.message ?? '').includes(short));
  });
});
