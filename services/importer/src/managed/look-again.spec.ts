import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstLookMs, LOOK_AGAIN_SHARE, MIN_OBSERVED_DURATIONS, nextLookMs, OBSERVED_DURATIONS_KEPT, ObservedDurations, operationKindOf, TYPICAL_OPERATION_MS } from './look-again.js';

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

  it('once a kind of operation has been seen done a few times, its first look comes when most of them were done', () => {
    const observed = new ObservedDurations();
    const policy = { pollIntervalMs: 100, operationTimeScale: 120, observed };
    observed.record('aks', 'create-cluster', 5_300);
    observed.record('aks', 'create-cluster', 5_100);
    assert.equal(MIN_OBSERVED_DURATIONS, 3);
    assert.equal(firstLookMs('aks', 'create-cluster', policy), 4_000, 'seen twice: still the documented time, scaled');
    observed.record('aks', 'create-cluster', 6_900);
    observed.record('aks', 'create-cluster', 5_600);
    observed.record('aks', 'create-cluster', 5_200);
    // The lower quarter of 5100, 5200, 5300, 5600, 6900: each was seen up to a look late.
    assert.equal(firstLookMs('aks', 'create-cluster', policy), 5_200);
    assert.equal(nextLookMs('aks', 'create-cluster', policy), 650);
    // Another cloud, another kind: their own times.
    assert.equal(firstLookMs('eks', 'create-cluster', policy), 5_000);
    assert.equal(firstLookMs('aks', 'create-node-group/workers', policy), 2_000);
  });

  it('a look is not due before the operation can be done by what has been seen of its kind: a fleet started on the documented time waits for the time seen', () => {
    const observed = new ObservedDurations();
    const policy = { pollIntervalMs: 100, operationTimeScale: 120, observed };
    // Documented: 2 s at this scale. Started 2.25 s ago and not done: an eighth of it, as before.
    assert.equal(nextLookMs('aks', 'create-node-group/workers', policy, 2_250), 250);
    for (const ms of [3_000, 3_100, 3_050]) observed.record('aks', 'create-node-group', ms);
    // Seen to take 3 s: the next look comes when that much has passed, not 375 ms from now.
    assert.equal(nextLookMs('aks', 'create-node-group/workers', policy, 2_250), 750);
    // Past it: an eighth of the time seen; with no start known, as without it.
    assert.equal(nextLookMs('aks', 'create-node-group/workers', policy, 3_400), 375);
    assert.equal(nextLookMs('aks', 'create-node-group/workers', policy), 375);
  });

  it('keeps the last durations only, so a cloud that got slower is followed', () => {
    const observed = new ObservedDurations();
    for (let i = 0; i < OBSERVED_DURATIONS_KEPT; i += 1) observed.record('gke', 'delete-node-group', 1_000);
    for (let i = 0; i < OBSERVED_DURATIONS_KEPT; i += 1) observed.record('gke', 'delete-node-group', 3_000);
    observed.record('gke', 'delete-node-group', Number.NaN);
    observed.record('gke', 'delete-node-group', -1);
    assert.equal(observed.typical('gke', 'delete-node-group'), 3_000);
  });
});
