import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetCluster } from '@flotilla/contracts';
import { FleetSnapshot } from './fleet-snapshot.js';

const cluster = (id: string, controlPlaneVersion = 'v1.31.2'): FleetCluster => ({ id, model: 'user-provisioned', controlPlaneVersion, nodePools: [] });

describe('fleet snapshot (planner input)', () => {
  it('lists clusters sorted by id in UTF-16 order, the order the planner sorts by', () => {
    const snapshot = new FleetSnapshot();
    for (const id of ['b-2', 'a-10', 'B-1', 'a-9']) snapshot.apply(id, cluster(id));
    assert.deepEqual(snapshot.clusters().map((c) => c.id), ['B-1', 'a-10', 'a-9', 'b-2']);
  });

  it('reports only changes that matter to the planner, and counts them in the generation', () => {
    const snapshot = new FleetSnapshot();
    assert.equal(snapshot.apply('a', cluster('a')), true);
    assert.equal(snapshot.apply('a', cluster('a')), false, 'the same facts again');
    assert.equal(snapshot.apply('a', cluster('a', 'v1.32.0')), true);
    assert.equal(snapshot.apply('missing', undefined), false);
    assert.equal(snapshot.apply('a', undefined), true);
    assert.equal(snapshot.generation, 3);
    assert.equal(snapshot.size, 0);
  });

  it('a changed cluster is replaced in place; joining and leaving reorder', () => {
    const snapshot = new FleetSnapshot();
    for (const id of ['c', 'a', 'b']) snapshot.apply(id, cluster(id));
    const before = snapshot.clusters();
    snapshot.apply('b', cluster('b', 'v1.33.0'));
    assert.equal(snapshot.clusters(), before, 'no re-sort for a version change');
    assert.equal(snapshot.clusters()[1]?.controlPlaneVersion, 'v1.33.0');
    snapshot.apply('a', undefined);
    snapshot.apply('d', cluster('d'));
    assert.deepEqual(snapshot.clusters().map((c) => c.id), ['b', 'c', 'd']);
  });

  it('names the ids changed since a generation, each once, as long as its log reaches back', () => {
    const snapshot = new FleetSnapshot(2);
    snapshot.apply('a', cluster('a'));
    const start = snapshot.generation;
    assert.deepEqual(snapshot.changedSince(start), []);
    snapshot.apply('b', cluster('b'));
    snapshot.apply('a', cluster('a', 'v1.32.0'));
    snapshot.apply('b', cluster('b'));
    snapshot.apply('b', undefined);
    assert.deepEqual(snapshot.changedSince(start), ['b', 'a']);
    assert.equal(snapshot.changedSince(snapshot.generation + 1), undefined, 'a generation not reached yet');
    for (const minor of [30, 31, 32]) snapshot.apply('c', cluster('c', `v1.${minor}.0`));
    assert.equal(snapshot.changedSince(start), undefined, 'older than the log keeps');
    assert.deepEqual(snapshot.changedSince(snapshot.generation - 1), ['c']);
  });
});
