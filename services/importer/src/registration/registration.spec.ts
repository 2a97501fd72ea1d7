import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRedeem, decideRevoke, describeRedeemFailure, generateToken, hashToken, issueRegistration, looksLikeToken, REDEEM_FAILURES, statusOf, TOKEN_PREFIX, type Registration } from './registration.js';

const issuedAt = new Date('2026-01-10T12:00:00.000Z');
const hours = (n: number) => new Date(issuedAt.getTime() + n * 3_600_000);

function given(overrides: Partial<Registration> = {}): Registration {
  const { tokenHash } = generateToken();
  return { ...issueRegistration({ id: '7d1f3c56-0a43-4d36-9a3e-6c1b0f2c1e11', clusterId: 'edge-a1b2c3', clusterName: 'edge', tunnelUrl: 'https://tunnel.example', tokenHash, ttlHours: 24 }, issuedAt), ...overrides };
}

describe('registration tokens', () => {
  it('are 256 random bits behind a recognisable prefix, stored only as SHA-256', () => {
    const { token, tokenHash } = generateToken();
    assert.ok(token.startsWith(TOKEN_PREFIX));
    assert.equal(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').length, 32);
    assert.ok(looksLikeToken(token));
    assert.match(tokenHash, /^[0-9a-f]{64}$/);
    assert.equal(hashToken(token), tokenHash);
    assert.ok(!tokenHash.includes(token.slice(TOKEN_PREFIX.length)));
    assert.notEqual(generateToken().token, token);
  });

  it('rejects junk as a token before any lookup', () => {
    for (const junk of ['', 'flotilla_reg_', `${TOKEN_PREFIX}short`, `x${generateToken().token}`, generateToken().token.replace(TOKEN_PREFIX, 'other_')]) {
      assert.ok(!looksLikeToken(junk), junk);
    }
  });

  it('expire after their time to live', () => {
    const registration = given();
    assert.equal(registration.expiresAt, hours(24).toISOString());
    assert.equal(statusOf(registration, hours(23.99)), 'pending');
    assert.equal(statusOf(registration, hours(24)), 'expired');
    assert.equal(issueRegistration({ ...registration, ttlHours: 2 }, issuedAt).expiresAt, hours(2).toISOString());
  });
});

describe('redeeming', () => {
  it('accepts a pending token once, marking it used', () => {
    const decision = decideRedeem(given(), hours(1));
    assert.ok(decision.ok);
    assert.equal(decision.registration.usedAt, hours(1).toISOString());
    assert.equal(statusOf(decision.registration, hours(1)), 'used');
    assert.deepEqual(decideRedeem(decision.registration, hours(2)), { ok: false, reason: 'token-used' });
  });

  it('says why a token is refused', () => {
    assert.deepEqual(decideRedeem(undefined, hours(1)), { ok: false, reason: 'token-unknown' });
    assert.deepEqual(decideRedeem(given(), hours(25)), { ok: false, reason: 'token-expired' });
    assert.deepEqual(decideRedeem(given({ revokedAt: hours(1).toISOString() }), hours(2)), { ok: false, reason: 'token-revoked' });
  });

  it('has a message for every reason', () => {
    for (const reason of REDEEM_FAILURES) assert.ok(describeRedeemFailure(reason).length > 10);
  });
});

describe('revoking', () => {
  it('stops a pending token for good, and is harmless twice', () => {
    const first = decideRevoke(given(), hours(1));
    assert.ok(first.ok && first.changed);
    assert.equal(statusOf(first.registration, hours(1)), 'revoked');
    assert.equal(statusOf(first.registration, hours(30)), 'revoked', 'revoked stays revoked past expiry');
    const again = decideRevoke(first.registration, hours(2));
    assert.ok(again.ok && !again.changed);
    assert.equal(again.registration.revokedAt, hours(1).toISOString());
  });

  it('refuses a token already used', () => {
    assert.deepEqual(decideRevoke(given({ usedAt: hours(1).toISOString() }), hours(2)), { ok: false, reason: 'token-used' });
  });

  it('accepts an expired token (the record shows it was withdrawn)', () => {
    const decision = decideRevoke(given(), hours(30));
    assert.ok(decision.ok && decision.changed);
  });
});
