import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetCluster } from './fleet.js';
import { planGlobalUpgrade } from './planner.js';
import { renderPlanTable } from './plan-report.js';
import { defaultSupportMatrix as matrix } from './support-matrix.data.js';
import { ViolationJudge } from './violations.js';

function cluster(id: string, version: string, extra: Partial<FleetCluster> = {}): FleetCluster {
  return { id, model: 'platform-provisioned', controlPlaneVersion: version, nodePools: [{ name: 'workers', version }], ...extra };
}

describe('ViolationJudge: what a cluster breaks today (global cluster on 4.2)', () => {
  const judge = new ViolationJudge(matrix, '4.2');
  // given a cluster, when judged, then these violations (code, pool) and repair moves (kind, pool, to)
  const table: { name: string; given: FleetCluster; then: [string, string | null, string[]][] }[] = [
    { name: 'in policy', given: cluster('ok', 'v1.32.1', { nodePools: [{ name: 'w', version: 'v1.29.4' }] }), then: [] },
    {
      name: 'kubelet 4 minors behind (>= 1.25: at most 3)',
      given: cluster('a', 'v1.33.1', { nodePools: [{ name: 'old', version: 'v1.29.0' }] }),
      then: [['kubelet-too-old', 'old', ['node-pool:old:1.33']]],
    },
    {
      name: 'kubelet 1.24 three minors behind (< 1.25: at most 2)',
      given: cluster('b', 'v1.27.1', { platformRelease: '3.18', nodePools: [{ name: 'ancient', version: 'v1.24.9' }] }),
      then: [['kubelet-too-old', 'ancient', ['node-pool:ancient:1.27']]],
    },
    {
      name: 'kubelet 1.24 two minors behind is fine',
      given: cluster('b2', 'v1.26.1', { model: 'connected', nodePools: [{ name: 'p', version: 'v1.24.9' }] }),
      then: [],
    },
    {
      name: 'kubelet newer than the API server',
      given: cluster('c', 'v1.31.1', { nodePools: [{ name: 'ahead', version: 'v1.32.0' }] }),
      then: [['kubelet-newer-than-api-server', 'ahead', ['node-pool:ahead:1.31']]],
    },
    {
      name: 'workload cluster ahead of the global cluster',
      given: cluster('d', 'v1.33.1', { platformRelease: '4.3' }),
      then: [['workload-ahead-of-global', null, ['global-upgrade:-:4.3']]],
    },
    {
      name: 'managed cluster below its release (4.2: 1.30-1.33)',
      given: cluster('e', 'v1.28.1'),
      then: [['incompatible', null, ['control-plane:-:1.29', 'control-plane:-:1.30']]],
    },
    {
      name: 'managed cluster above its release: the release that supports it',
      given: cluster('f', 'v1.34.1'),
      then: [['incompatible', null, ['global-upgrade:-:4.3']]],
    },
    {
      name: 'managed cluster above every release',
      given: cluster('g', 'v1.36.0'),
      then: [['incompatible', null, []]],
    },
    {
      name: 'connected cluster outside the third-party range',
      given: cluster('h', 'v1.18.3', { model: 'connected', nodePools: [] }),
      then: [['onboard-out-of-range', null, ['provider:-:1.19']]],
    },
    {
      name: 'several at once, whole-cluster first',
      given: cluster('i', 'v1.29.1', { nodePools: [{ name: 'ahead', version: 'v1.30.0' }, { name: 'old', version: 'v1.25.0' }] }),
      then: [
        ['incompatible', null, ['control-plane:-:1.30']],
        ['kubelet-newer-than-api-server', 'ahead', ['node-pool:ahead:1.29']],
        ['kubelet-too-old', 'old', ['node-pool:old:1.29']],
      ],
    },
  ];
  for (const { name, given, then } of table) {
    it(name, () => {
      const got = judge.judge(given).map((v) => [v.code, v.pool, v.repair.map((m) => `${m.kind}:${m.pool ?? '-'}:${m.to}`)]);
      assert.deepEqual(got, then);
    });
  }
});

describe('planGlobalUpgrade flags violations first, whatever was asked', () => {
  const fleet = [
    cluster('fine', 'v1.33.0'),
    cluster('skewed', 'v1.33.0', { nodePools: [{ name: 'old', version: 'v1.29.2' }] }),
    cluster('ahead', 'v1.33.0', { platformRelease: '4.3' }),
  ];
  for (const [from, to] of [
    ['4.2', '4.3'],
    ['4.0', '4.3'],
  ] as const) {
    it(`${from} -> ${to}`, () => {
      const plan = planGlobalUpgrade({ fleet, fromRelease: from, toRelease: to, matrix, maxConcurrency: 10 });
      assert.equal(Object.keys(plan).indexOf('violations') < Object.keys(plan).indexOf('issues'), true);
      assert.deepEqual(plan.violations.map((v) => [v.code, v.clusterIds]), from === '4.2'
        ? [['workload-ahead-of-global', ['ahead']], ['kubelet-too-old', ['skewed']]]
        : [['workload-ahead-of-global', ['ahead']], ['incompatible', ['ahead', 'fine', 'skewed']], ['kubelet-too-old', ['skewed']]]);
      const skewed = plan.clusters.find((c) => c.clusterId === 'skewed')!;
      assert.deepEqual(skewed.violations.map((v) => v.repair.map((m) => `${m.kind} ${m.pool ?? ''} ${m.to}`)).at(-1), ['node-pool old 1.33']);
      const table = renderPlanTable(plan);
      assert.ok(table.indexOf('Already breaking the policy') < table.indexOf('Satisfiable'), table);
      assert.match(table, /skewed: node pool old runs kubelet 1\.29, 4 minors behind the API server 1\.33.*repair: upgrade the kubelets of old to 1\.33/);
    });
  }

  it('an empty fleet breaks nothing', () => {
    assert.deepEqual(planGlobalUpgrade({ fleet: [], fromRelease: '4.2', toRelease: '4.3', matrix, maxConcurrency: 1 }).violations, []);
  });
});
