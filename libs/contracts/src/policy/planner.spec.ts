import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetCluster } from './fleet.js';
import { parseSupportMatrix } from './matrix.js';
import { diffPlans, renderPlanTable } from './plan-report.js';
import { planGlobalUpgrade, type UpgradePlan } from './planner.js';
import { SUPPORT_MATRIX_DOCUMENT, defaultSupportMatrix as matrix } from './support-matrix.data.js';

function cluster(id: string, controlPlaneVersion: string, extra: Partial<FleetCluster> = {}): FleetCluster {
  return { id, model: 'platform-provisioned', controlPlaneVersion, nodePools: [{ name: 'workers', version: controlPlaneVersion }], ...extra };
}

function plan(fleet: FleetCluster[], fromRelease: string, toRelease: string, maxConcurrency = 10): UpgradePlan {
  return planGlobalUpgrade({ fleet, fromRelease, toRelease, matrix, maxConcurrency });
}

/** The columns people read, one tuple per cluster. */
function rows(result: UpgradePlan): [string, string, string, string | null, number | null, string][] {
  return result.clusters.map((c) => [c.clusterId, c.action, c.path.join('>'), c.target, c.wave, c.code]);
}

describe('planGlobalUpgrade: 4.3 and later (within the compatible range)', () => {
  const fleet: FleetCluster[] = [
    cluster('on-134', 'v1.34.1'),
    cluster('on-132', 'v1.32.7'),
    cluster('on-131', 'v1.31.3'),
    cluster('on-130', 'v1.30.11'),
    cluster('eks-130', 'v1.30.5-eks-113cf36', { model: 'connected', distribution: 'eks', nodePools: [] }),
    cluster('gke-133', '1.33.2-gke.1234000', { model: 'connected', distribution: 'gke', nodePools: [] }),
    cluster('hcp-130', 'v1.30.2', { model: 'hosted-control-plane' }),
  ];

  it('upgrades only clusters outside 1.31-1.34 before the global cluster, to the nearest accepted minor', () => {
    const result = plan(fleet, '4.2', '4.3');
    assert.equal(result.satisfiable, true);
    assert.equal(result.gate, 'within-compatible-range');
    assert.deepEqual(result.accepted, ['1.31', '1.32', '1.33', '1.34']);
    assert.equal(result.policyRevision, SUPPORT_MATRIX_DOCUMENT.revision);
    assert.deepEqual(rows(result), [
      ['eks-130', 'provider-action-required', '1.30>1.31', '1.31', null, 'outside-compatible-range'],
      ['gke-133', 'none', '', '1.33', null, 'provider-managed'],
      ['hcp-130', 'upgrade-before-global', '1.30>1.31>1.32>1.33>1.34', '1.34', 1, 'outside-compatible-range'],
      ['on-130', 'upgrade-before-global', '1.30>1.31>1.32>1.33>1.34', '1.34', 1, 'outside-compatible-range'],
      ['on-131', 'may-upgrade-after', '1.31>1.32>1.33>1.34', '1.34', 1, 'optional-upgrade-after'],
      ['on-132', 'may-upgrade-after', '1.32>1.33>1.34', '1.34', 1, 'optional-upgrade-after'],
      ['on-134', 'none', '', '1.34', null, 'on-target'],
    ]);
    assert.deepEqual(result.steps, [
      { type: 'workload-wave', phase: 'pre-global', wave: 1, globalRelease: '4.2', clusterIds: ['hcp-130', 'on-130'] },
      { type: 'global-upgrade', fromRelease: '4.2', toRelease: '4.3', awaitingProvider: ['eks-130'] },
      { type: 'workload-wave', phase: 'post-global', wave: 1, globalRelease: '4.3', clusterIds: ['hcp-130', 'on-130', 'on-131', 'on-132'] },
    ]);
    assert.deepEqual(result.route, ['4.2', '4.3']);
    assert.deepEqual(
      result.clusters.find((c) => c.clusterId === 'on-130')!.steps.map((s) => `${s.from}>${s.to}@${s.release}/${s.beforeGlobal ?? 'after'}`),
      ['1.30>1.31@4.2/4.3', '1.31>1.32@4.3/after', '1.32>1.33@4.3/after', '1.33>1.34@4.3/after'],
    );
    assert.deepEqual(result.summary, { none: 2, 'upgrade-before-global': 2, 'may-upgrade-after': 2, 'provider-action-required': 1, blocked: 0 });
  });

  it('walks clusters from 4.0 one minor at a time', () => {
    const result = plan([cluster('a', 'v1.28.15'), cluster('b', 'v1.29.2')], '4.0', '4.3');
    assert.deepEqual(rows(result), [
      ['a', 'upgrade-before-global', '1.28>1.29>1.30>1.31>1.32>1.33>1.34', '1.34', 1, 'outside-compatible-range'],
      ['b', 'upgrade-before-global', '1.29>1.30>1.31>1.32>1.33>1.34', '1.34', 1, 'outside-compatible-range'],
    ]);
  });

  it('plans a public-cloud cluster like a platform-managed one (approved steps), not like a connected one', () => {
    const result = plan(
      [
        cluster('old-platform', 'v1.30.4'),
        cluster('old-cloud', 'v1.30.9-eks-1', { model: 'public-cloud', nodePools: [{ name: 'general', version: 'v1.30.9-eks-1' }] }),
        cluster('old-connected', 'v1.30.9-eks-1', { model: 'connected', nodePools: [] }),
      ],
      '4.2',
      '4.3',
    );
    assert.deepEqual(rows(result), [
      ['old-cloud', 'upgrade-before-global', '1.30>1.31>1.32>1.33>1.34', '1.34', 1, 'outside-compatible-range'],
      ['old-connected', 'provider-action-required', '1.30>1.31', '1.31', null, 'outside-compatible-range'],
      ['old-platform', 'upgrade-before-global', '1.30>1.31>1.32>1.33>1.34', '1.34', 1, 'outside-compatible-range'],
    ]);
  });

  it('blocks what no supported path can fix', () => {
    const result = plan(
      [
        cluster('too-old', 'v1.27.9'),
        cluster('too-new', 'v1.35.0'),
        cluster('old-connected', 'v1.27.9', { model: 'connected', nodePools: [] }),
        cluster('unreadable', 'vX'),
        cluster('preview', 'v1.34.0-rc.1'),
      ],
      '4.0',
      '4.3',
    );
    assert.equal(result.satisfiable, false);
    assert.deepEqual(rows(result), [
      ['old-connected', 'provider-action-required', '1.27>1.28>1.29>1.30>1.31', '1.31', null, 'outside-compatible-range'],
      ['preview', 'blocked', '', null, null, 'version-prerelease'],
      ['too-new', 'blocked', '', null, null, 'newer-than-target'],
      ['too-old', 'blocked', '', null, null, 'older-than-supported-path'],
      ['unreadable', 'blocked', '', null, null, 'version-invalid'],
    ]);
    assert.deepEqual(
      result.issues.map((i) => [i.code, i.clusterIds]),
      [
        ['version-prerelease', ['preview']],
        ['newer-than-target', ['too-new']],
        ['older-than-supported-path', ['too-old']],
        ['version-invalid', ['unreadable']],
      ],
    );
    assert.deepEqual(result.steps, [], 'nothing to order: no platform-managed cluster needs a pre-global upgrade');
  });
});

