import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterId, clusterIdFor } from './common.js';

describe('clusterIdFor', () => {
  it('makes a valid, distinct cluster id from any display name', () => {
    for (const name of ['prod', 'Team A / Prod #1', '---', 'x'.repeat(80), 'Ünïcode cluster']) {
      const id = clusterIdFor(name);
      assert.ok(ClusterId.safeParse(id).success, `${JSON.stringify(name)} -> ${id}`);
    }
    assert.match(clusterIdFor('Team A / Prod #1'), /^team-a-prod-1-[0-9a-f]{6}$/);
    assert.match(clusterIdFor('---'), /^cluster-[0-9a-f]{6}$/);
    assert.notEqual(clusterIdFor('prod'), clusterIdFor('prod'));
  });
});
