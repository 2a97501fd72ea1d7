import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareMinors, compareVersions, formatMinor, minorDistance, minorRange, parseKubernetesVersion, parseMinor, shiftMinor } from './version.js';

describe('parseKubernetesVersion', () => {
  const valid: [string, { major: number; minor: number; patch?: number; distributionSuffix?: string; prerelease?: string }][] = [
    ['v1.33.4', { major: 1, minor: 33, patch: 4 }],
    ['1.33.4', { major: 1, minor: 33, patch: 4 }],
    ['v1.33.5-eks-113cf36', { major: 1, minor: 33, patch: 5, distributionSuffix: 'eks-113cf36' }],
    ['1.31.5-gke.1234000', { major: 1, minor: 31, patch: 5, distributionSuffix: 'gke.1234000' }],
    ['v1.30.4+k3s1', { major: 1, minor: 30, patch: 4, distributionSuffix: 'k3s1' }],
    ['v1.31.1+rke2r1', { major: 1, minor: 31, patch: 1, distributionSuffix: 'rke2r1' }],
    ['v1.29.8-aliyun.1', { major: 1, minor: 29, patch: 8, distributionSuffix: 'aliyun.1' }],
    ['v1.28.9-gs.1', { major: 1, minor: 28, patch: 9, distributionSuffix: 'gs.1' }],
    ['1.34', { major: 1, minor: 34 }],
    ['v1.34', { major: 1, minor: 34 }],
    ['1.0.0', { major: 1, minor: 0, patch: 0 }],
    ['v1.35.0-rc.1', { major: 1, minor: 35, patch: 0, prerelease: 'rc.1' }],
    ['v1.34.0-alpha.2+k3s1', { major: 1, minor: 34, patch: 0, prerelease: 'alpha.2', distributionSuffix: 'k3s1' }],
    // A vendor tag that merely starts like a pre-release stays a vendor tag.
    ['v1.30.2-rc-build', { major: 1, minor: 30, patch: 2, distributionSuffix: 'rc-build' }],
  ];
  for (const [raw, expected] of valid) {
    it(`parses ${raw}`, () => {
      const result = parseKubernetesVersion(raw);
      assert.deepEqual(result, { ok: true, version: { ...expected, raw } });
    });
  }

  const garbage: [unknown, RegExp][] = [
    ['', /empty/],
    ['1', /names no minor/],
    ['v1', /names no minor/],
    ['latest', /not a Kubernetes version/],
    ['1.x', /not a Kubernetes version/],
    ['1.33.4.5', /not a Kubernetes version/],
    ['V1.33.4', /lower-case "v"/],
    ['01.33.4', /leading zeros/],
    ['1.033', /leading zeros/],
    [' 1.33.4', /whitespace/],
    ['1.33.4\n', /whitespace/],
    ['1.33.4-', /suffix after the patch is malformed/],
    ['1.33.4-eks-', /suffix after the patch is malformed/],
    ['1.33-eks', /needs a full MAJOR.MINOR.PATCH/],
    ['1.9999999', /out of range/],
    ['vv1.33.4', /not a Kubernetes version/],
    ['1..33', /not a Kubernetes version/],
    ['x'.repeat(500), /longer than/],
    [133, /got number/],
    [null, /got null/],
    [undefined, /got undefined/],
    [{ major: 1, minor: 33 }, /got object/],
    [['1.33'], /got array/],
  ];
  for (const [input, message] of garbage) {
    it(`rejects ${JSON.stringify(input)?.slice(0, 40) ?? String(input)} without throwing`, () => {
      const result = parseKubernetesVersion(input);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.code, 'version-invalid');
      assert.match(result.reason, message);
    });
  }
});

describe('minor arithmetic', () => {
  const m = (text: string) => parseMinor(text)!;

  it('parses and formats minors, and only minors', () => {
    assert.deepEqual(parseMinor('1.34'), { major: 1, minor: 34 });
    assert.equal(formatMinor({ major: 1, minor: 9 }), '1.9');
    for (const bad of ['1.34.0', 'v1.34', '1', '1.034', '']) assert.equal(parseMinor(bad), undefined, bad);
  });

  it('orders minors numerically, not as text', () => {
    assert.ok(compareMinors(m('1.9'), m('1.10')) < 0);
    assert.ok(compareMinors(m('2.0'), m('1.99')) > 0);
    assert.equal(compareMinors(m('1.30'), m('1.30')), 0);
  });

  it('orders full versions, a bare minor as its .0', () => {
    const v = (s: string) => {
      const r = parseKubernetesVersion(s);
      assert.ok(r.ok);
      return r.version;
    };
    assert.ok(compareVersions(v('v1.30.10'), v('1.30.9')) > 0);
    assert.equal(compareVersions(v('1.30'), v('1.30.0')), 0);
  });

  it('measures distances only within a major', () => {
    assert.equal(minorDistance(m('1.29'), m('1.31')), 2);
    assert.equal(minorDistance(m('1.31'), m('1.29')), -2);
    assert.equal(minorDistance(m('1.31'), m('2.0')), undefined);
  });

  it('shifts and enumerates minors', () => {
    assert.deepEqual(shiftMinor(m('1.30'), 1), m('1.31'));
    assert.deepEqual(shiftMinor(m('1.30'), -3), m('1.27'));
    assert.equal(shiftMinor(m('1.1'), -2), undefined);
    assert.deepEqual(minorRange(m('1.29'), m('1.31')), ['1.29', '1.30', '1.31']);
    assert.deepEqual(minorRange(m('1.31'), m('1.31')), ['1.31']);
    assert.deepEqual(minorRange(m('1.31'), m('1.29')), []);
    assert.deepEqual(minorRange(m('1.31'), m('2.1')), []);
  });
});
