import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSupportMatrix, type FleetCluster } from '@flotilla/contracts';
import { FleetSnapshot } from './fleet-snapshot.js';
import { KeptPlan, planRevision, summariseWaveShifts, WAVE_SHIFT_DETAIL_LIMIT } from './plan-revision.js';

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

  it('a kept plan re-plans only what changed and gives what planning the whole fleet gives', () => {
    const snapshot = new FleetSnapshot();
    for (let i = 0; i < 60; i++) snapshot.apply(`c-${String(i).padStart(2, '0')}`, cluster(`c-${String(i).padStart(2, '0')}`, `v1.${29 + (i % 6)}.1`));
    const kept = new KeptPlan();
    const first = kept.revise(snapshot, parameters, defaultSupportMatrix);
    assert.equal(first.incremental, false);
    assert.deepStrictEqual(first.plan, planRevision({ fleet: snapshot.clusters(), parameters, matrix: defaultSupportMatrix }).plan);

    let previous = first.plan;
    const edits: [string, FleetCluster | undefined][] = [
      ['c-07', cluster('c-07', 'v1.33.0')],
      ['a-new', cluster('a-new', 'v1.29.4')],
      ['c-12', undefined],
      ['c-40', { ...cluster('c-40', 'v1.31.0'), nodePools: [{ name: 'old', version: 'v1.27.3' }] }],
    ];
    for (const [id, next] of edits) {
      snapshot.apply(id, next);
      const expected = planRevision({ fleet: snapshot.clusters(), parameters, matrix: defaultSupportMatrix, previous });
      const revised = kept.revise(snapshot, parameters, defaultSupportMatrix, previous);
      assert.equal(revised.incremental, true, id);
      assert.deepStrictEqual(revised.plan, expected.plan, id);
      assert.deepStrictEqual(revised.changes, expected.changes, id);
      assert.ok(revised.changes.some((line) => line.includes(id)), `${id}: ${revised.changes.join(' | ')}`);
      previous = revised.plan;
    }
    const unchanged = kept.revise(snapshot, parameters, defaultSupportMatrix, previous);
    assert.equal(unchanged.plan, previous, 'nothing changed: the same plan');
    assert.deepEqual(unchanged.changes, []);

    const wider = kept.revise(snapshot, { ...parameters, maxConcurrency: 5 }, defaultSupportMatrix, previous);
    assert.equal(wider.incremental, false, 'new parameters plan the whole fleet');
    assert.deepStrictEqual(wider.plan, planRevision({ fleet: snapshot.clusters(), parameters: { ...parameters, maxConcurrency: 5 }, matrix: defaultSupportMatrix }).plan);
  });

  it('a fleet log that no longer reaches back plans the whole fleet', () => {
    const snapshot = new FleetSnapshot(2);
    for (const id of ['a', 'b', 'c']) snapshot.apply(id, cluster(id, 'v1.30.1'));
    const kept = new KeptPlan();
    const first = kept.revise(snapshot, parameters, defaultSupportMatrix);
    for (let i = 0; i < 6; i++) snapshot.apply('a', cluster('a', `v1.${30 + (i % 2)}.${i}`));
    const later = kept.revise(snapshot, parameters, defaultSupportMatrix, first.plan);
    assert.equal(later.incremental, false);
    assert.deepStrictEqual(later.plan, planRevision({ fleet: snapshot.clusters(), parameters, matrix: defaultSupportMatrix }).plan);
  });
});
