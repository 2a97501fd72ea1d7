import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSupportMatrix, type FleetCluster } from '@flotilla/contracts';
import { planRevision, summariseWaveShifts, WAVE_SHIFT_DETAIL_LIMIT } from './plan-revision.js';

const parameters = { fromRelease: '4.2', toRelease: '4.3', maxConcurrency: 2 };
const cluster = (id: string, controlPlaneVersion: string): FleetCluster => ({ id, model: 'user-provisioned', controlPlaneVersion, nodePools: [] });

describe('plan revisions', () => {
  it('a first revision has no changes; the next one lists what changed', () => {
    const fleet = [cluster('a', 'v1.30.1'), cluster('b', 'v1.34.0')];
    const first = planRevision({ fleet, parameters, matrix: defaultSupportMatrix });
    assert.deepEqual(first.changes, []);
    const same = planRevision({ fleet, parameters, matrix: defaultSupportMatrix, previous: first.plan });
    assert.deepEqual(same.changes, [], 'the same inputs: no new revision');
    const moved = planRevision({ fleet: [cluster('a', 'v1.31.0'), cluster('b', 'v1.34.0')], parameters, matrix: defaultSupportMatrix, previous: first.plan });
    assert.equal(moved.changes.length, 1);
    assert.match(moved.changes[0]!, /^cluster a: version v1\.30\.1 -> v1\.31\.0; action upgrade-before-global -> may-upgrade-after/);
  });

  it('one cluster joining the first wave shifts every later wave, summed up in one line after the cause', () => {
    const fleet = Array.from({ length: 40 }, (_, i) => cluster(`c-${String(i).padStart(2, '0')}`, 'v1.30.1'));
    const before = planRevision({ fleet, parameters, matrix: defaultSupportMatrix });
    // Sorted first by id, with the same path length as the rest: it takes c-00's place in wave 1.
    const after = planRevision({ fleet: [cluster('a-new', 'v1.30.1'), ...fleet], parameters, matrix: defaultSupportMatrix, previous: before.plan });
    assert.deepEqual(after.changes, [
      'cluster a-new added: upgrade-before-global 1.30 -> 1.31 -> 1.32 -> 1.33 -> 1.34',
      '20 cluster(s) changed wave only, as waves were refilled (e.g. c-01: wave 1 -> 2)',
    ]);
  });

  it(`up to ${WAVE_SHIFT_DETAIL_LIMIT} wave changes are listed one by one`, () => {
    const changes = ['cluster x added: none', 'cluster c-01: wave 1 -> 2', 'cluster c-03: wave 2 -> 3', 'cluster d: action none -> blocked; wave 1 -> -'];
    assert.deepEqual(summariseWaveShifts(changes), changes);
  });
});