describe('planGlobalUpgrade: 4.2 and earlier (latest compatible first)', () => {
  // Given the global cluster on `from` and a cluster on `version`, when planning `from -> to`,
  // then the cluster walks to the gate minor before the global upgrade and on to `to`'s newest creation minor after it.
  const table: { from: string; to: string; version: string; pre: string[]; post: string[] }[] = [
    { from: '4.0', to: '4.1', version: 'v1.29.4', pre: ['1.29', '1.30', '1.31'], post: ['1.32'] },
    { from: '4.0', to: '4.1', version: 'v1.28.4', pre: ['1.28', '1.29', '1.30', '1.31'], post: ['1.32'] },
    { from: '4.1', to: '4.2', version: 'v1.30.4', pre: ['1.30', '1.31', '1.32'], post: ['1.33'] },
    { from: '3.18', to: '4.0', version: 'v1.28.4', pre: ['1.28', '1.29', '1.30'], post: ['1.31'] },
    { from: '3.16', to: '3.18', version: 'v1.26.4', pre: ['1.26', '1.27', '1.28'], post: ['1.29', '1.30'] },
  ];
  for (const { from, to, version, pre, post } of table) {
    const path = [...pre, ...post];
    it(`${from} -> ${to}: ${version} goes to ${pre[pre.length - 1]!} before the global cluster, then to ${post[post.length - 1]!}`, () => {
      const result = plan([cluster('a', version)], from, to);
      assert.equal(result.satisfiable, true);
      assert.equal(result.gate, 'latest-compatible-first');
      const [only] = result.clusters;
      assert.equal(only!.action, 'upgrade-before-global');
      assert.equal(only!.code, 'below-latest-compatible');
      assert.deepEqual(only!.path, path);
      assert.deepEqual(
        only!.steps.map((s) => [s.to, s.release, s.beforeGlobal]),
        [...pre.slice(1).map((m) => [m, from, to]), ...post.map((m) => [m, to, null])],
      );
    });
  }

  it('4.0 -> 4.1: a cluster already on 1.31 may move to 1.32 after the global upgrade', () => {
    const result = plan([cluster('a', 'v1.31.4')], '4.0', '4.1');
    assert.deepEqual(rows(result), [['a', 'may-upgrade-after', '1.31>1.32', '1.32', 1, 'optional-upgrade-after']]);
  });
});

