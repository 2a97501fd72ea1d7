import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SupportMatrixView } from '../api/types.js';
import { inRange, nextRelease, versionStatus } from './version-status.js';

const release = (name: string, creation: string[], compatible: string[], upgradeGate: string, upgradeFrom: string[], range: string) => ({ release: name, creation, compatible, upgradeGate, upgradeFrom, thirdParty: { range } });
const RELEASES = [
  release('4.3', ['1.34'], ['1.34', '1.33', '1.32', '1.31'], 'within-compatible-range', ['4.2', '4.1', '4.0'], '>=1.19.0 <1.35.0'),
  release('4.2', ['1.33'], ['1.33', '1.32', '1.31', '1.30'], 'latest-compatible-first', ['4.1'], '>=1.19.0 <1.34.0'),
  release('4.1', ['1.32'], ['1.32', '1.31', '1.30', '1.29'], 'latest-compatible-first', ['4.0'], '>=1.19.0 <1.33.0'),
];
const matrix = (inForce: string): SupportMatrixView => ({ revision: 'r1', platformRelease: { release: inForce }, document: { releases: RELEASES } });

describe('versionStatus', () => {
  it('under 4.2, the next release 4.3 wants the compatible range 1.31-1.34', () => {
    assert.deepEqual(versionStatus('v1.30.4', 'platform-provisioned', matrix('4.2')), [
      { release: '4.2', ok: true, message: '1.30 is compatible (1.33, 1.32, 1.31, 1.30; new clusters on 1.33)' },
      { release: '4.3', ok: false, message: 'must be upgraded to 1.31 or later before the global upgrade to 4.3 (1.34, 1.33, 1.32, 1.31)' },
    ]);
    assert.equal(versionStatus('v1.32.0', 'user-provisioned', matrix('4.2'))[1]?.ok, true);
  });

  it('under 4.1, the next release 4.2 (4.2 and earlier) wants the newest compatible minor first', () => {
    const [, next] = versionStatus('v1.31.2', 'platform-provisioned', matrix('4.1'));
    assert.deepEqual(next, { release: '4.2', ok: false, message: 'must reach 1.32 (the newest compatible minor of 4.1) before the global upgrade to 4.2' });
    assert.equal(versionStatus('v1.32.2', 'platform-provisioned', matrix('4.1'))[1]?.ok, true);
  });

  it('a connected cluster is judged by the third-party range', () => {
    const [current] = versionStatus('v1.35.1-eks-1', 'connected', matrix('4.3'));
    assert.deepEqual(current, { release: '4.3', ok: false, message: '1.35 is outside the third-party range >=1.19.0 <1.35.0: upgrade it at its provider' });
    assert.equal(versionStatus('v1.28.3', 'connected', matrix('4.3'))[0]?.ok, true);
  });

  it('the newest release has no next one; an unknown version says so', () => {
    assert.deepEqual(versionStatus('v1.34.0', 'platform-provisioned', matrix('4.3'))[1], { release: '', ok: true, message: 'no newer release upgrades from 4.3 in matrix r1' });
    assert.equal(versionStatus(null, null, matrix('4.3'))[0]?.message, 'version not known yet');
  });

  it('ranges and the next release', () => {
    assert.ok(inRange('v1.34.9', '>=1.19.0 <1.35.0'));
    assert.ok(!inRange('1.18.20', '>=1.19.0 <1.35.0'));
    assert.equal(nextRelease('4.1', RELEASES)?.release, '4.2');
    assert.equal(nextRelease('4.2', RELEASES)?.release, '4.3');
    assert.equal(nextRelease('4.0', RELEASES)?.release, '4.1', 'the oldest newer release that upgrades from it');
  });
});
