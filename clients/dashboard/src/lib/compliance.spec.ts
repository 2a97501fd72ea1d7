import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SupportMatrix } from '../api/types.js';
import { fleetCompliance, nextRelease, standingOf } from './compliance.js';

function matrix(inForce: string): SupportMatrix {
  return {
    revision: 'r1',
    platformRelease: { release: inForce },
    document: {
      releases: [
        { release: '4.3', creation: ['1.34'], compatible: ['1.34', '1.33', '1.32', '1.31'], upgradeFrom: ['4.2', '4.1'] },
        { release: '4.2', creation: ['1.33'], compatible: ['1.33', '1.32', '1.31', '1.30'], upgradeFrom: ['4.1'] },
        { release: '4.1', creation: ['1.32'], compatible: ['1.32', '1.31', '1.30', '1.29'], upgradeFrom: ['4.0'] },
      ],
    },
  };
}

describe('compliance with the next release', () => {
  it('judges against the oldest newer release reachable directly from the one in force', () => {
    assert.equal(nextRelease(matrix('4.1'))?.release, '4.2');
    assert.equal(nextRelease(matrix('4.2'))?.release, '4.3');
    assert.equal(nextRelease(matrix('4.3'))?.release, '4.3', 'the newest release is judged against itself');
  });

  it('places a version as compatible, behind or ahead, whatever its patch or suffix', () => {
    const compatible = ['1.33', '1.32', '1.31', '1.30'];
    assert.equal(standingOf('v1.31.4-eks-113cf36', compatible), 'compatible');
    assert.equal(standingOf('1.29', compatible), 'behind');
    assert.equal(standingOf('v1.34.0', compatible), 'ahead');
    assert.equal(standingOf('latest', compatible), 'unknown');
  });

  it('counts the fleet per minor, oldest first, and lists the clusters outside', () => {
    const fleet = [
      { id: 'a', model: 'connected' as const, controlPlaneVersion: 'v1.29.8' },
      { id: 'b', model: 'platform-provisioned' as const, controlPlaneVersion: '1.31.2' },
      { id: 'c', model: 'platform-provisioned' as const, controlPlaneVersion: '1.31.0' },
      { id: 'd', model: 'platform-provisioned' as const, controlPlaneVersion: '1.9.0' },
    ];
    const result = fleetCompliance(fleet, matrix('4.1'));
    assert.equal(result?.target, '4.2');
    assert.deepEqual(result?.totals, { compatible: 2, behind: 2, ahead: 0, unknown: 0 });
    assert.deepEqual(
      result?.minors.map((entry) => [entry.minor, entry.count, entry.standing]),
      [
        ['1.9', 1, 'behind'],
        ['1.29', 1, 'behind'],
        ['1.31', 2, 'compatible'],
      ],
    );
    assert.deepEqual(result?.outside.map((entry) => entry.id), ['a', 'd']);
    assert.deepEqual(result?.behindPolicy.map((entry) => entry.id), ['d'], 'outside the compatible versions of 4.1, in force');
  });
});