describe('planGlobalUpgrade: node pools and skew', () => {
  it('moves a lagging pool before the step that would leave it out of skew', () => {
    const result = plan([cluster('a', 'v1.28.3', { nodePools: [{ name: 'old', version: 'v1.25.16' }, { name: 'new', version: 'v1.28.3' }] })], '4.0', '4.3');
    const [only] = result.clusters;
    assert.deepEqual(only!.path, ['1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34']);
    assert.deepEqual(
      only!.nodePoolMoves.map((m) => [m.pool, m.fromVersion, m.to, m.beforeControlPlane]),
      [
        ['old', 'v1.25.16', '1.28', '1.29'],
        ['old', 'v1.25.16', '1.31', '1.32'],
        ['new', 'v1.28.3', '1.31', '1.32'],
      ],
    );
  });

  it('blocks required steps while a kubelet is newer than its API server, and skips optional ones', () => {
    const result = plan(
      [
        cluster('required', 'v1.30.1', { nodePools: [{ name: 'ahead', version: 'v1.31.0' }] }),
        cluster('optional', 'v1.32.1', { nodePools: [{ name: 'ahead', version: 'v1.33.0' }] }),
        cluster('garbled', 'v1.30.1', { nodePools: [{ name: 'p', version: 'n/a' }] }),
      ],
      '4.2',
      '4.3',
    );
    assert.deepEqual(rows(result), [
      ['garbled', 'blocked', '', null, null, 'node-pool-version-invalid'],
      ['optional', 'none', '', '1.32', null, 'kubelet-newer-than-api-server'],
      ['required', 'blocked', '', null, null, 'kubelet-newer-than-api-server'],
    ]);
    assert.equal(result.satisfiable, false);
  });
});

