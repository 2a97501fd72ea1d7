import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSigningKey, signToken, type SigningKey } from '../tokens.js';
import type { PublishedKey, PublishedServiceKey } from '../auth-bucket.js';
import { TokenVerifier } from './token-verifier.js';

const HOUR = 3_600_000;
const published = (key: SigningKey, retiresAt?: Date): PublishedKey => ({ ...(key.publicJwk as PublishedKey), ...(retiresAt ? { retiresAt: retiresAt.toISOString() } : {}) });
const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function verifierWith(keys: PublishedKey[], now = () => Date.now()): Promise<TokenVerifier> {
  const verifier = new TokenVerifier({ clockToleranceS: 0, now });
  verifier.apply({ kind: 'jwks', jwks: { keys } });
  return verifier;
}

describe('TokenVerifier (Flotilla tokens)', async () => {
  const key = await generateSigningKey();
  const other = await generateSigningKey();
  const token = (options: { role?: string; expiresInMs?: number; tokenId?: string; scope?: object; with?: SigningKey } = {}) =>
    signToken(options.with ?? key, { subject: 'alice', role: (options.role ?? 'operator') as 'operator', expiresAt: new Date(Date.now() + (options.expiresInMs ?? HOUR)), ...(options.tokenId ? { tokenId: options.tokenId } : {}), ...(options.scope ? { scope: options.scope as never } : {}) }).then((signed) => signed.token);

  it('accepts a token signed by a published key and says who it belongs to', async () => {
    const verifier = await verifierWith([published(key)]);
    const principal = await verifier.authenticate(`Bearer ${await token({ tokenId: 't-1', scope: { labels: { team: 'a' } } })}`);
    assert.deepEqual(principal, { subject: 'alice', role: 'operator', issuer: 'flotilla', tokenId: 't-1', scope: { labels: { team: 'a' } } });
  });

  it('refuses, with a reason, what must not pass', async () => {
    const verifier = await verifierWith([published(key)]);
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: 'flotilla', aud: 'flotilla-api', sub: 'mallory', jti: 'x', role: 'admin', iat: now, exp: now + 3600 };
    const cases: [string, string | undefined, RegExp][] = [
      ['no header', undefined, /no bearer token/],
      ['basic auth', 'Basic YWxpY2U6c2VjcmV0', /must be "Bearer <token>"/],
      ['garbage', 'Bearer not-a-jwt', /malformed token/],
      ['expired', `Bearer ${await token({ expiresInMs: -HOUR })}`, /token expired/],
      ['unknown key', `Bearer ${await token({ with: other })}`, /unknown key/],
      ['alg none', `Bearer ${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`, /algorithm not allowed|malformed/],
      ['another issuer', `Bearer ${encode({ alg: 'EdDSA', kid: key.kid })}.${encode({ ...claims, iss: 'https://elsewhere' })}.c2ln`, /tokens of this issuer are not accepted/],
      ['a role that does not exist', `Bearer ${await token({ role: 'root' })}`, /"role" must be viewer, operator or admin/],
      ['a malformed scope', `Bearer ${await token({ scope: { labels: { team: 7 } } })}`, /"scope" must be/],
    ];
    for (const [what, header, reason] of cases) {
      await assert.rejects(verifier.authenticate(header), (error: Error) => error.name === 'AuthenticationError' && reason.test(error.message), what);
    }
  });

  it('refuses a tampered token', async () => {
    const verifier = await verifierWith([published(key)]);
    const [header, , signature] = (await token()).split('.');
    const forged = `${header}.${encode({ iss: 'flotilla', aud: 'flotilla-api', sub: 'alice', jti: 'y', role: 'admin', exp: Math.floor(Date.now() / 1000) + 60 })}.${signature}`;
    await assert.rejects(verifier.verify(forged), /signature does not verify/);
  });

  it('checks revocation on every request, even for a token it verified before', async () => {
    const verifier = await verifierWith([published(key)]);
    const signed = await token({ tokenId: 'leaver' });
    await verifier.verify(signed);
    verifier.apply({ kind: 'revoked', tokenId: 'leaver', expiresAt: Date.now() + HOUR });
    await assert.rejects(verifier.verify(signed), /token revoked/);
    verifier.apply({ kind: 'unrevoked', tokenId: 'leaver' });
    assert.equal((await verifier.verify(signed)).subject, 'alice');
  });

  it('forgets what a withdrawn key signed, and a retired key stops verifying at its date', async () => {
    let now = Date.now();
    const verifier = await verifierWith([published(key), published(other, new Date(now + HOUR))], () => now);
    const mine = await token();
    const theirs = await token({ with: other, expiresInMs: 3 * HOUR });
    await verifier.verify(mine);
    await verifier.verify(theirs);
    verifier.apply({ kind: 'jwks', jwks: { keys: [published(other, new Date(now + HOUR))] } });
    await assert.rejects(verifier.verify(mine), /unknown key/);
    // The retirement date passes with no change to the bucket: the remembered token is refused too.
    now += 2 * HOUR;
    await assert.rejects(verifier.verify(theirs), /retired key/);
  });
});

