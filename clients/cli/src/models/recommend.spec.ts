import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MODEL_CATALOGUE, responsibilities } from './catalogue.js';
import { recommendModel } from './recommend.js';

describe('recommendModel', () => {
  it('platform machines with an immutable OS: platform-provisioned, full automation', () => {
    const recommendation = recommendModel({ machines: 'platform', immutableOs: true, reachable: true, shareControlPlanes: false });
    assert.equal(recommendation.model, 'platform-provisioned');
    assert.ok(recommendation.reasons.some((reason) => reason.includes('immutable OS')));
    assert.deepEqual(recommendation.notes, []);
  });

  it("the users' own machines: user-provisioned; wanting an immutable OS on them is noted as not possible", () => {
    const recommendation = recommendModel({ machines: 'user', immutableOs: true, reachable: true, shareControlPlanes: false });
    assert.equal(recommendation.model, 'user-provisioned');
    assert.ok(recommendation.notes.some((note) => note.includes('needs platform-provisioned machines')));
  });

  it('sharing control planes: hosted control plane, with the workers of the machines answer', () => {
    assert.equal(recommendModel({ machines: 'user', immutableOs: false, reachable: true, shareControlPlanes: true }).variant, 'workers user-provisioned infrastructure');
    const platform = recommendModel({ machines: 'platform', immutableOs: true, reachable: true, shareControlPlanes: true });
    assert.equal(platform.model, 'hosted-control-plane');
    assert.equal(platform.variant, 'workers platform-provisioned infrastructure');
  });

  it('an existing cluster is connected: imported when reachable, registered through the tunnel when not', () => {
    const direct = recommendModel({ machines: 'existing-cluster', immutableOs: false, reachable: true, shareControlPlanes: false });
    assert.equal(direct.model, 'connected');
    assert.match(direct.variant ?? '', /direct import/);
    const tunnel = recommendModel({ machines: 'existing-cluster', immutableOs: false, reachable: false, shareControlPlanes: false });
    assert.equal(tunnel.model, 'connected');
    assert.match(tunnel.variant ?? '', /tunnel/);
    assert.ok(tunnel.notes.includes('the registration command is valid for 24 hours'));
  });

  it('a platform-managed cluster the global side cannot reach is noted', () => {
    assert.ok(recommendModel({ machines: 'platform', immutableOs: true, reachable: false, shareControlPlanes: false }).notes.some((note) => note.includes('connected through the tunnel')));
  });
});

describe('the model catalogue', () => {
  it('holds the product table: who provisions, who manages the OS and Kubernetes, how much is automated', () => {
    assert.deepEqual(
      MODEL_CATALOGUE.map((entry) => [entry.model, entry.infrastructure, entry.kubernetes, entry.automation]),
      [
        ['platform-provisioned', 'Platform', 'Platform', 'Full'],
        ['user-provisioned', 'User', 'Platform', 'Partial'],
        ['hosted-control-plane', 'Platform', 'Platform', 'Partial'],
        ['connected', 'External provider', 'Partial / external', 'Minimal'],
        ['public-cloud', 'External provider', 'Shared', 'Full'],
      ],
    );
    assert.deepEqual(responsibilities('user-provisioned'), [
      { area: 'Machines and nodes', party: 'User' },
      { area: 'Node OS', party: 'User' },
      { area: 'Kubernetes', party: 'Platform' },
      { area: 'Automation', party: 'Partial' },
    ]);
  });
});
