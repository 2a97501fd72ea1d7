import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { FleetCluster } from './fleet.js';
import { diffPlans } from './plan-report.js';
import { FleetPlanner, planGlobalUpgrade, type PlanGlobalUpgradeInput, type UpgradePlan } from './planner.js';
import { SUPPORT_MATRIX_DOCUMENT, defaultSupportMatrix as matrix } from './support-matrix.data.js';
import { compareMinors, formatMinor, parseKubernetesVersion, parseMinor, type KubernetesMinor } from './version.js';

// Every documented upgrade edge of the shipped matrix.
const EDGES: [string, string][] = [
  ...SUPPORT_MATRIX_DOCUMENT.releases.flatMap((r) => r.upgradeFrom.map((from): [string, string] => [from, r.release])),
  // Routes of several global upgrades.
  ['3.16', '4.3'],
  ['3.18', '4.2'],
  ['4.0', '4.2'],
];

const SUFFIXES = ['', '', '-eks-113cf36', '-gke.1234000', '+k3s1', '+rke2r1', '-aliyun.1', '-gs.1'];

function versionText(minor: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 20 }), fc.constantFrom(...SUFFIXES)).map(([v, patch, suffix]) => `${v ? 'v' : ''}1.${minor}.${patch}${suffix}`) },
    { weight: 1, arbitrary: fc.constant(`1.${minor}`) },
  );
}

const clusterArb: fc.Arbitrary<Omit<FleetCluster, 'id'>> = fc.integer({ min: 20, max: 36 }).chain((cp) =>
  fc.record({
    model: fc.constantFrom('platform-provisioned', 'user-provisioned', 'hosted-control-plane', 'connected'),
    controlPlaneVersion: fc.oneof({ weight: 20, arbitrary: versionText(cp) }, { weight: 1, arbitrary: fc.constantFrom('garbage', 'v1.31.0-rc.1') }),
    nodePools: fc.array(
      fc.record({
        name: fc.constantFrom('workers', 'gpu', 'infra', 'edge'),
        // Mostly behind the control plane, sometimes far behind, rarely ahead.
        version: fc.integer({ min: Math.max(18, cp - 6), max: cp + 1 }).chain((m) => versionText(m)),
      }),
      { maxLength: 3 },
    ),
  }),
);

const inputArb: fc.Arbitrary<PlanGlobalUpgradeInput> = fc.record({
  edge: fc.constantFrom(...EDGES),
  fleet: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,6}[a-z0-9]$/), clusterArb), {
    selector: ([id]) => id,
    maxLength: 40,
  }),
  maxConcurrency: fc.integer({ min: 1, max: 6 }),
}).map(({ edge: [fromRelease, toRelease], fleet, maxConcurrency }) => ({
  fromRelease,
  toRelease,
  maxConcurrency,
  matrix,
  fleet: fleet.map(([id, rest]) => ({ id, ...rest })),
}));

const minor = (text: string): KubernetesMinor => parseMinor(text)!;

function versionMinor(text: string): KubernetesMinor {
  const parsed = parseKubernetesVersion(text);
  assert.ok(parsed.ok, text);
  return parsed.version;
}

/** Independent reading of the seed: the newest minor both releases list as compatible. */
function latestCompatible(from: string, to: string): string {
  const entry = (r: string) => SUPPORT_MATRIX_DOCUMENT.releases.find((e) => e.release === r)!;
  const common = entry(from).compatible.filter((m) => entry(to).compatible.includes(m));
  return formatMinor(common.map(minor).sort(compareMinors).at(-1)!);
}

function property(predicate: (input: PlanGlobalUpgradeInput, plan: UpgradePlan) => void): void {
  fc.assert(
    fc.property(inputArb, (input) => {
      predicate(input, planGlobalUpgrade(input));
    }),
    { numRuns: 300 },
  );
}

