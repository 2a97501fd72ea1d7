import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FleetCluster } from './fleet.js';
import { parseSupportMatrix } from './matrix.js';
import { canCreate, canOnboard, checkUpgradePath, checkWorkloadRelease, globalUpgradeGate, isCompatible } from './rules.js';
import { SUPPORT_MATRIX_DOCUMENT, defaultSupportMatrix as matrix } from './support-matrix.data.js';
import { parseKubernetesVersion } from './version.js';

const REVISION = SUPPORT_MATRIX_DOCUMENT.revision;

describe('canCreate', () => {
  const table: [string, string, boolean, string][] = [
    ['1.34', '4.3', true, 'creation-supported'],
    ['v1.34.2', '4.3', true, 'creation-supported'],
    ['1.33', '4.3', false, 'creation-unsupported'],
    ['1.33', '4.2', true, 'creation-supported'],
    ['1.32', '4.1', true, 'creation-supported'],
    ['1.31', '4.1', false, 'creation-unsupported'],
    // 4.0 is the last release creating on several minors.
    ['1.28', '4.0', true, 'creation-supported'],
    ['1.31', '4.0', true, 'creation-supported'],
    ['1.32', '4.0', false, 'creation-unsupported'],
    ['1.35.0-rc.1', '4.3', false, 'version-prerelease'],
    ['one-thirty-four', '4.3', false, 'version-invalid'],
    ['1.34', '5.0', false, 'release-unknown'],
    ['1.34', 'latest', false, 'release-unknown'],
  ];
  for (const [version, release, allowed, code] of table) {
    it(`${version} on ${release}: ${code}`, () => {
      const decision = canCreate(version, release, matrix);
      assert.equal(decision.allowed, allowed);
      assert.equal(decision.code, code);
      assert.equal(decision.policyRevision, REVISION);
      assert.ok(decision.reason.length > 0);
    });
  }

  it('accepts an already parsed version and defaults to the shipped matrix', () => {
    const parsed = parseKubernetesVersion('v1.34.1');
    assert.ok(parsed.ok);
    assert.equal(canCreate(parsed.version, '4.3').code, 'creation-supported');
  });
});

describe('isCompatible', () => {
  const table: [string, string, boolean, string][] = [
    ['1.34', '4.3', true, 'compatible'],
    ['v1.31.9', '4.3', true, 'compatible'],
    ['1.30', '4.3', false, 'incompatible'],
    ['1.35', '4.3', false, 'incompatible'],
    ['v1.30.4+k3s1', '4.2', true, 'compatible'],
    ['1.29', '4.2', false, 'incompatible'],
    ['1.29', '4.1', true, 'compatible'],
    ['1.28', '4.0', true, 'compatible'],
    ['1.27', '4.0', false, 'incompatible'],
    ['2.31', '4.3', false, 'incompatible'],
    ['', '4.3', false, 'version-invalid'],
    ['1.33', '4.4', false, 'release-unknown'],
  ];
  for (const [version, release, allowed, code] of table) {
    it(`${version || '(empty)'} with ${release}: ${code}`, () => {
      const decision = isCompatible(version, release, matrix);
      assert.equal(decision.allowed, allowed);
      assert.equal(decision.code, code);
      assert.equal(decision.policyRevision, REVISION);
    });
  }
});

