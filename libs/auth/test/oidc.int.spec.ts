import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseGroupGrants } from '../src/config.js';
import { OidcStandIn } from '../src/testing/index.js';
import { OidcVerifier } from '../src/verification/oidc-verifier.js';
import { TokenVerifier } from '../src/verification/token-verifier.js';

describe('OIDC tokens against a stand-in issuer over HTTPS', () => {
  let issuer: OidcStandIn;
  let verifier: TokenVerifier;

  before(async () => {
    issuer = await OidcStandIn.start();
    const oidc = new OidcVerifier({
      issuer: issuer.issuer,
      audience: 'flotilla',
      groupsClaim: 'groups',
      grants: parseGroupGrants('platform-admins:admin,team-a:operator:team=a'),
      ca: issuer.ca,
      clockToleranceS: 0,
      refetchCooldownMs: 0,
    });
    verifier = new TokenVerifier({ clockToleranceS: 0, oidc });
  });

  after(async () => {
    await issuer.stop();
  });

  it('maps groups to a role and a label scope', async () => {
    const admin = await verifier.verify(await issuer.token({ sub: 'ada', aud: 'flotilla', groups: ['platform-admins', 'team-a'] }));
    assert.deepEqual(admin, { subject: 'ada', role: 'admin', issuer: issuer.issuer });
    const teamA = await verifier.verify(await issuer.token({ sub: 'bob', aud: 'flotilla', groups: ['team-a'] }));
    assert.deepEqual(teamA, { subject: 'bob', role: 'operator', issuer: issuer.issuer, scope: { labels: { team: 'a' } } });
  });

  it('refuses the wrong audience, the wrong key, an expired token, another issuer and unmapped groups', async () => {
    await assert.rejects(verifier.verify(await issuer.token({ sub: 'x', aud: 'someone-else', groups: ['platform-admins'] })), /claim "aud"/);
    await assert.rejects(verifier.verify(await issuer.token({ sub: 'x', aud: 'flotilla', groups: ['platform-admins'] }, { unpublished: true })), /unknown key/);
    await assert.rejects(verifier.verify(await issuer.token({ sub: 'x', aud: 'flotilla', groups: ['platform-admins'] }, { expiresInS: -60 })), /expired/);
    await assert.rejects(verifier.verify(await issuer.token({ sub: 'x', aud: 'flotilla', iss: 'https://127.0.0.1:1', groups: ['platform-admins'] })), /are not accepted/);
    await assert.rejects(verifier.verify(await issuer.token({ sub: 'x', aud: 'flotilla', groups: ['strangers'] })), (error: Error) => error.name === 'AuthorizationError' && /mapped to a role/.test(error.message));
  });

  it('fetches the JWKS again when the issuer rotates to a key it has not seen', async () => {
    const before = issuer.jwksFetches.length;
    await verifier.verify(await issuer.token({ sub: 'ada', aud: 'flotilla', groups: ['platform-admins'] }));
    assert.equal(issuer.jwksFetches.length, before, 'a known key is served from the cache');
    await issuer.rotate();
    const principal = await verifier.verify(await issuer.token({ sub: 'ada2', aud: 'flotilla', groups: ['platform-admins'] }));
    assert.equal(principal.subject, 'ada2');
    assert.equal(issuer.jwksFetches.length, before + 1);
  });

  it('does not trust an issuer whose certificate it was not told to trust', async () => {
    const untrusting = new TokenVerifier({
      clockToleranceS: 0,
      oidc: new OidcVerifier({ issuer: issuer.issuer, audience: 'flotilla', groupsClaim: 'groups', grants: parseGroupGrants('platform-admins:admin'), clockToleranceS: 0 }),
    });
    await assert.rejects(untrusting.verify(await issuer.token({ sub: 'ada', aud: 'flotilla', groups: ['platform-admins'] })), /discovery document could not be read/);
  });
});