describe('planGlobalUpgrade: ordering', () => {
  it('fills waves of at most maxConcurrency clusters, longest paths first, ties by id', () => {
    const fleet = [cluster('e', 'v1.30.0'), cluster('d', 'v1.28.0'), cluster('c', 'v1.29.0'), cluster('b', 'v1.30.0'), cluster('a', 'v1.28.0')];
    const result = plan(fleet, '4.0', '4.3', 2);
    assert.deepEqual(
      result.steps.map((s) => (s.type === 'workload-wave' ? `${s.phase}#${s.wave}:${s.clusterIds.join(',')}` : 'global')),
      ['pre-global#1:a,d', 'pre-global#2:c,b', 'pre-global#3:e', 'global', 'post-global#1:a,b', 'post-global#2:c,d', 'post-global#3:e'],
    );
    assert.deepEqual(
      result.clusters.map((c) => [c.clusterId, c.wave]),
      [
        ['a', 1],
        ['b', 2],
        ['c', 2],
        ['d', 1],
        ['e', 3],
      ],
    );
  });

  it('does not depend on the order of the fleet', () => {
    const fleet = [cluster('x', 'v1.30.0'), cluster('m', 'v1.33.0'), cluster('a', 'v1.28.0', { model: 'connected' })];
    assert.deepEqual(plan(fleet, '4.0', '4.3'), plan([...fleet].reverse(), '4.0', '4.3'));
  });
});

describe('planGlobalUpgrade: unsatisfiable inputs', () => {
  it('a release no supported path reaches blocks every cluster with the path reason', () => {
    const doc = structuredClone(SUPPORT_MATRIX_DOCUMENT);
    doc.revision = 'no-path';
    doc.releases.find((r) => r.release === '4.3')!.upgradeFrom = ['4.2'];
    doc.releases.find((r) => r.release === '4.2')!.upgradeFrom = [];
    const parsed = parseSupportMatrix(doc);
    assert.ok(parsed.ok);
    const result = planGlobalUpgrade({ fleet: [cluster('a', 'v1.30.0'), cluster('b', 'v1.34.0')], fromRelease: '4.0', toRelease: '4.3', matrix: parsed.matrix, maxConcurrency: 10 });
    assert.equal(result.satisfiable, false);
    assert.equal(result.gate, null);
    assert.deepEqual(result.issues.map((i) => i.code), ['upgrade-path-unsupported']);
    assert.ok(result.clusters.every((c) => c.action === 'blocked' && c.code === 'upgrade-path-unsupported'));
    assert.deepEqual(result.steps, []);
  });

  it('an unknown release', () => {
    const result = plan([cluster('a', 'v1.30.0')], '4.3', '4.4');
    assert.deepEqual(result.issues.map((i) => i.code), ['release-unknown']);
  });

  it('duplicate cluster ids', () => {
    const result = plan([cluster('a', 'v1.30.0'), cluster('a', 'v1.31.0'), cluster('b', 'v1.31.0')], '4.2', '4.3');
    assert.deepEqual(rows(result).map((r) => [r[0], r[1], r[5]]), [
      ['a', 'blocked', 'duplicate-cluster-id'],
      ['a', 'blocked', 'duplicate-cluster-id'],
      ['b', 'may-upgrade-after', 'optional-upgrade-after'],
    ]);
    assert.deepEqual(result.issues.map((i) => [i.code, i.clusterIds]), [['duplicate-cluster-id', ['a']]]);
  });

  it('a workload cluster ahead of the global cluster', () => {
    const result = plan([cluster('a', 'v1.33.0', { platformRelease: '4.3' }), cluster('b', 'v1.33.0', { platformRelease: '4.2' })], '4.2', '4.3');
    assert.deepEqual(rows(result).map((r) => [r[0], r[5]]), [
      ['a', 'workload-ahead-of-global'],
      ['b', 'optional-upgrade-after'],
    ]);
  });

  for (const maxConcurrency of [0, -1, 1.5, Number.NaN]) {
    it(`maxConcurrency ${maxConcurrency}`, () => {
      const result = plan([cluster('a', 'v1.30.0')], '4.2', '4.3', maxConcurrency);
      assert.equal(result.satisfiable, false);
      assert.deepEqual(result.issues.map((i) => i.code), ['concurrency-invalid']);
      assert.deepEqual(result.steps, []);
      assert.equal(result.clusters[0]!.wave, null);
    });
  }
});