describe('canOnboard (4.3 third-party range >=1.19.0 <1.35.0)', () => {
  const table: [string, boolean, string, boolean][] = [
    ['v1.18.20', false, 'onboard-out-of-range', false],
    ['1.18.0', false, 'onboard-out-of-range', false],
    ['1.18', false, 'onboard-out-of-range', false],
    ['v1.19.0', true, 'onboard-unvalidated', true],
    ['1.19', true, 'onboard-unvalidated', true],
    ['v1.25.16-eks-abc1234', true, 'onboard-unvalidated', true],
    ['v1.34.0', true, 'onboard-unvalidated', true],
    ['v1.34.99+rke2r1', true, 'onboard-unvalidated', true],
    ['1.34', true, 'onboard-unvalidated', true],
    ['v1.35.0', false, 'onboard-out-of-range', false],
    ['1.35', false, 'onboard-out-of-range', false],
    ['1.36.1', false, 'onboard-out-of-range', false],
    // Pre-releases sort below their release, so 1.35.0-rc.1 < 1.35.0 must not slip in.
    ['v1.35.0-rc.1', false, 'version-prerelease', false],
    ['1.34.garbage', false, 'version-invalid', false],
  ];
  for (const [version, allowed, code, warning] of table) {
    it(`${version}: ${code}`, () => {
      const decision = canOnboard(version, '4.3', matrix);
      assert.equal(decision.allowed, allowed);
      assert.equal(decision.code, code);
      assert.equal(decision.warning, warning);
      assert.equal(decision.policyRevision, REVISION);
    });
  }

  it('allows a validated minor without a warning', () => {
    const doc = structuredClone(SUPPORT_MATRIX_DOCUMENT);
    doc.releases[0]!.thirdParty.validated = ['1.34', '1.33'];
    const parsed = parseSupportMatrix(doc);
    assert.ok(parsed.ok);
    const validated = canOnboard('v1.33.2', '4.3', parsed.matrix);
    assert.deepEqual([validated.allowed, validated.code, validated.warning], [true, 'onboard-validated', false]);
    const unvalidated = canOnboard('v1.30.2', '4.3', parsed.matrix);
    assert.deepEqual([unvalidated.allowed, unvalidated.code, unvalidated.warning], [true, 'onboard-unvalidated', true]);
    assert.match(unvalidated.reason, /validated: 1\.34, 1\.33/);
  });

  it('asks for the patch when the range cuts through a minor', () => {
    const doc = structuredClone(SUPPORT_MATRIX_DOCUMENT);
    doc.releases[0]!.thirdParty.range = '>=1.19.3 <1.35.0';
    const parsed = parseSupportMatrix(doc);
    assert.ok(parsed.ok);
    assert.equal(canOnboard('1.19', '4.3', parsed.matrix).code, 'version-patch-required');
    assert.equal(canOnboard('1.19.2', '4.3', parsed.matrix).code, 'onboard-out-of-range');
    assert.equal(canOnboard('1.19.3', '4.3', parsed.matrix).code, 'onboard-unvalidated');
  });
});

describe('checkUpgradePath', () => {
  const table: [string, string, boolean, string][] = [
    ['4.2', '4.3', true, 'upgrade-path-supported'],
    ['4.1', '4.3', true, 'upgrade-path-supported'],
    ['4.0', '4.3', true, 'upgrade-path-supported'],
    ['4.1', '4.2', true, 'upgrade-path-supported'],
    ['4.0', '4.1', true, 'upgrade-path-supported'],
    ['3.18', '4.0', true, 'upgrade-path-supported'],
    ['3.16', '3.18', true, 'upgrade-path-supported'],
    ['3.18', '4.3', false, 'upgrade-path-unsupported'],
    ['3.16', '4.3', false, 'upgrade-path-unsupported'],
    ['4.0', '4.2', false, 'upgrade-path-unsupported'],
    ['4.3', '4.3', false, 'upgrade-path-same-release'],
    ['4.3', '4.2', false, 'upgrade-path-downgrade'],
    ['3.14', '3.16', false, 'release-unknown'],
    ['4.3', '4.4', false, 'release-unknown'],
  ];
  for (const [from, to, allowed, code] of table) {
    it(`${from} -> ${to}: ${code}`, () => {
      const decision = checkUpgradePath(from, to, matrix);
      assert.equal(decision.allowed, allowed);
      assert.equal(decision.code, code);
      assert.equal(decision.policyRevision, REVISION);
    });
  }
});

describe('checkWorkloadRelease (global before workload)', () => {
  const table: [string, string, boolean, string][] = [
    ['4.2', '4.3', true, 'workload-release-allowed'],
    ['4.3', '4.3', true, 'workload-release-allowed'],
    ['4.3', '4.2', false, 'workload-ahead-of-global'],
    ['4.1', '4.0', false, 'workload-ahead-of-global'],
    ['4.9', '4.3', false, 'release-unknown'],
  ];
  for (const [workload, global, allowed, code] of table) {
    it(`workload to ${workload} with global on ${global}: ${code}`, () => {
      const decision = checkWorkloadRelease(workload, global, matrix);
      assert.equal(decision.allowed, allowed);
      assert.equal(decision.code, code);
    });
  }
});

function fleetOn(...versions: string[]): FleetCluster[] {
  return versions.map((controlPlaneVersion, i) => ({
    id: `c${String(i).padStart(2, '0')}`,
    model: 'platform-provisioned',
    controlPlaneVersion,
    nodePools: [],
  }));
}

