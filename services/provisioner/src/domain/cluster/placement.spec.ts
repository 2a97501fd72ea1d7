import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCondition } from '../conditions.js';
import { decide, evolve, refuseForPlacement } from './index.js';
import { spec, RELEASE, at } from '../../../test/support/lifecycle.js';

describe('hosted control plane placement', () => {
  it('no room for the control plane: the request is refused with the placement\'s reason', () => {
    const [accepted] = decide({ type: 'RequestCluster', clusterId: 'c1', spec: { ...spec, model: 'hosted-control-plane', hosted: { workerModel: 'platform-provisioned' } }, release: RELEASE, providers: ['simulated'], at: at(0) }, undefined);
    assert.ok(accepted?.type === 'ClusterAccepted');
    const refused = refuseForPlacement(accepted, 'no-management-cluster', 'no management cluster is registered');
    const state = evolve(undefined, refused);
    assert.deepEqual([state.phase, state.machines.length, state.failureReasons], ['Failed', 0, [{ code: 'no-management-cluster', message: 'no management cluster is registered', field: 'hosted' }]]);
    assert.equal(findCondition(state.conditions, 'Ready')?.reason, 'NoControlPlanePlacement');
  });
});
