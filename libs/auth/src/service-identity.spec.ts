import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { AuthBucket, PublishedServiceKey } from './auth-bucket.js';
import { ServiceIdentity, ServiceIdentityError } from './service-identity.js';
import { TokenVerifier } from './verification/token-verifier.js';

const MINUTE = 60_000;

/** The bucket's service-key entries in memory, each change handed to a verifier as the watch would. */
class BucketInMemory {
  readonly entries = new Map<string, PublishedServiceKey>();
  failing: Error | undefined;
  writes = 0;
  constructor(private readonly verifier: TokenVerifier) {}

  async publishServiceKey(service: string, replica: string, key: PublishedServiceKey): Promise<void> {
    if (this.failing) throw this.failing;
    this.writes++;
    this.entries.set(`${service}.${replica}`, key);
    this.verifier.apply({ kind: 'service-key', service, replica, key });
  }

  async withdrawServiceKey(service: string, replica: string): Promise<void> {
    if (this.failing) throw this.failing;
    this.entries.delete(`${service}.${replica}`);
    this.verifier.apply({ kind: 'service-key-withdrawn', service, replica });
  }

  async serviceKeys(service: string): Promise<{ replica: string; key: PublishedServiceKey }[]> {
    return [...this.entries].filter(([name]) => name.startsWith(`${service}.`)).map(([name, key]) => ({ replica: name.slice(service.length + 1), key }));
  }

  asBucket(): AuthBucket {
    return this as unknown as AuthBucket;
  }
}

function setUp(now = () => Date.now()) {
  const verifier = new TokenVerifier({ clockToleranceS: 0, now });
  return { verifier, bucket: new BucketInMemory(verifier) };
}

describe('ServiceIdentity', () => {
  it('publishes its key at start and signs short-lived tokens for service:<name> with its role', async () => {
    const { verifier, bucket } = setUp();
    const identity = await ServiceIdentity.start(bucket.asBucket(), 'importer');
    try {
      assert.equal(identity.subject, 'service:importer');
      assert.equal(identity.role, 'viewer');
      assert.deepEqual([...bucket.entries.keys()], [`importer.${identity.replica}`]);
      const published = bucket.entries.get(`importer.${identity.replica}`)!;
      assert.equal(published.d, undefined, 'only the public key is published');
      const token = await identity.token();
      const claims = decodeJwt(token);
      assert.equal(claims.sub, 'service:importer');
      assert.equal(claims['role'], 'viewer');
      const lifetime = claims.exp! - claims.iat!;
      assert.ok(lifetime >= 5 * 60 && lifetime <= 10 * 60, `token lifetime ${lifetime} s`);
      assert.deepEqual(await verifier.verify(token), { subject: 'service:importer', role: 'viewer', issuer: 'flotilla', tokenId: claims.jti });
    } finally {
      await identity.stop();
    }
  });

  it('hands out the same token until little of it is left, then a new one', async () => {
    let now = Date.now();
    const { bucket } = setUp(() => now);
    const identity = await ServiceIdentity.start(bucket.asBucket(), 'importer', { now: () => now });
    try {
      const first = await identity.token();
      assert.equal(await identity.token(), first);
      now += 4 * MINUTE;
      assert.equal(await identity.token(), first);
      now += 2 * MINUTE;
      const second = await identity.token();
      assert.notEqual(second, first);
      assert.ok(decodeJwt(second).exp! > decodeJwt(first).exp!);
    } finally {
      await identity.stop();
    }
  });

  it('moves its key expiry forward while it runs, and withdraws the key when it stops', async () => {
    const { verifier, bucket } = setUp();
    const identity = await ServiceIdentity.start(bucket.asBucket(), 'importer', { keyRefreshMs: 20 });
    const token = await identity.token();
    await verifier.verify(token);
    const firstExpiry = bucket.entries.get(`importer.${identity.replica}`)!.expiresAt;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(bucket.writes >= 3, `refreshed ${bucket.writes} times`);
    assert.ok(bucket.entries.get(`importer.${identity.replica}`)!.expiresAt > firstExpiry);
    await identity.stop();
    assert.equal(bucket.entries.size, 0);
    await assert.rejects(verifier.verify(token), /withdrawn service key/);
    await assert.rejects(identity.token(), (error: Error) => error instanceof ServiceIdentityError && /withdrawn/.test(error.message));
    const writes = bucket.writes;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(bucket.writes, writes, 'no refresh after stopping');
  });

  it('tidies away the expired keys of replicas that stopped without withdrawing them', async () => {
    const { bucket } = setUp();
    const stale = { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43), kid: 'stale' };
    bucket.entries.set('importer.crashed', { ...stale, expiresAt: new Date(Date.now() - MINUTE).toISOString() });
    bucket.entries.set('importer.alive', { ...stale, expiresAt: new Date(Date.now() + MINUTE).toISOString() });
    bucket.entries.set('tunnel-broker.other', { ...stale, expiresAt: new Date(Date.now() - MINUTE).toISOString() });
    const identity = await ServiceIdentity.start(bucket.asBucket(), 'importer');
    try {
      assert.deepEqual([...bucket.entries.keys()].sort(), ['importer.alive', `importer.${identity.replica}`, 'tunnel-broker.other'].sort());
    } finally {
      await identity.stop();
    }
  });

  it('gives a service without a role no identity, with a clear error', async () => {
    const { bucket } = setUp();
    const identity = await ServiceIdentity.start(bucket.asBucket(), 'provisioner');
    assert.equal(identity.available, false);
    assert.equal(identity.role, undefined);
    assert.equal(bucket.entries.size, 0, 'publishes no key');
    await assert.rejects(identity.token(), (error: Error) => error instanceof ServiceIdentityError && /provisioner has no service identity: only the services listed in SERVICE_ROLES/.test(error.message));
    await identity.stop();
  });

  it('refuses tokens while its key cannot be published, naming why, and recovers', async () => {
    const { verifier, bucket } = setUp();
    bucket.failing = new Error('Permissions Violation for Publish to "$KV.flotilla_auth.service-keys.importer.x"');
    const identity = await ServiceIdentity.start(bucket.asBucket(), 'importer', { keyRetryMs: 20 });
    try {
      await assert.rejects(identity.token(), (error: Error) => error instanceof ServiceIdentityError && /service key of importer is not published: Permissions Violation/.test(error.message));
      bucket.failing = undefined;
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await verifier.verify(await identity.token())).subject, 'service:importer');
    } finally {
      await identity.stop();
    }
  });
});
