import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstLookMs, LOOK_AGAIN_SHARE, nextLookMs, operationKindOf, TYPICAL_OPERATION_MS } from './look-again.js';

describe('when a cluster waiting on its cloud is looked at again', () => {
  const production = { pollIntervalMs: 15_000 };

  it('a step key names its operation; the version check and no step name none', () => {
    assert.equal(operationKindOf('create-node-group/workers'), 'create-node-group');
    assert.equal(operationKindOf('upgrade-node-group/workers/1.32'), 'upgrade-node-group');
    assert.equal(operationKindOf('create-cluster'), 'create-cluster');
    assert.equal(operationKindOf('check-version'), null);
    assert.equal(operationKindOf(null), null);
  });

  it('the first look after a start comes at the operation typical time, not at the next poll', () => {
    assert.equal(firstLookMs('eks', 'create-cluster', production), TYPICAL_OPERATION_MS.eks['create-cluster']);
    assert.equal(firstLookMs('gke', 'create-node-group/workers', production), TYPICAL_OPERATION_MS.gke['create-node-group']);
  });

  it('later looks come at a share of that time: a slower operation is seen done a little late, with few calls', () => {
    assert.equal(nextLookMs('aks', 'create-cluster', production), TYPICAL_OPERATION_MS.aks['create-cluster'] * LOOK_AGAIN_SHARE);
  });

  it('never closer together than the poll interval, and at the poll interval when no operation is known', () => {
    assert.equal(nextLookMs('eks', 'scale-node-group/workers/3', { pollIntervalMs: 20_000 }), 20_000);
    assert.equal(nextLookMs('eks', null, production), 15_000);
    assert.equal(firstLookMs('eks', 'check-version', production), 15_000);
  });

  it('clouds that run faster (stand-ins, a benchmark) divide the typical times by their scale', () => {
    assert.equal(firstLookMs('eks', 'create-cluster', { pollIntervalMs: 100, operationTimeScale: 120 }), 5_000);
    assert.equal(nextLookMs('eks', 'create-cluster', { pollIntervalMs: 100, operationTimeScale: 120 }), 625);
    assert.equal(firstLookMs('eks', 'create-cluster', { pollIntervalMs: 100, operationTimeScale: 0 }), TYPICAL_OPERATION_MS.eks['create-cluster']);
  });
});
