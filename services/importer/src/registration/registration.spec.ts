import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRedeemed, decideRevoke, generateToken, hashToken, issueRegistration, looksLikeToken, statusOf, TOKEN_PREFIX, type Redemption, type Registration } from './registration.js';

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

describe('the tunnel broker redeemed a token (TunnelRegistrationRedeemed)', () => {
  const redemption = (at: Date, agentId = 'agent-7f9c'): Redemption => ({ agentId, certificateSerial: '0a1b2c', certificateExpiresAt: hours(24 * 30).toISOString(), at: at.toISOString() });

  it('a pending registration: used, with the agent and its certificate, and the cluster is imported', () => {
    const decision = decideRedeemed(given({ labels: { team: 'a' } }), redemption(hours(1)));
    assert.equal(decision.kind, 'import');
    assert.ok(decision.kind === 'import');
    assert.equal(decision.registration.usedAt, hours(1).toISOString());
    assert.equal(decision.registration.agentId, 'agent-7f9c');
    assert.equal(decision.registration.certificateSerial, '0a1b2c');
    assert.deepEqual(decision.registration.labels, { team: 'a' });
    assert.equal(statusOf(decision.registration, hours(2)), 'used');
  });

  it('a redelivery, or a second report, changes nothing', () => {
    const first = decideRedeemed(given(), redemption(hours(1)));
    assert.ok(first.kind === 'import');
    const again = decideRedeemed(first.registration, redemption(hours(3), 'agent-other'));
    assert.equal(again.kind, 'unchanged');
    assert.ok(again.kind === 'unchanged');
    assert.equal(again.registration.agentId, 'agent-7f9c');
    assert.equal(again.registration.usedAt, hours(1).toISOString());
  });

  it('the broker judged the expiry when the agent came: its word stands, even if the news arrives late', () => {
    assert.equal(decideRedeemed(given(), redemption(hours(30))).kind, 'import');
  });

  it('revoked before the broker learnt of it: recorded, and withdrawn again (the cluster is removed, its certificate revoked)', () => {
    const decision = decideRedeemed(given({ revokedAt: hours(1).toISOString() }), redemption(hours(1.5)));
    assert.equal(decision.kind, 'withdraw');
    assert.ok(decision.kind === 'withdraw');
    assert.equal(decision.registration.agentId, 'agent-7f9c');
    assert.equal(statusOf(decision.registration, hours(2)), 'revoked', 'it shows as revoked, not used');
    assert.equal(decideRedeemed(decision.registration, redemption(hours(2))).kind, 'unchanged');
  });

  it('an id the importer never issued is not recorded', () => {
    assert.deepEqual(decideRedeemed(undefined, redemption(hours(1))), { kind: 'unknown' });
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
    assert.deepEqual(decideRevoke(given({ usedAt: hours(1).toISOString(), agentId: 'agent-1' }), hours(2)), { ok: false, reason: 'token-used' });
  });

  it('accepts an expired token (the record shows it was withdrawn)', () => {
    const decision = decideRevoke(given(), hours(30));
    assert.ok(decision.ok && decision.changed);
  });
});
