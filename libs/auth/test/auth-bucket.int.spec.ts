import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventually, randomSuffix, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { AuthBucket, type AuthChange } from '../src/auth-bucket.js';

const key = (kid: string) => ({ kty: 'OKP', crv: 'Ed25519', x: 'AAAA', kid });

describe('the authentication bucket watched as a service starts', () => {
  let bus: BusConnection;
  const prefixes: string[] = [];
  const bucket = async () => {
    const prefix = `authwatch${randomSuffix()}`;
    prefixes.push(prefix);
    return AuthBucket.open(bus.nc, { prefix });
  };

  before(async () => {
    bus = await BusConnection.open(TEST_NATS_URL, 'auth-bucket-watch-test');
  });
  after(async () => {
    for (const prefix of prefixes) await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('an empty bucket: the watch is ready at once, and changes come after', async () => {
    const auth = await bucket();
    const changes: AuthChange[] = [];
    const started = performance.now();
    const watch = await auth.watch((change) => changes.push(change));
    assert.ok(performance.now() - started < 5_000);
    assert.deepEqual(changes, []);
    await auth.updateJwks(() => ({ keys: [key('k1')] }));
    await eventually(() => (changes.length === 1 ? true : undefined), 5_000, 'the change after the start');
    assert.deepEqual(changes[0], { kind: 'jwks', jwks: { keys: [key('k1')] } });
    watch.stop();
  });

  it('a bucket with entries: every one of them is delivered before the watch is ready, whatever was forgotten before', async () => {
    const auth = await bucket();
    await auth.updateJwks(() => ({ keys: [key('k1'), key('k2')] }));
    const expiresAt = new Date(Date.now() + 60_000);
    await auth.revoke('t1', expiresAt);
    await auth.revoke('t2', expiresAt);
    await auth.forgetRevocation('t1');
    const changes: AuthChange[] = [];
    const watch = await auth.watch((change) => changes.push(change));
    // The last value of each key, in the order stored: the key set, t2 revoked, t1 forgotten.
    assert.deepEqual(changes, [
      { kind: 'jwks', jwks: { keys: [key('k1'), key('k2')] } },
      { kind: 'revoked', tokenId: 't2', expiresAt: expiresAt.getTime() },
      { kind: 'unrevoked', tokenId: 't1' },
    ]);
    watch.stop();
  });
});
