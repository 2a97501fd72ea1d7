import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KUBERNETES_SKEW_POLICY, checkControlPlaneStep, checkKubeletSkew, maxKubeletSkew, nodePoolsToMoveFirst } from './skew.js';

describe('checkControlPlaneStep', () => {
  const table: [string, string, boolean, string][] = [
    ['v1.30.4', 'v1.31.0', true, 'control-plane-step-ok'],
    ['1.30', '1.31', true, 'control-plane-step-ok'],
    ['v1.30.4', 'v1.30.9', true, 'control-plane-no-change'],
    ['1.30', '1.32', false, 'control-plane-skips-minor'],
    ['1.28', '1.31', false, 'control-plane-skips-minor'],
    ['1.31', '1.30', false, 'control-plane-downgrade'],
    ['1.31', '2.0', false, 'major-version-mismatch'],
    ['1.31', 'next', false, 'version-invalid'],
  ];
  for (const [from, to, allowed, code] of table) {
    it(`${from} -> ${to}: ${code}`, () => {
      const decision = checkControlPlaneStep(from, to);
      assert.equal(decision.allowed, allowed);
      assert.equal(decision.code, code);
      assert.equal(decision.policyRevision, KUBERNETES_SKEW_POLICY);
    });
  }
});

describe('checkKubeletSkew', () => {
  const table: [string, string, boolean, string][] = [
    ['1.31', '1.31', true, 'kubelet-skew-ok'],
    ['1.31', '1.28', true, 'kubelet-skew-ok'],
    ['1.31', '1.27', false, 'kubelet-too-old'],
    ['v1.31.2', 'v1.32.0', false, 'kubelet-newer-than-api-server'],
    // Kubelets older than 1.25 may trail by two minors only.
    ['1.26', '1.24', true, 'kubelet-skew-ok'],
    ['1.27', '1.24', false, 'kubelet-too-old'],
    ['1.28', '1.25', true, 'kubelet-skew-ok'],
    ['1.31', '2.31', false, 'major-version-mismatch'],
    ['1.31', '', false, 'version-invalid'],
  ];
  for (const [api, kubelet, allowed, code] of table) {
    it(`API server ${api}, kubelet ${kubelet || '(empty)'}: ${code}`, () => {
      const decision = checkKubeletSkew(api, kubelet);
      assert.equal(decision.allowed, allowed);
      assert.equal(decision.code, code);
    });
  }

  it('knows the skew limit by kubelet minor', () => {
    assert.equal(maxKubeletSkew({ major: 1, minor: 24 }), 2);
    assert.equal(maxKubeletSkew({ major: 1, minor: 25 }), 3);
  });
});

describe('nodePoolsToMoveFirst', () => {
  it('moves only the pools the next step would leave out of skew, to the current minor', () => {
    const result = nodePoolsToMoveFirst('v1.30.2', '1.31', [
      { name: 'fresh', version: 'v1.30.2' },
      { name: 'lagging', version: 'v1.28.7' },
      { name: 'ancient', version: 'v1.27.3' },
    ]);
    assert.ok(result.ok);
    assert.deepEqual(
      result.moves.map((m) => [m.pool, m.fromVersion, m.to, m.beforeControlPlane]),
      [['ancient', 'v1.27.3', '1.30', '1.31']],
    );
  });

  it('uses the two-minor limit for kubelets older than 1.25', () => {
    const result = nodePoolsToMoveFirst('1.26', '1.27', [{ name: 'old', version: 'v1.24.9' }]);
    assert.ok(result.ok);
    assert.deepEqual(result.moves.map((m) => m.to), ['1.26']);
  });

  it('reports pools it cannot reason about', () => {
    const invalid = nodePoolsToMoveFirst('1.30', '1.31', [{ name: 'x', version: '??' }]);
    assert.deepEqual([invalid.ok, !invalid.ok && invalid.code], [false, 'version-invalid']);
    const newer = nodePoolsToMoveFirst('1.30', '1.31', [{ name: 'x', version: '1.31.0' }]);
    assert.deepEqual([newer.ok, !newer.ok && newer.code], [false, 'kubelet-newer-than-api-server']);
  });
});
