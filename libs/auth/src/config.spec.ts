import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthConfig, authConfigProblems, parseGroupGrants } from './config.js';
import { widestGrant } from './verification/oidc-verifier.js';

describe('OIDC group grants', () => {
  it('parses group:role[:labels]', () => {
    assert.deepEqual(parseGroupGrants('platform-admins:admin, team-a:operator:team=a;env=prod,auditors:viewer'), [
      { group: 'platform-admins', role: 'admin' },
      { group: 'team-a', role: 'operator', labels: { team: 'a', env: 'prod' } },
      { group: 'auditors', role: 'viewer' },
    ]);
  });

  it('names what is wrong', () => {
    assert.throws(() => parseGroupGrants('ops:root'), /with role viewer, operator or admin/);
    assert.throws(() => parseGroupGrants('ops:admin:team'), /labels must be key=value/);
    const parsed = AuthConfig.safeParse({ OIDC_GROUPS: 'x' });
    assert.equal(parsed.success, false);
    assert.equal(parsed.error?.issues[0]?.path[0], 'OIDC_GROUPS');
    assert.deepEqual(
      authConfigProblems(AuthConfig.parse({ OIDC_ISSUER_URL: 'https://issuer.example' })).map((problem) => problem.name),
      ['OIDC_AUDIENCE', 'OIDC_GROUPS'],
    );
    assert.equal(AuthConfig.safeParse({ OIDC_ISSUER_URL: 'http://issuer.example' }).success, false);
  });

  it('grants the highest role, unscoped when any group grants it without a scope', () => {
    const grants = parseGroupGrants('team-a:operator:team=a,ops:operator,viewers:viewer');
    assert.deepEqual(widestGrant(grants, ['viewers', 'team-a']), { group: 'team-a', role: 'operator', labels: { team: 'a' } });
    assert.deepEqual(widestGrant(grants, ['team-a', 'ops']), { group: 'ops', role: 'operator' });
    assert.equal(widestGrant(grants, ['strangers']), undefined);
  });
});
