import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSupportMatrix, SUPPORT_MATRIX_DOCUMENT } from '@flotilla/contracts';
import { judgeMatrixDocument, judgeMatrixText } from './support-matrix-revision.js';

const copy = () => structuredClone(SUPPORT_MATRIX_DOCUMENT);

describe('judging a support-matrix revision', () => {
  it('a valid document with a new revision replaces the one in force', () => {
    const next = { ...copy(), revision: 'next' };
    const verdict = judgeMatrixDocument(defaultSupportMatrix, next);
    assert.ok(verdict.ok);
    assert.equal(verdict.unchanged, false);
    assert.equal(verdict.matrix.revision, 'next');
  });

  it('the document in force again is accepted as unchanged', () => {
    const verdict = judgeMatrixDocument(defaultSupportMatrix, copy());
    assert.ok(verdict.ok);
    assert.equal(verdict.unchanged, true);
    assert.equal(verdict.matrix, defaultSupportMatrix);
  });

  it('different facts under the same revision are refused: decisions would record an ambiguous revision', () => {
    const document = copy();
    document.releases[0]!.notes = ['edited without a new revision'];
    const verdict = judgeMatrixDocument(defaultSupportMatrix, document);
    assert.ok(!verdict.ok);
    assert.deepEqual(verdict.problems.map((p) => [p.code, p.field]), [['revision-unchanged', 'revision']]);
  });

  it('names every problem of a bad document', () => {
    const document = copy() as unknown as { revision: string; releases: Record<string, unknown>[] };
    document.revision = 'broken';
    document.releases[0]!['compatible'] = ['1.34', '1.32'];
    document.releases[1]!['thirdParty'] = { range: '1.19 to 1.34', validated: [] };
    const verdict = judgeMatrixDocument(defaultSupportMatrix, document);
    assert.ok(!verdict.ok);
    assert.deepEqual(verdict.problems.map((p) => [p.code, p.field]).sort(), [
      ['minors-gapped', 'releases.0.compatible.1'],
      ['range-malformed', 'releases.1.thirdParty.range'],
    ]);
    assert.match(verdict.reason, /releases\.0\.compatible\.1: .*releases\.1\.thirdParty\.range: /);
  });

  it('bytes that are not JSON are refused, naming the document', () => {
    const verdict = judgeMatrixText(defaultSupportMatrix, '{"apiVersion": ');
    assert.ok(!verdict.ok);
    assert.deepEqual(verdict.problems.map((p) => [p.code, p.field]), [['json-invalid', '(root)']]);
  });
});
