import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetCluster } from './fleet.js';
import { planGlobalUpgrade } from './planner.js';
import { resolveUpgradeRoute } from './route.js';
import { defaultSupportMatrix as matrix } from './support-matrix.data.js';

function cluster(id: string, version: string, extra: Partial<FleetCluster> = {}): FleetCluster {
  return { id, model: 'platform-provisioned', controlPlaneVersion: version, nodePools: [{ name: 'workers', version }], ...extra };
}

describe('resolveUpgradeRoute: which global upgrades a request takes', () => {
  // given the shipped matrix, when asked from -> to (via), then these releases or this refusal
  const table: { from: string; to: string; via?: string[]; releases?: string[]; refused?: [string, string, RegExp] }[] = [
    { from: '4.2', to: '4.3', releases: ['4.2', '4.3'] },
    { from: '4.0', to: '4.3', releases: ['4.0', '4.3'] },
    { from: '4.0', to: '4.2', releases: ['4.0', '4.1', '4.2'] },
    { from: '3.16', to: '4.3', releases: ['3.16', '3.18', '4.0', '4.3'] },
    { from: '4.0', to: '4.3', via: ['4.1', '4.2'], releases: ['4.0', '4.1', '4.2', '4.3'] },
    { from: '4.4', to: '4.3', refused: ['release-unknown', 'fromRelease', /"4\.4" is not in support matrix/] },
    { from: '4.2', to: '9.9', refused: ['release-unknown', 'toRelease', /"9\.9" is not in support matrix/] },
    { from: '4.3', to: '4.1', refused: ['upgrade-path-downgrade', 'toRelease', /downgrade/] },
    { from: '4.3', to: '4.3', refused: ['upgrade-path-same-release', 'toRelease', /already on 4\.3/] },
    { from: '4.0', to: '4.2', via: ['4.3'], refused: ['upgrade-path-downgrade', 'via', /4\.3 -> 4\.2/] },
    { from: '4.0', to: '4.3', via: ['4.2'], refused: ['upgrade-path-unsupported', 'via', /4\.0 -> 4\.2: 4\.2 can be upgraded to only from 4\.1/] },
  ];
  for (const { from, to, via, releases, refused } of table) {
    it(`${from} -> ${to}${via ? ` via ${via.join(', ')}` : ''}: ${releases ? releases.join(' -> ') : refused![0]}`, () => {
      const result = resolveUpgradeRoute(from, to, matrix, via);
      if (releases) {
        assert.ok(result.ok, result.ok ? '' : result.problem.reason);
        assert.deepEqual(result.route.releases, releases);
        assert.deepEqual(result.route.hops.map((h) => `${h.fromRelease}>${h.toRelease}`), releases.slice(1).map((r, i) => `${releases[i]!}>${r}`));
      } else {
        assert.ok(!result.ok);
        assert.equal(result.problem.code, refused![0]);
        assert.equal(result.problem.field, refused![1]);
        assert.match(result.problem.reason, refused![2]);
      }
    });
  }

  it('a release no path reaches is refused naming toRelease', () => {
    const result = resolveUpgradeRoute('3.18', '3.16', matrix);
    assert.ok(!result.ok);
    assert.equal(result.problem.code, 'upgrade-path-downgrade');
  });
});

describe('planGlobalUpgrade across several global upgrades', () => {
  it('4.0 with a cluster on 1.28 to 4.3 via 4.1 and 4.2: every minor step, the release allowing it, interleaved with each global upgrade and its gate', () => {
    const result = planGlobalUpgrade({ fleet: [cluster('a', 'v1.28.9')], fromRelease: '4.0', toRelease: '4.3', via: ['4.1', '4.2'], matrix, maxConcurrency: 5 });
    assert.equal(result.satisfiable, true);
    assert.deepEqual(result.route, ['4.0', '4.1', '4.2', '4.3']);
    const [only] = result.clusters;
    assert.equal(only!.action, 'upgrade-before-global');
    assert.deepEqual(only!.path, ['1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34']);
    // 4.1 and 4.2 gate on the latest compatible minor (1.31, 1.32); 4.3 only on its range (1.32 already is).
    assert.deepEqual(
      only!.steps.map((s) => `${s.from}>${s.to} on ${s.release} before ${s.beforeGlobal ?? '-'}`),
      ['1.28>1.29 on 4.0 before 4.1', '1.29>1.30 on 4.0 before 4.1', '1.30>1.31 on 4.0 before 4.1', '1.31>1.32 on 4.1 before 4.2', '1.32>1.33 on 4.3 before -', '1.33>1.34 on 4.3 before -'],
    );
    assert.deepEqual(
      result.steps.map((s) => (s.type === 'global-upgrade' ? `global ${s.fromRelease}>${s.toRelease}` : `${s.phase}#${s.wave} on ${s.globalRelease}: ${s.clusterIds.join(',')}`)),
      ['pre-global#1 on 4.0: a', 'global 4.0>4.1', 'pre-global#2 on 4.1: a', 'global 4.1>4.2', 'global 4.2>4.3', 'post-global#1 on 4.3: a'],
    );
    assert.equal(only!.wave, 1);
  });

  it('3.16 to 4.3 takes the fewest global upgrades and walks a cluster from 1.26', () => {
    const result = planGlobalUpgrade({ fleet: [cluster('a', 'v1.26.3')], fromRelease: '3.16', toRelease: '4.3', matrix, maxConcurrency: 5 });
    assert.deepEqual(result.route, ['3.16', '3.18', '4.0', '4.3']);
    assert.deepEqual(
      result.clusters[0]!.steps.map((s) => `${s.to}@${s.release}`),
      ['1.27@3.16', '1.28@3.16', '1.29@3.18', '1.30@3.18', '1.31@4.0', '1.32@4.3', '1.33@4.3', '1.34@4.3'],
    );
    assert.deepEqual(
      result.steps.filter((s) => s.type === 'global-upgrade').map((s) => `${s.fromRelease}>${s.toRelease}`),
      ['3.16>3.18', '3.18>4.0', '4.0>4.3'],
    );
  });

  it('a connected cluster below a later gate waits for its provider before that global upgrade only', () => {
    const result = planGlobalUpgrade({
      fleet: [cluster('eks', 'v1.31.2-eks-1', { model: 'connected', nodePools: [] })],
      fromRelease: '4.0',
      toRelease: '4.2',
      matrix,
      maxConcurrency: 5,
    });
    assert.deepEqual(
      result.steps.filter((s) => s.type === 'global-upgrade').map((s) => [s.toRelease, s.awaitingProvider]),
      [
        ['4.1', []],
        ['4.2', ['eks']],
      ],
    );
    assert.equal(result.clusters[0]!.action, 'provider-action-required');
  });
});