describe('diffPlans', () => {
  it('says what changed when the fleet moves', () => {
    const before = plan([cluster('a', 'v1.30.0'), cluster('b', 'v1.31.0'), cluster('gone', 'v1.34.0')], '4.2', '4.3');
    const after = plan([cluster('a', 'v1.31.2'), cluster('b', 'v1.31.0'), cluster('new', 'v1.29.0')], '4.2', '4.3');
    assert.deepEqual(diffPlans(before, after), [
      'plan became unsatisfiable: 1 workload cluster(s) blocked: Older than any supported upgrade path',
      'cluster a: version v1.30.0 -> v1.31.2; action upgrade-before-global -> may-upgrade-after; path now 1.31 -> 1.32 -> 1.33 -> 1.34 (was 1.30 -> 1.31 -> 1.32 -> 1.33 -> 1.34); node pools to move first now none (was workers to 1.33 before 1.34); wave 1 -> -; reason now: Kubernetes 1.31 is accepted by 4.3; the cluster may upgrade to 1.34 once the global cluster is on 4.3',
      // Nothing is scheduled after a global upgrade that cannot happen.
      'cluster b: wave 1 -> -',
      'cluster gone removed (was none)',
      'cluster new added: blocked',
    ]);
  });

  it('says what changed when the matrix changes', () => {
    const doc = structuredClone(SUPPORT_MATRIX_DOCUMENT);
    doc.revision = '2025-12-01.1';
    doc.releases[0]!.compatible = ['1.34', '1.33', '1.32'];
    doc.releases[0]!.upgradeFrom = ['4.2'];
    const parsed = parseSupportMatrix(doc);
    assert.ok(parsed.ok);
    const fleet = [cluster('a', 'v1.31.0')];
    const before = plan(fleet, '4.2', '4.3');
    const after = planGlobalUpgrade({ fleet, fromRelease: '4.2', toRelease: '4.3', matrix: parsed.matrix, maxConcurrency: 10 });
    const changes = diffPlans(before, after);
    assert.equal(changes[0], 'support matrix revision changed from 2025-11-23.1 to 2025-12-01.1');
    assert.equal(changes[1], 'accepted Kubernetes versions changed from 1.31, 1.32, 1.33, 1.34 to 1.32, 1.33, 1.34');
    assert.match(changes[2]!, /^cluster a: action may-upgrade-after -> upgrade-before-global; reason now: Kubernetes 1\.31 is outside 4\.3's compatible versions .*it must reach 1\.32 before the global upgrade/);
  });

  it('is empty for the same plan', () => {
    const fleet = [cluster('a', 'v1.30.0')];
    assert.deepEqual(diffPlans(plan(fleet, '4.2', '4.3'), plan(fleet, '4.2', '4.3')), []);
  });
});

describe('renderPlanTable', () => {
  it('prints the columns, one row per cluster and the order', () => {
    const text = renderPlanTable(
      plan([cluster('web', 'v1.30.4'), cluster('eks-prod', 'v1.33.5-eks-113cf36', { model: 'connected', nodePools: [] })], '4.2', '4.3'),
    );
    const lines = text.split('\n');
    assert.equal(lines[0], 'Global cluster upgrade 4.2 -> 4.3');
    assert.equal(lines[1], 'Support matrix revision: 2025-11-23.1');
    const header = lines.find((l) => l.startsWith('CLUSTER'))!;
    assert.match(header, /^CLUSTER\s+MODEL\s+CURRENT\s+TARGET\s+PATH\s+ACTION\s+REASON$/);
    const web = lines.find((l) => l.startsWith('web '))!;
    assert.match(web, /^web\s+platform-provisioned\s+v1\.30\.4\s+1\.34\s+1\.30 -> 1\.31 -> 1\.32 -> 1\.33 -> 1\.34\s+upgrade-before-global \(wave 1\)\s+Kubernetes 1\.30 is outside/);
    assert.ok(lines.some((l) => /^eks-prod\s+connected\s+v1\.33\.5-eks-113cf36\s+1\.33\s+-\s+none\s/.test(l)));
    // Columns line up: every row starts its MODEL column where the header does.
    const modelColumn = header.indexOf('MODEL');
    assert.equal(web.indexOf('platform-provisioned'), modelColumn);
    assert.ok(text.includes('  pre-global wave 1 (global cluster on 4.2): web\n  global cluster 4.2 -> 4.3'), text);
  });
});