describe('planGlobalUpgrade properties', () => {
  it('every step of every path is exactly one minor, starting from the current minor', () => {
    property((input, plan) => {
      for (const cluster of plan.clusters) {
        if (cluster.path.length === 0) continue;
        assert.ok(cluster.path.length >= 2, 'a path has at least one step');
        assert.equal(cluster.path[0], formatMinor(versionMinor(cluster.currentVersion)));
        for (let i = 1; i < cluster.path.length; i++) {
          const a = minor(cluster.path[i - 1]!);
          const b = minor(cluster.path[i]!);
          assert.equal(b.major, a.major);
          assert.equal(b.minor - a.minor, 1, `${cluster.clusterId}: ${cluster.path.join(' -> ')}`);
        }
        assert.equal(cluster.target, cluster.path.at(-1));
      }
    });
  });

  it("no plan targets a version outside the target release's compatible set", () => {
    property((input, plan) => {
      const compatible = matrix.releases.get(input.toRelease)!.entry.compatible;
      for (const cluster of plan.clusters) {
        if (cluster.target !== null) assert.ok(compatible.includes(cluster.target), `${cluster.clusterId} targets ${cluster.target}`);
      }
    });
  });

  it('under a 4.2-and-earlier target every pre-global path ends on the latest compatible version', () => {
    property((input, plan) => {
      if (matrix.releases.get(input.toRelease)!.entry.upgradeGate !== 'latest-compatible-first' || plan.route.length !== 2) return;
      const latest = latestCompatible(input.fromRelease, input.toRelease);
      for (const cluster of plan.clusters) {
        if (cluster.action === 'upgrade-before-global' || cluster.action === 'provider-action-required') {
          const before = cluster.steps.filter((step) => step.beforeGlobal === input.toRelease);
          assert.equal(before.at(-1)?.to, latest, `${input.fromRelease} -> ${input.toRelease}: ${cluster.clusterId}`);
        }
      }
    });
  });

  it('every step is allowed by the release the global cluster is on when it is taken', () => {
    property((_input, plan) => {
      for (const cluster of plan.clusters) {
        assert.deepEqual([cluster.path[0], ...cluster.steps.map((s) => s.to)].slice(0, cluster.path.length), [...cluster.path]);
        // A connected cluster's provider may have to move it from below any range (its steps are the provider's).
        if (cluster.model === 'connected') continue;
        for (const step of cluster.steps) {
          assert.ok(matrix.releases.get(step.release)!.entry.compatible.includes(step.to), `${cluster.clusterId}: ${step.from} -> ${step.to} under ${step.release}`);
        }
      }
    });
  });

  it('updating a plan one cluster at a time gives what planning the changed fleet gives', () => {
    fc.assert(
      fc.property(inputArb, fc.nat(), (input, pick) => {
        const unique = [...new Map(input.fleet.map((c) => [c.id, c])).values()];
        if (unique.length === 0) return;
        const planner = new FleetPlanner(input);
        const first = planner.plan(unique);
        const snapshot = structuredClone(first);
        const changed = { ...unique[pick % unique.length]!, controlPlaneVersion: unique[(pick + 1) % unique.length]!.controlPlaneVersion };
        const added = { ...changed, id: `${changed.id}-new` };
        const fleet = unique.map((c) => (c.id === changed.id ? changed : c));
        assert.deepStrictEqual(planner.update([changed]), planGlobalUpgrade({ ...input, fleet }));
        assert.deepStrictEqual(planner.update([added]), planGlobalUpgrade({ ...input, fleet: [...fleet, added] }));
        assert.deepStrictEqual(planner.update([], [changed.id]), planGlobalUpgrade({ ...input, fleet: [...fleet, added].filter((c) => c.id !== changed.id) }));
        assert.deepStrictEqual(first, snapshot, 'a plan handed out never changes');
      }),
      { numRuns: 200 },
    );
  });

  it('an updated plan, compared only on the clusters the update touched, gives every change a full comparison finds', () => {
    fc.assert(
      fc.property(inputArb, fc.nat(), fc.nat(), (input, pick, other) => {
        const unique = [...new Map(input.fleet.map((c) => [c.id, c])).values()];
        if (unique.length < 2) return;
        const planner = new FleetPlanner(input);
        let previous = planner.plan(unique);
        assert.equal(planner.changedIds(), undefined, 'a whole plan names no subset');
        const source = unique[other % unique.length]!;
        const target = unique[pick % unique.length]!;
        // A new control plane and new pools: actions, waves, issues and violations may all move.
        const changed = { ...target, controlPlaneVersion: source.controlPlaneVersion, nodePools: source.nodePools };
        const steps: [FleetCluster[], string[]][] = [
          [[changed], []],
          [[{ ...changed, id: `${changed.id}-new` }], []],
          [[], [unique[(pick + 1) % unique.length]!.id]],
        ];
        for (const [update, removed] of steps) {
          const next = planner.update(update, removed);
          assert.deepStrictEqual(diffPlans(previous, next, planner.changedIds()), diffPlans(previous, next));
          previous = next;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('planning the same input twice, in any fleet order, gives the same plan', () => {
    fc.assert(
      fc.property(
        inputArb.chain((input) => fc.tuple(fc.constant(input), fc.shuffledSubarray([...input.fleet], { minLength: input.fleet.length }))),
        ([input, shuffled]) => {
          const first = planGlobalUpgrade(input);
          assert.deepStrictEqual(planGlobalUpgrade(input), first);
          assert.deepStrictEqual(planGlobalUpgrade({ ...input, fleet: shuffled }), first);
          const ids = first.clusters.map((c) => c.clusterId);
          assert.deepEqual(ids, [...ids].sort());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('kubelet skew holds after every control-plane step, and no pool ever outruns its API server', () => {
    property((input, plan) => {
      const byId = new Map(input.fleet.map((c) => [c.id, c]));
      for (const cluster of plan.clusters) {
        if (cluster.path.length === 0) continue;
        const pools = byId.get(cluster.clusterId)!.nodePools.map((p) => ({ name: p.name, at: versionMinor(p.version) }));
        for (let i = 1; i < cluster.path.length; i++) {
          const current = minor(cluster.path[i - 1]!);
          const next = minor(cluster.path[i]!);
          for (const move of cluster.nodePoolMoves.filter((m) => m.beforeControlPlane === cluster.path[i])) {
            const moved = minor(move.to);
            assert.ok(compareMinors(moved, current) <= 0, 'a pool never moves past the API server');
            for (const pool of pools) if (pool.name === move.pool) pool.at = moved;
          }
          for (const pool of pools) {
            const behind = next.minor - pool.at.minor;
            const allowed = pool.at.minor < 25 ? 2 : 3;
            assert.ok(
              pool.at.major === next.major && behind >= 0 && behind <= allowed,
              `${cluster.clusterId}: pool ${pool.name} on ${formatMinor(pool.at)} with API server ${formatMinor(next)}`,
            );
          }
        }
      }
    });
  });

  it('waves respect maxConcurrency and put every scheduled cluster in at most one wave per phase, global upgrades in route order', () => {
    property((input, plan) => {
      const globals = plan.steps.filter((s) => s.type === 'global-upgrade');
      assert.deepEqual(globals.map((s) => s.fromRelease), plan.satisfiable ? plan.route.slice(0, -1) : []);
      const lastGlobal = plan.steps.findLastIndex((s) => s.type === 'global-upgrade');
      const seen = new Map<string, string[]>();
      plan.steps.forEach((step, index) => {
        if (step.type !== 'workload-wave') return;
        assert.ok(step.clusterIds.length >= 1 && step.clusterIds.length <= input.maxConcurrency);
        assert.equal(step.phase, lastGlobal < 0 || index < lastGlobal ? 'pre-global' : 'post-global');
        for (const id of step.clusterIds) {
          const waves = seen.get(id) ?? [];
          assert.ok(!waves.includes(`${step.phase}#${step.wave}`), `${id} scheduled twice`);
          seen.set(id, [...waves, `${step.phase}#${step.wave}`]);
        }
      });
      for (const cluster of plan.clusters) {
        // Unsatisfiable: only the waves before the first global upgrade are listed; later ones cannot happen yet.
        if (cluster.action === 'upgrade-before-global' && !seen.has(cluster.clusterId)) assert.ok(!plan.satisfiable && cluster.wave === null && cluster.steps[0]!.release !== input.fromRelease);
        else if (cluster.action === 'upgrade-before-global') assert.equal(seen.get(cluster.clusterId)?.[0], `pre-global#${cluster.wave}`);
        else if (cluster.action === 'may-upgrade-after' && plan.satisfiable) assert.deepEqual(seen.get(cluster.clusterId), [`post-global#${cluster.wave}`]);
        else assert.equal(seen.has(cluster.clusterId), false);
      }
      assert.equal(plan.satisfiable, plan.clusters.every((c) => c.action !== 'blocked'));
    });
  });
});