describe('planning to a Kubernetes version (toVersion)', () => {
  // given the shipped matrix, when asked for from -> to and a target minor, then accepted or refused naming toVersion
  const table: { from: string; to: string; toVersion: string; refused?: [string, RegExp] }[] = [
    { from: '4.2', to: '4.3', toVersion: '1.32' },
    { from: '4.2', to: '4.3', toVersion: '1.34' },
    { from: '4.2', to: '4.3', toVersion: '1.35', refused: ['incompatible', /1\.35 is not among 4\.3's compatible versions \(1\.34, 1\.33, 1\.32, 1\.31\); no release in support matrix/] },
    { from: '4.0', to: '4.1', toVersion: '1.33', refused: ['incompatible', /releases that support it: 4\.3, 4\.2/] },
    { from: '4.1', to: '4.2', toVersion: '1.30', refused: ['incompatible', /1\.30 is below what the upgrade to 4\.2 accepts \(1\.32, 1\.33\)/] },
    { from: '4.2', to: '4.3', toVersion: 'v1.33.2', refused: ['version-invalid', /"v1\.33\.2" is not a Kubernetes minor like 1\.34/] },
  ];
  for (const { from, to, toVersion, refused } of table) {
    it(`${from} -> ${to} to ${toVersion}: ${refused ? refused[0] : 'planned'}`, () => {
      const result = resolveUpgradeRoute(from, to, matrix, [], toVersion);
      if (!refused) {
        assert.equal(result.ok, true);
        return;
      }
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.problem.field, 'toVersion');
      assert.equal(result.problem.code, refused[0]);
      assert.match(result.problem.reason, refused[1]);
    });
  }

  it('every single-minor step to the version asked for, with the release allowing each, across several global upgrades', () => {
    const plan = planGlobalUpgrade({
      fleet: [cluster('a', 'v1.25.3'), cluster('b', 'v1.28.1'), cluster('c', 'v1.28.1', { model: 'connected', nodePools: [] })],
      fromRelease: '3.16',
      toRelease: '4.3',
      toVersion: '1.32',
      matrix,
      maxConcurrency: 5,
    });
    assert.equal(plan.toVersion, '1.32');
    assert.deepEqual(plan.route, ['3.16', '3.18', '4.0', '4.3']);
    const a = plan.clusters.find((c) => c.clusterId === 'a')!;
    assert.equal(a.target, '1.32');
    assert.deepEqual(
      a.steps.map((s) => `${s.from}->${s.to} on ${s.release} before ${s.beforeGlobal ?? '-'}`),
      [
        '1.25->1.26 on 3.16 before 3.18',
        '1.26->1.27 on 3.16 before 3.18',
        '1.27->1.28 on 3.16 before 3.18',
        '1.28->1.29 on 3.18 before 4.0',
        '1.29->1.30 on 3.18 before 4.0',
        '1.30->1.31 on 4.0 before 4.3',
        '1.31->1.32 on 4.3 before -',
      ],
    );
    assert.equal(plan.clusters.find((c) => c.clusterId === 'b')!.target, '1.32');
    // A connected cluster's provider moves it as far as the gates need; the rest is the provider's.
    assert.equal(plan.clusters.find((c) => c.clusterId === 'c')!.target, '1.31');
    // Without toVersion the same clusters go on to 4.3's newest minor for new clusters.
    const newest = planGlobalUpgrade({ fleet: [cluster('a', 'v1.25.3')], fromRelease: '3.16', toRelease: '4.3', matrix, maxConcurrency: 5 });
    assert.equal(newest.clusters[0]!.target, '1.34');
    assert.equal(newest.toVersion, undefined);
  });

  it('a cluster already at or past the version asked for has nothing more to do after the gates', () => {
    const plan = planGlobalUpgrade({ fleet: [cluster('at', 'v1.32.0'), cluster('past', 'v1.33.4')], fromRelease: '4.2', toRelease: '4.3', toVersion: '1.32', matrix, maxConcurrency: 5 });
    assert.deepEqual(
      plan.clusters.map((c) => [c.clusterId, c.action, c.target, c.reason]),
      [
        ['at', 'none', '1.32', 'Kubernetes 1.32 is accepted by 4.3 and is the target version'],
        ['past', 'none', '1.33', 'Kubernetes 1.33 is accepted by 4.3 and is newer than the target version 1.32'],
      ],
    );
  });
});
