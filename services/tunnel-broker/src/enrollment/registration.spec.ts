import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideEnrollment, looksLikeToken, renewalDue, type Registration } from './registration.js';

const now = new Date('2026-12-06T12:00:00Z');
const registration = (change: Partial<Registration> = {}): Registration => ({
  registrationId: '7f1c7c4e-1a51-4b4a-9d7e-3c1f2b7a9e10',
  clusterId: 'edge-1',
  clusterName: 'edge-1',
  tokenHash: 'a'.repeat(64),
  labels: {},
  expiresAt: '2026-12-07T12:00:00Z',
  revokedAt: null,
  redeemedAt: null,
  ...change,
});

describe('enrollment decisions', () => {
  it('a pending registration is redeemed; used, revoked, expired and unknown ones are refused with their code', () => {
    assert.deepEqual(decideEnrollment(registration(), now), { ok: true });
    assert.deepEqual(decideEnrollment(undefined, now), { ok: false, reason: 'token-unknown' });
    assert.deepEqual(decideEnrollment(registration({ redeemedAt: '2026-12-06T11:00:00Z' }), now), { ok: false, reason: 'token-used' });
    assert.deepEqual(decideEnrollment(registration({ revokedAt: '2026-12-06T11:00:00Z' }), now), { ok: false, reason: 'token-revoked' });
    assert.deepEqual(decideEnrollment(registration({ expiresAt: '2026-12-06T12:00:00Z' }), now), { ok: false, reason: 'token-expired' });
    // Used beats revoked: the agent learns its token did register someone.
    assert.deepEqual(decideEnrollment(registration({ redeemedAt: '2026-12-06T11:00:00Z', revokedAt: '2026-12-06T11:30:00Z' }), now), { ok: false, reason: 'token-used' });
  });

  it('only tokens of the importer shape reach the database', () => {
    assert.equal(looksLikeToken(`flotilla_reg_${'A'.repeat(43)}`), true);
    assert.equal(looksLikeToken(`flotilla_reg_${'A'.repeat(42)}`), false);
    assert.equal(looksLikeToken('Bearer x'), false);
  });

  it('a certificate is renewed once two thirds of its life have passed', () => {
    const from = new Date('2026-12-01T00:00:00Z');
    const to = new Date('2026-12-31T00:00:00Z');
    assert.equal(renewalDue(from, to, new Date('2026-12-20T23:59:00Z')), false);
    assert.equal(renewalDue(from, to, new Date('2026-12-21T00:00:00Z')), true);
  });
});
