import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestException } from '@nestjs/common';
import { parseSupportMatrix, SUPPORT_MATRIX_DOCUMENT } from '@flotilla/contracts';
import { SHIPPED_POLICY, type PolicySnapshot } from '@flotilla/service-kit';
import { creationProblems, refuseByPolicy, upgradeStepProblems } from './policy-admission.js';

const on = (release: string, policy: PolicySnapshot = SHIPPED_POLICY): PolicySnapshot => ({ ...policy, release, releaseSource: 'bucket' });

/** A revision in which 4.3 creates clusters on 1.33 only. */
function revised(): PolicySnapshot {
  const doc = structuredClone(SUPPORT_MATRIX_DOCUMENT);
  doc.revision = 'test-r2';
  doc.releases[0]!.creation = ['1.33'];
  const parsed = parseSupportMatrix(doc);
  assert.ok(parsed.ok);
  return { ...SHIPPED_POLICY, matrix: parsed.matrix, matrixSource: 'bucket', matrixSequence: 2 };
}

describe('inventory admission by the policy in force', () => {
  const creation: [string, PolicySnapshot, string, string | null][] = [
    ['4.3 creates 1.34', on('4.3'), 'v1.34.1', null],
    ['4.3 does not create 1.33', on('4.3'), '1.33', 'creation-unsupported'],
    ['4.2 creates 1.33', on('4.2'), '1.33', null],
    ['4.0 creates 1.28', on('4.0'), 'v1.28.5', null],
    ['a pre-release is refused', on('4.3'), 'v1.34.0-rc.1', 'version-prerelease'],
    ['a new revision decides: 4.3 now creates 1.33', on('4.3', revised()), '1.33', null],
    ['a new revision decides: 4.3 no longer creates 1.34', on('4.3', revised()), '1.34', 'creation-unsupported'],
  ];
  for (const [name, policy, version, code] of creation) {
    it(`creation: ${name}`, () => {
      const problems = creationProblems(version, policy);
      assert.deepEqual(
        problems.map((p) => p.code),
        code ? [code] : [],
      );
      for (const problem of problems) {
        assert.equal(problem.field, 'kubernetesVersion');
        assert.equal(problem.policyRevision, policy.matrix.revision);
        assert.equal(problem.release, policy.release);
      }
    });
  }

  it('creation: the refusal says where the fact comes from', () => {
    const [problem] = creationProblems('1.33', on('4.3'));
    assert.deepEqual(problem?.provenance, { fact: 'creation', provenance: 'documented' });
    assert.match(problem?.message ?? '', /1\.34/);
  });

  const steps: [string, PolicySnapshot, string, string, string[]][] = [
    ['one minor up, compatible', on('4.3'), 'v1.33.2', '1.34', []],
    ['a patch step', on('4.3'), 'v1.33.2', 'v1.33.5', []],
    ['skips a minor', on('4.3'), 'v1.32.0', '1.34', ['control-plane-skips-minor']],
    ['goes back', on('4.3'), 'v1.33.0', '1.32', ['control-plane-downgrade']],
    ['leaves the compatible versions of the release', on('4.2'), 'v1.33.1', '1.34', ['incompatible']],
    ['skips a minor and leaves the compatible versions', on('4.0'), 'v1.30.1', '1.32', ['control-plane-skips-minor', 'incompatible']],
  ];
  for (const [name, policy, from, to, codes] of steps) {
    it(`upgrade step: ${name}`, () => {
      const problems = upgradeStepProblems(from, to, policy);
      assert.deepEqual(
        problems.map((p) => p.code),
        codes,
      );
      assert.ok(problems.every((p) => p.field === 'toVersion' && p.policyRevision === policy.matrix.revision));
    });
  }

  it('upgrade step: an incompatible target names the provenance of the compatible minors', () => {
    const [problem] = upgradeStepProblems('v1.33.1', '1.34', on('4.2'));
    assert.deepEqual(problem?.provenance, { fact: 'compatible', provenance: 'documented' });
  });

  it('refuses with a 400 in the shape of every other one, naming the field and the rule', () => {
    assert.doesNotThrow(() => refuseByPolicy([]));
    try {
      refuseByPolicy(creationProblems('1.33', on('4.3')));
      assert.fail('expected a 400');
    } catch (error) {
      assert.ok(error instanceof BadRequestException);
      const body = error.getResponse() as { statusCode: number; message: string[]; errors: { field: string; code: string }[] };
      assert.equal(body.statusCode, 400);
      assert.deepEqual(
        body.errors.map((e) => [e.field, e.code]),
        [['kubernetesVersion', 'creation-unsupported']],
      );
      assert.ok(body.message[0]?.startsWith('kubernetesVersion: '));
      assert.ok(body.message[0]?.endsWith(`(creation-unsupported, support matrix ${SUPPORT_MATRIX_DOCUMENT.revision}, release 4.3)`), body.message[0]);
    }
  });
});
