import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jwtExpiry } from './jwt.js';

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (payload: unknown) => `${encode({ alg: 'RS256', kid: 'k1' })}.${encode(payload)}.c2lnbmF0dXJl`;

describe('jwtExpiry', () => {
  it('reads exp of a bound service-account token', () => {
    const expiry = jwtExpiry(jwt({ iss: 'https://kubernetes.default.svc', sub: 'system:serviceaccount:kube-system:flotilla', exp: 1_900_000_000 }));
    assert.equal(expiry?.toISOString(), new Date(1_900_000_000_000).toISOString());
  });

  it('undefined for a JWT without exp (legacy service-account secret tokens)', () => {
    assert.equal(jwtExpiry(jwt({ iss: 'kubernetes/serviceaccount', sub: 'system:serviceaccount:default:x' })), undefined);
  });

  it('undefined for tokens that are not JWTs', () => {
    for (const token of ['abcdef.0123456789abcdef', 'plain-static-token', 'a.b.c', `x.${encode('string')}.y`, `x.${encode({ exp: 'soon' })}.y`]) {
      assert.equal(jwtExpiry(token), undefined, token);
    }
  });
});