describe('TokenVerifier (service keys)', async () => {
  const issuerKey = await generateSigningKey();
  const importerKey = await generateSigningKey();
  const roles = { importer: 'viewer', 'tunnel-broker': 'operator' } as const;
  const serviceKey = (key: SigningKey, expiresAt: number): PublishedServiceKey => ({ ...(key.publicJwk as PublishedKey), expiresAt: new Date(expiresAt).toISOString() });
  const sign = (key: SigningKey, subject: string, role = 'viewer', expiresInMs = 10 * 60_000) =>
    signToken(key, { subject, role: role as 'viewer', expiresAt: new Date(Date.now() + expiresInMs) }).then((signed) => signed.token);

  function setUp(now = () => Date.now()): TokenVerifier {
    const verifier = new TokenVerifier({ clockToleranceS: 0, now, serviceRoles: roles });
    verifier.apply({ kind: 'jwks', jwks: { keys: [published(issuerKey)] } });
    verifier.apply({ kind: 'service-key', service: 'importer', replica: 'r1', key: serviceKey(importerKey, Date.now() + HOUR) });
    return verifier;
  }

  it('accepts a token a service signed for itself, with its role', async () => {
    const principal = await setUp().verify(await sign(importerKey, 'service:importer'));
    assert.equal(principal.subject, 'service:importer');
    assert.equal(principal.role, 'viewer');
    assert.equal(principal.issuer, 'flotilla');
  });

  it('refuses a service key signing for anyone else, or above its role', async () => {
    const verifier = setUp();
    const cases: [string, string, string, RegExp][] = [
      ['a person', 'alice', 'viewer', /signs only for its own service: this one for service:importer/],
      ['another service', 'service:inventory', 'viewer', /signs only for its own service/],
      ['a higher role', 'service:importer', 'operator', /service:importer may act at most as viewer, not operator/],
      ['admin', 'service:importer', 'admin', /at most as viewer/],
    ];
    for (const [what, subject, role, reason] of cases) {
      await assert.rejects(verifier.verify(await sign(importerKey, subject, role)), (error: Error) => error.name === 'AuthenticationError' && reason.test(error.message), what);
    }
  });

  it('refuses tokens of a service without a role, even from a key it published', async () => {
    const verifier = setUp();
    const provisionerKey = await generateSigningKey();
    verifier.apply({ kind: 'service-key', service: 'provisioner', replica: 'p1', key: serviceKey(provisionerKey, Date.now() + HOUR) });
    await assert.rejects(verifier.verify(await sign(provisionerKey, 'service:provisioner')), /service:provisioner has no service identity/);
  });

  it('stops verifying at the key\'s expiry, and when the key is withdrawn, remembered tokens included', async () => {
    let now = Date.now();
    const verifier = setUp(() => now);
    const token = await sign(importerKey, 'service:importer', 'viewer', 2 * HOUR);
    await verifier.verify(token);
    now += 2 * HOUR - 60_000;
    await assert.rejects(verifier.verify(token), /expired service key/);
    await assert.rejects(verifier.verify(await sign(importerKey, 'service:importer', 'viewer', 3 * HOUR)), /expired service key/);
    // Refreshed: it verifies again.
    verifier.apply({ kind: 'service-key', service: 'importer', replica: 'r1', key: serviceKey(importerKey, now + HOUR) });
    await verifier.verify(token);
    verifier.apply({ kind: 'service-key-withdrawn', service: 'importer', replica: 'r1' });
    await assert.rejects(verifier.verify(token), /withdrawn service key/);
    await assert.rejects(verifier.verify(await sign(importerKey, 'service:importer', 'viewer', 3 * HOUR)), /unknown key/);
  });

  it("lets no service key stand in for the issuer's: a copy of the issuer's key published as a service's changes nothing", async () => {
    const verifier = setUp();
    verifier.apply({ kind: 'service-key', service: 'importer', replica: 'copy', key: serviceKey(issuerKey, Date.now() + HOUR) });
    const principal = await verifier.verify(await sign(issuerKey, 'alice', 'admin'));
    assert.equal(principal.subject, 'alice');
    assert.equal(principal.role, 'admin');
    // A service key's id is its thumbprint, whatever the entry says: claiming the issuer's id
    // neither shadows the issuer nor lends the key to anyone.
    const claimed = { ...serviceKey(await generateSigningKey(), Date.now() + HOUR), kid: issuerKey.kid };
    verifier.apply({ kind: 'service-key', service: 'importer', replica: 'r2', key: claimed });
    assert.equal((await verifier.verify(await sign(issuerKey, 'bob', 'operator'))).subject, 'bob');
    assert.equal((await verifier.verify(await sign(importerKey, 'service:importer'))).subject, 'service:importer');
  });

  it('refuses an entry that is not an Ed25519 public key with an expiry, and forgets what the replica published before', async () => {
    const verifier = setUp();
    const token = await sign(importerKey, 'service:importer');
    assert.throws(() => verifier.apply({ kind: 'service-key', service: 'importer', replica: 'r1', key: { kty: 'RSA', kid: 'k', expiresAt: new Date(Date.now() + HOUR).toISOString() } }), /Ed25519 public JWK/);
    await assert.rejects(verifier.verify(token), /unknown key/);
    assert.throws(() => verifier.apply({ kind: 'service-key', service: 'importer', replica: 'r1', key: { ...serviceKey(importerKey, 0), expiresAt: 'soon' } }), /expiresAt/);
  });
});
