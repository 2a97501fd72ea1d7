import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnavailableClusterProbe } from './unavailable-cluster-probe.js';

describe('UnavailableClusterProbe', () => {
  it('refuses every check with probe-unavailable and says why, never a made-up cluster', async () => {
    const outcome = await new UnavailableClusterProbe().probe({
      clusterId: 'edge-1',
      provider: 'cncf',
      apiServer: 'https://edge.example:6443',
      credential: { ref: 'edge-admin', kind: 'bearer-token', expiresAt: null },
    });
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok);
    assert.deepEqual(outcome.failures.map((failure) => failure.code), ['probe-unavailable']);
    assert.match(outcome.failures[0]?.message ?? '', /not implemented/);
  });
});
