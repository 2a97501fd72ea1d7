import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvent, defaultSupportMatrix, planGlobalUpgrade, UpgradePlanned, type FleetCluster } from '@flotilla/contracts';
import { toPlannedCluster, toUpgradePlannedData } from './planned-event.js';

const fleet: FleetCluster[] = [
  // Below 4.3's compatible range, with a pool that the first step would push out of skew.
  { id: 'pp-1', model: 'platform-provisioned', controlPlaneVersion: 'v1.30.4', nodePools: [{ name: 'workers', version: 'v1.27.3' }] },
  { id: 'hcp-1', model: 'hosted-control-plane', controlPlaneVersion: 'v1.33.1', nodePools: [{ name: 'workers', version: 'v1.33.1' }] },
  { id: 'eks-1', model: 'connected', controlPlaneVersion: 'v1.30.9-eks-113cf36', nodePools: [], distribution: 'eks' },
  { id: 'cncf-1', model: 'connected', controlPlaneVersion: 'v1.34.1', nodePools: [], distribution: 'vanilla' },
];
const plan = planGlobalUpgrade({ fleet, fromRelease: '4.2', toRelease: '4.3', matrix: defaultSupportMatrix, maxConcurrency: 10 });
const options = { maxBytes: 200_000, planHref: '/api/v1/upgrade-plans/p-1' };

describe('UpgradePlanned from a plan (mapping)', () => {
  it('carries the plan fields the event has, every cluster in plan order, and validates against the contract', () => {
    const draft = toUpgradePlannedData(plan, ['support matrix revision changed from a to b'], options);
    assert.equal(draft.listedClusters, 4);
    const { data } = createEvent(UpgradePlanned, { subject: 'p-1', source: '/tests' }, draft.data);
    assert.equal(data.fromRelease, '4.2');
    assert.equal(data.toRelease, '4.3');
    assert.equal(data.policyRevision, defaultSupportMatrix.revision);
    assert.equal(data.satisfiable, true);
    assert.deepEqual(data.changes, ['support matrix revision changed from a to b']);
    assert.deepEqual(
      data.clusters.map((c) => [c.clusterId, c.model, c.currentVersion, c.action, c.path.join(' -> '), c.wave]),
      [
        ['cncf-1', 'connected', 'v1.34.1', 'none', '', undefined],
        ['eks-1', 'connected', 'v1.30.9-eks-113cf36', 'provider-action-required', '1.30 -> 1.31', undefined],
        ['hcp-1', 'hosted-control-plane', 'v1.33.1', 'may-upgrade-after', '1.33 -> 1.34', 1],
        ['pp-1', 'platform-provisioned', 'v1.30.4', 'upgrade-before-global', '1.30 -> 1.31', 1],
      ],
    );
  });

  it('node-pool moves, which the event has no field for, are spelled out in the reason', () => {
    const pp = plan.clusters.find((c) => c.clusterId === 'pp-1')!;
    assert.equal(pp.nodePoolMoves.length, 1, 'the fixture needs a move');
    const mapped = toPlannedCluster(pp);
    assert.ok(mapped.reason.startsWith(pp.reason));
    assert.match(mapped.reason, /; move node pools first: workers to 1\.30 before 1\.31$/);
  });

  it('an unsatisfiable plan says so, with each blocked cluster and its reason', () => {
    const blocked = planGlobalUpgrade({
      fleet: [...fleet, { id: 'old-1', model: 'user-provisioned', controlPlaneVersion: 'v1.27.2', nodePools: [] }],
      fromRelease: '4.2',
      toRelease: '4.3',
      matrix: defaultSupportMatrix,
      maxConcurrency: 10,
    });
    const { data } = toUpgradePlannedData(blocked, [], options);
    assert.equal(data.satisfiable, false);
    const old = data.clusters.find((c) => c.clusterId === 'old-1');
    assert.equal(old?.action, 'blocked');
    assert.match(old?.reason ?? '', /older than 4\.2 supports/);
  });

  it('a fleet too large for one event: under the byte limit, clusters needing action first, and a note saying where the rest is', () => {
    const big: FleetCluster[] = [];
    for (let i = 0; i < 5_000; i++) {
      const id = `c-${String(i).padStart(5, '0')}`;
      // One cluster in 50 is blocked; the rest are fine.
      big.push({ id, model: 'user-provisioned', controlPlaneVersion: i % 50 === 0 ? 'v1.27.1' : 'v1.34.2', nodePools: [] });
    }
    const large = planGlobalUpgrade({ fleet: big, fromRelease: '4.2', toRelease: '4.3', matrix: defaultSupportMatrix, maxConcurrency: 10 });
    const changes = Array.from({ length: 3_000 }, (_, i) => `cluster c-${String(i).padStart(5, '0')}: version v1.33.0 -> v1.34.2`);
    const draft = toUpgradePlannedData(large, changes, { maxBytes: 64_000, planHref: '/api/v1/upgrade-plans/big' });

    assert.ok(Buffer.byteLength(JSON.stringify(draft.data)) <= 64_000);
    assert.ok(draft.listedClusters < 5_000 && draft.listedClusters >= 100);
    assert.equal(draft.totalClusters, 5_000);
    const listed = draft.data.clusters;
    assert.equal(listed.filter((c) => c.action === 'blocked').length, 100, 'every blocked cluster is listed');
    assert.deepEqual(listed.map((c) => c.clusterId), [...listed.map((c) => c.clusterId)].sort(), 'in plan (id) order');
    const notes = draft.data.changes.slice(draft.listedChanges);
    assert.deepEqual(notes, [
      `${3_000 - draft.listedChanges} more change(s) not listed here (event size limit): GET /api/v1/upgrade-plans/big/revisions`,
      `${5_000 - draft.listedClusters} of 5000 cluster(s) not listed here (event size limit), clusters needing action first: GET /api/v1/upgrade-plans/big`,
    ]);
    createEvent(UpgradePlanned, { subject: 'big', source: '/tests' }, draft.data);
  });
});
