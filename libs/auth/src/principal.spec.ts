import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeScope, inScope } from './principal.js';
import { roleAllows } from './roles.js';

describe('roles and scopes', () => {
  it('orders the roles', () => {
    assert.ok(roleAllows('admin', 'operator') && roleAllows('operator', 'viewer') && roleAllows('viewer', 'viewer'));
    assert.ok(!roleAllows('viewer', 'operator') && !roleAllows('operator', 'admin'));
  });

  it('needs every label of the scope on the cluster', () => {
    const scoped = { scope: { labels: { team: 'a', env: 'prod' } } };
    assert.ok(inScope(scoped, { team: 'a', env: 'prod', region: 'eu' }));
    assert.ok(!inScope(scoped, { team: 'a' }));
    assert.ok(!inScope(scoped, null));
    assert.ok(inScope({}, null));
    assert.equal(describeScope(scoped.scope), 'team=a,env=prod');
  });
});
