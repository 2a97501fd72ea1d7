import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readToken, roleAllows } from './token.js';

const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

describe('what a token says of itself', () => {
  it('reads the subject, role and expiry of a Flotilla token', () => {
    assert.deepEqual(readToken(jwt({ sub: 'ops@example.com', role: 'operator', exp: 1_900_000_000 })), { subject: 'ops@example.com', role: 'operator', expiresAt: 1_900_000_000 });
  });

  it('leaves the role unknown when the token carries none or an unknown one (OIDC)', () => {
    assert.equal(readToken(jwt({ sub: 'alice', groups: ['platform-admins'] }))?.role, null);
    assert.equal(readToken(jwt({ sub: 'alice', role: 'root' }))?.role, null);
  });

  it('reads UTF-8 subjects', () => {
    assert.equal(readToken(jwt({ sub: 'Zoë' }))?.subject, 'Zoë');
  });

  it('is not fooled by what is not a JWT', () => {
    assert.equal(readToken('not-a-token'), undefined);
    assert.equal(readToken('a.!!!.c'), undefined);
    assert.equal(readToken(`a.${Buffer.from('"text"').toString('base64url')}.c`), undefined);
  });

  it('offers what the role reaches, and leaves an unknown role to the API', () => {
    assert.equal(roleAllows('viewer', 'operator'), false);
    assert.equal(roleAllows('operator', 'operator'), true);
    assert.equal(roleAllows('admin', 'operator'), true);
    assert.equal(roleAllows('operator', 'admin'), false);
    assert.equal(roleAllows(null, 'admin'), true);
  });
});
