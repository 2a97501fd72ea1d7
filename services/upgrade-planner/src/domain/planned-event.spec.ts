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
  it('carries the plan: revision, counts, issues, steps, every cluster in plan order, and validates against the contract', () => {
    const draft = toUpgradePlannedData({ plan, revision: 3, changes: ['support matrix revision changed from a to b'] }, options);
    assert.equal(draft.listedClusters, 4);
    assert.equal(draft.listedSteps, true);
    const { data } = createEvent(UpgradePlanned, { subject: 'p-1', source: '/tests' }, draft.data);
    assert.equal(data.fromRelease, '4.2');
    assert.equal(data.toRelease, '4.3');
    assert.equal(data.policyRevision, defaultSupportMatrix.revision);
    assert.equal(data.revision, 3);
    assert.equal(data.satisfiable, true);
    assert.equal(data.clusterCount, 4);
    assert.deepEqual(data.issues, []);
    assert.deepEqual(data.changes, ['support matrix revision changed from a to b']);
    assert.deepEqual(
      data.clusters.map((c) => [c.clusterId, c.model, c.currentVersion, c.target, c.action, c.path.join(' -> '), c.wave, c.code]),
      [
        ['cncf-1', 'connected', 'v1.34.1', '1.34', 'none', '', undefined, 'on-target'],
        ['eks-1', 'connected', 'v1.30.9-eks-113cf36', '1.31', 'provider-action-required', '1.30 -> 1.31', undefined, 'outside-compatible-range'],
        ['hcp-1', 'hosted-control-plane', 'v1.33.1', '1.34', 'may-upgrade-after', '1.33 -> 1.34', 1, 'optional-upgrade-after'],
        ['pp-1', 'platform-provisioned', 'v1.30.4', '1.34', 'upgrade-before-global', '1.30 -> 1.31 -> 1.32 -> 1.33 -> 1.34', 1, 'outside-compatible-range'],
      ],
    );
    assert.deepEqual(data.steps, [
      { type: 'workload-wave', phase: 'pre-global', wave: 1, globalRelease: '4.2', clusterIds: ['pp-1'] },
      { type: 'global-upgrade', fromRelease: '4.2', toRelease: '4.3', awaitingProvider: ['eks-1'] },
      { type: 'workload-wave', phase: 'post-global', wave: 1, globalRelease: '4.3', clusterIds: ['pp-1', 'hcp-1'] },
    ]);
    assert.deepEqual(data.route, ['4.2', '4.3']);
    const pp = data.clusters.find((c) => c.clusterId === 'pp-1')!;
    assert.deepEqual(
      pp.steps?.map((s) => [s.from, s.to, s.release, s.beforeGlobal]),
      [
        ['1.30', '1.31', '4.2', '4.3'],
        ['1.31', '1.32', '4.3', null],
        ['1.32', '1.33', '4.3', null],
        ['1.33', '1.34', '4.3', null],
      ],
      'every single-minor step with the release that allows it and the global upgrade it precedes',
    );
    // The pool on 1.27 is 3 minors behind 1.30: within skew today; 4.2 supports 1.30.
    assert.equal(pp.violations, undefined, 'nothing broken today');
    assert.equal(Buffer.byteLength(JSON.stringify(draft.data)), Buffer.byteLength(JSON.stringify(data)), 'what was measured is what is sent');
  });

  it('a node pool that must move first is in nodePoolMoves, and the reason is the planner\'s own', () => {
    const pp = plan.clusters.find((c) => c.clusterId === 'pp-1')!;
    assert.equal(pp.nodePoolMoves.length, 2, 'the fixture needs moves: before 1.31 and again before 1.34');
    const mapped = toPlannedCluster(pp);
    assert.equal(mapped.reason, pp.reason);
    assert.deepEqual(mapped.nodePoolMoves, [
      { pool: 'workers', fromVersion: 'v1.27.3', to: '1.30', beforeControlPlane: '1.31', reason: pp.nodePoolMoves[0]!.reason },
      { pool: 'workers', fromVersion: 'v1.27.3', to: '1.33', beforeControlPlane: '1.34', reason: pp.nodePoolMoves[1]!.reason },
    ]);
    assert.match(mapped.nodePoolMoves[0]!.reason, /kubelet 1\.27 would be 4 minors behind API server 1\.31/);
    assert.deepEqual(toPlannedCluster(plan.clusters.find((c) => c.clusterId === 'hcp-1')!).nodePoolMoves, []);
  });

  it('an unsatisfiable plan says so, with each blocked cluster and its reason', () => {
    const blocked = planGlobalUpgrade({
      fleet: [...fleet, { id: 'old-1', model: 'user-provisioned', controlPlaneVersion: 'v1.27.2', nodePools: [] }],
      fromRelease: '4.2',
      toRelease: '4.3',
      matrix: defaultSupportMatrix,
      maxConcurrency: 10,
    });
    const { data } = toUpgradePlannedData({ plan: blocked, revision: 1, changes: [] }, options);
    assert.equal(data.satisfiable, false);
    const old = data.clusters.find((c) => c.clusterId === 'old-1');
    assert.equal(old?.action, 'blocked');
    assert.equal(old?.target, null);
    assert.equal(old?.code, 'older-than-supported-path');
    assert.match(old?.reason ?? '', /older than 4\.2 supports/);
    assert.deepEqual(data.issues.map((i) => [i.code, i.clusterIds, i.clusterCount]), [['older-than-supported-path', ['old-1'], 1]]);
    assert.deepEqual(data.steps, [{ type: 'workload-wave', phase: 'pre-global', wave: 1, globalRelease: '4.2', clusterIds: ['pp-1'] }], 'only the pre-global waves');
    // 1.27 is outside 4.2's compatible versions today: flagged first, with the moves that repair it.
    assert.deepEqual(data.violations?.map((v) => [v.code, v.clusterIds, v.clusterCount]), [
      ['incompatible', ['old-1'], 1],
      ['onboard-out-of-range', ['cncf-1'], 1],
    ]);
    assert.deepEqual(
      old?.violations?.map((v) => [v.code, v.repair.map((m) => `${m.kind} ${m.to}`)]),
      [['incompatible', ['control-plane 1.28', 'control-plane 1.29', 'control-plane 1.30']]],
    );
  });

  it('a plan to a Kubernetes version says so, and its clusters stop there', () => {
    const toVersion = planGlobalUpgrade({ fleet, fromRelease: '4.2', toRelease: '4.3', toVersion: '1.32', matrix: defaultSupportMatrix, maxConcurrency: 10 });
    const { data } = createEvent(UpgradePlanned, { subject: 'p-2', source: '/tests' }, toUpgradePlannedData({ plan: toVersion, revision: 1, changes: [] }, options).data);
    assert.equal(data.toVersion, '1.32');
    assert.equal(data.clusters.find((c) => c.clusterId === 'pp-1')?.target, '1.32');
    assert.equal(toUpgradePlannedData({ plan, revision: 1, changes: [] }, options).data.toVersion, undefined, 'absent when none was asked for');
  });

  it('a plan whose release path is unsupported: the issue names no cluster', () => {
    const unsupported = planGlobalUpgrade({ fleet, fromRelease: '4.3', toRelease: '4.2', matrix: defaultSupportMatrix, maxConcurrency: 10 });
    const { data } = toUpgradePlannedData({ plan: unsupported, revision: 1, changes: [] }, options);
    assert.deepEqual(data.issues.map((i) => [i.code, i.clusterIds, i.clusterCount]), [['upgrade-path-downgrade', [], 0]]);
    assert.deepEqual(data.steps, []);
    assert.ok(data.clusters.every((c) => c.action === 'blocked' && c.code === 'upgrade-path-downgrade' && c.target === null));
  });

  it('steps are left out when only they do not fit; everything else is still listed', () => {
    const full = toUpgradePlannedData({ plan, revision: 1, changes: [] }, options);
    const withoutSteps = Buffer.byteLength(JSON.stringify({ ...full.data, steps: undefined }));
    const draft = toUpgradePlannedData({ plan, revision: 1, changes: [] }, { ...options, maxBytes: withoutSteps + 10 });
    assert.equal(draft.listedSteps, false);
    assert.equal(draft.data.steps, undefined);
    assert.equal(draft.listedClusters, 4);
    assert.equal(draft.data.clusterCount, 4);
  });

  it('a fleet too large for one event: under the byte limit, clusters needing action first, clusterCount for the whole plan, and a note saying where the rest of the changes is', () => {
    const big: FleetCluster[] = [];
    for (let i = 0; i < 5_000; i++) {
      const id = `c-${String(i).padStart(5, '0')}`;
      // One cluster in 50 is blocked (and breaks 4.2's range today); the rest are fine.
      big.push({ id, model: 'user-provisioned', controlPlaneVersion: i % 50 === 0 ? 'v1.27.1' : 'v1.33.2', nodePools: [] });
    }
    const large = planGlobalUpgrade({ fleet: big, fromRelease: '4.2', toRelease: '4.3', matrix: defaultSupportMatrix, maxConcurrency: 10 });
    const changes = Array.from({ length: 3_000 }, (_, i) => `cluster c-${String(i).padStart(5, '0')}: version v1.33.0 -> v1.34.2`);
    // Room for every blocked cluster (about 860 bytes each with today's violation and its repair) once changes have taken their half.
    const draft = toUpgradePlannedData({ plan: large, revision: 7, changes }, { maxBytes: 200_000, planHref: '/api/v1/upgrade-plans/big' });

    const { data } = createEvent(UpgradePlanned, { subject: 'big', source: '/tests' }, draft.data);
    assert.ok(Buffer.byteLength(JSON.stringify(data)) <= 200_000);
    assert.ok(draft.listedClusters < 5_000 && draft.listedClusters >= 100);
    assert.equal(draft.totalClusters, 5_000);
    assert.equal(data.clusterCount, 5_000, 'the whole plan\'s count: consumers see the list is partial');
    assert.equal(data.clusters.length, draft.listedClusters);
    assert.equal(data.revision, 7);
    assert.equal(data.steps, undefined, 'no room for the steps');
    assert.equal(draft.listedSteps, false);
    assert.deepEqual(data.issues.map((i) => [i.code, i.clusterIds.length, i.clusterCount]), [['older-than-supported-path', 100, 100]], 'the issue names every blocked cluster');
    const listed = data.clusters;
    assert.equal(listed.filter((c) => c.action === 'blocked').length, 100, 'every blocked cluster is listed');
    assert.deepEqual(data.violations?.map((v) => [v.code, v.clusterIds.length, v.clusterCount]), [['incompatible', 100, 100]]);
    assert.deepEqual(listed.map((c) => c.clusterId), [...listed.map((c) => c.clusterId)].sort(), 'in plan (id) order');
    assert.deepEqual(data.changes.slice(draft.listedChanges), [
      `${3_000 - draft.listedChanges} more change(s) not listed here (event size limit): GET /api/v1/upgrade-plans/big/revisions`,
    ]);
  });

  it('an issue naming more clusters than fit lists some of them and counts them all; the event stays under the limit', () => {
    const big: FleetCluster[] = [];
    for (let i = 0; i < 20_000; i++) {
      // Every cluster blocked for the same reason: one issue naming 20,000 clusters.
      big.push({ id: `blocked-cluster-${String(i).padStart(6, '0')}`, model: 'user-provisioned', controlPlaneVersion: 'v1.27.1', nodePools: [] });
    }
    const large = planGlobalUpgrade({ fleet: big, fromRelease: '4.2', toRelease: '4.3', matrix: defaultSupportMatrix, maxConcurrency: 10 });
    const draft = toUpgradePlannedData({ plan: large, revision: 2, changes: [] }, { maxBytes: 64_000, planHref: '/api/v1/upgrade-plans/blocked' });
    const { data } = createEvent(UpgradePlanned, { subject: 'blocked', source: '/tests' }, draft.data);
    assert.ok(Buffer.byteLength(JSON.stringify(data)) <= 64_000);
    assert.equal(draft.listedIssueClusters, false);
    const [issue] = data.issues;
    assert.equal(issue?.clusterCount, 20_000);
    assert.ok(issue.clusterIds.length > 0 && issue.clusterIds.length < 20_000);
    // The same clusters break 4.2's range today: that group names some too, and counts them all.
    const [violation] = data.violations ?? [];
    assert.equal(violation?.clusterCount, 20_000);
    assert.ok(violation.clusterIds.length > 0 && violation.clusterIds.length < 20_000);
    assert.deepEqual(issue.clusterIds, big.slice(0, issue.clusterIds.length).map((c) => c.id), 'the first by id');
    assert.ok(data.clusters.length > 0 && data.clusters.length < 20_000);
    assert.equal(data.clusterCount, 20_000);
  });
});