describe('globalUpgradeGate: the seed examples', () => {
  // [from, to, passing versions, blocking versions with the code they get]
  const table: { from: string; to: string; accepted: string[]; pass: string[]; block: [string, string][] }[] = [
    {
      // 4.3 and later: anywhere within the target's compatible minors.
      from: '4.2',
      to: '4.3',
      accepted: ['1.31', '1.32', '1.33', '1.34'],
      pass: ['v1.31.0', 'v1.32.4', '1.33.1', 'v1.34.1'],
      block: [
        ['v1.30.9', 'outside-compatible-range'],
        ['v1.35.0', 'outside-compatible-range'],
      ],
    },
    {
      from: '4.0',
      to: '4.3',
      accepted: ['1.31', '1.32', '1.33', '1.34'],
      pass: ['v1.31.3'],
      block: [
        ['v1.28.3', 'outside-compatible-range'],
        ['v1.30.3', 'outside-compatible-range'],
      ],
    },
    {
      // "4.0 -> 4.1 needed 1.31"
      from: '4.0',
      to: '4.1',
      accepted: ['1.31', '1.32'],
      pass: ['v1.31.4'],
      block: [
        ['v1.30.4', 'below-latest-compatible'],
        ['v1.28.1', 'below-latest-compatible'],
      ],
    },
    {
      // "4.1 -> 4.2 needed clusters newer than 1.32": 1.32 is the newest minor 4.1 supports, so
      // the requirement is 1.32 or newer (a 4.1 platform cannot run 1.33 clusters).
      from: '4.1',
      to: '4.2',
      accepted: ['1.32', '1.33'],
      pass: ['v1.32.0', 'v1.33.2'],
      block: [
        ['v1.31.9', 'below-latest-compatible'],
        ['v1.29.1', 'below-latest-compatible'],
      ],
    },
    {
      // "from 3.18 all clusters had to be on 1.30"
      from: '3.18',
      to: '4.0',
      accepted: ['1.30', '1.31'],
      pass: ['v1.30.14'],
      block: [
        ['v1.29.10', 'below-latest-compatible'],
        ['v1.27.3', 'below-latest-compatible'],
      ],
    },
    {
      // "from 3.16 on 1.28"
      from: '3.16',
      to: '3.18',
      accepted: ['1.28', '1.29', '1.30'],
      pass: ['v1.28.15'],
      block: [['v1.27.16', 'below-latest-compatible']],
    },
  ];
  for (const { from, to, accepted, pass, block } of table) {
    it(`${from} -> ${to}`, () => {
      const open = globalUpgradeGate(fleetOn(...pass), from, to, matrix);
      assert.equal(open.code, 'gate-open', open.reason);
      assert.equal(open.allowed, true);
      assert.deepEqual(open.accepted, accepted);
      assert.equal(open.policyRevision, REVISION);

      const blocked = globalUpgradeGate(fleetOn(...pass, ...block.map(([v]) => v)), from, to, matrix);
      assert.equal(blocked.code, 'gate-blocked');
      assert.equal(blocked.allowed, false);
      assert.deepEqual(
        blocked.blockers.map((b) => [b.currentVersion, b.code]),
        block,
      );
      for (const blocker of blocked.blockers) assert.ok(blocker.reason.length > 0);
    });
  }

  it('counts connected clusters, and names unreadable versions', () => {
    const fleet: FleetCluster[] = [
      { id: 'eks-prod', model: 'connected', controlPlaneVersion: 'v1.30.5-eks-113cf36', nodePools: [], distribution: 'eks' },
      { id: 'broken', model: 'user-provisioned', controlPlaneVersion: 'unknown', nodePools: [] },
      { id: 'edge', model: 'platform-provisioned', controlPlaneVersion: 'v1.33.0-rc.0', nodePools: [] },
    ];
    const gate = globalUpgradeGate(fleet, '4.2', '4.3', matrix);
    assert.deepEqual(
      gate.blockers.map((b) => [b.clusterId, b.code]),
      [
        ['broken', 'version-invalid'],
        ['edge', 'version-prerelease'],
        ['eks-prod', 'outside-compatible-range'],
      ],
    );
  });

  it('refuses an unsupported upgrade path before looking at clusters', () => {
    const gate = globalUpgradeGate(fleetOn('v1.34.0'), '3.18', '4.3', matrix);
    assert.equal(gate.allowed, false);
    assert.equal(gate.code, 'upgrade-path-unsupported');
    assert.equal(gate.gate, null);
    assert.deepEqual(gate.blockers, []);
  });
});
