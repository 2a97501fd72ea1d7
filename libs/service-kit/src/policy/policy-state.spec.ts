import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeSupportMatrix, SUPPORT_MATRIX_BUCKET_KEYS, SUPPORT_MATRIX_DOCUMENT, type SupportMatrixDocument } from '@flotilla/contracts';
import { applyPolicyEntry, RETIRED_PLATFORM_RELEASE, SHIPPED_PLATFORM_RELEASE, SHIPPED_POLICY, type PolicyEntry, type PolicySnapshot } from './policy-state.js';

const KEYS = SUPPORT_MATRIX_BUCKET_KEYS;
let sequence = 0;
const at = '2026-01-01T00:00:00.000Z';
const put = (key: string, text: string): PolicyEntry => ({ key, sequence: ++sequence, publishedAt: at, operation: 'put', text });
const del = (key: string): PolicyEntry => ({ key, sequence: ++sequence, publishedAt: at, operation: 'delete', text: '' });

function revision(name: string, change: (doc: SupportMatrixDocument) => void = () => undefined): string {
  const doc = structuredClone(SUPPORT_MATRIX_DOCUMENT);
  doc.revision = name;
  change(doc);
  return serializeSupportMatrix(doc);
}

function fold(entries: PolicyEntry[]): { snapshot: PolicySnapshot; rejected: string[] } {
  let snapshot = SHIPPED_POLICY;
  const rejected: string[] = [];
  for (const entry of entries) {
    const result = applyPolicyEntry(snapshot, entry, KEYS);
    snapshot = result.snapshot;
    if (result.rejected) rejected.push(`${result.rejected.key}#${result.rejected.sequence}: ${result.rejected.problems.map((p) => `${p.code} ${p.field}`).join(', ')}`);
  }
  return { snapshot, rejected };
}

describe('the policy in force, folded from the support-matrix bucket', () => {
  it('an empty bucket: the shipped matrix and the newest shipped release, and it says so', () => {
    const { snapshot } = fold([]);
    assert.equal(snapshot.matrix.revision, SUPPORT_MATRIX_DOCUMENT.revision);
    assert.deepEqual([snapshot.matrixSource, snapshot.releaseSource, snapshot.release], ['shipped', 'shipped', SHIPPED_PLATFORM_RELEASE]);
    assert.equal(SHIPPED_PLATFORM_RELEASE, '4.3');
  });

  const table: { name: string; entries: () => PolicyEntry[]; revision: string; release: string; sources: [string, string]; rejected: RegExp[] }[] = [
    { name: 'a revision and a release', entries: () => [put(KEYS.matrix, revision('r-2')), put(KEYS.platformRelease, '{"release":"4.2"}')], revision: 'r-2', release: '4.2', sources: ['bucket', 'bucket'], rejected: [] },
    { name: 'the newest of several revisions', entries: () => [put(KEYS.matrix, revision('r-2')), put(KEYS.matrix, revision('r-3'))], revision: 'r-3', release: '4.3', sources: ['bucket', 'shipped'], rejected: [] },
    {
      name: 'a revision that is not JSON is refused; the last good one stays',
      entries: () => [put(KEYS.matrix, revision('r-2')), put(KEYS.matrix, '{"apiVersion": ')],
      revision: 'r-2',
      release: '4.3',
      sources: ['bucket', 'shipped'],
      rejected: [/^matrix#\d+: json-invalid \(root\)$/],
    },
    {
      name: 'a different document under the revision in force is refused',
      entries: () => [put(KEYS.matrix, revision('r-2')), put(KEYS.matrix, revision('r-2', (doc) => (doc.releases[0]!.creation = ['1.33'])))],
      revision: 'r-2',
      release: '4.3',
      sources: ['bucket', 'shipped'],
      rejected: [/revision-unchanged revision/],
    },
    {
      name: 'an invalid document is refused naming the field',
      entries: () => [put(KEYS.matrix, revision('r-2', (doc) => (doc.releases[0]!.compatible = ['1.34', '1.32'])))],
      revision: SUPPORT_MATRIX_DOCUMENT.revision,
      release: '4.3',
      sources: ['shipped', 'shipped'],
      rejected: [/minors-gapped releases\.0\.compatible\.1/],
    },
    {
      name: 'a release that is not major.minor is refused; the last good one stays',
      entries: () => [put(KEYS.platformRelease, '{"release":"4.1"}'), put(KEYS.platformRelease, '{"release":"latest"}'), put(KEYS.platformRelease, 'nope')],
      revision: SUPPORT_MATRIX_DOCUMENT.revision,
      release: '4.1',
      sources: ['shipped', 'bucket'],
      rejected: [/schema-invalid release/, /json-invalid/],
    },
    {
      name: 'deleted keys bring back the shipped values',
      entries: () => [put(KEYS.matrix, revision('r-2')), put(KEYS.platformRelease, '{"release":"4.0"}'), del(KEYS.matrix), del(KEYS.platformRelease)],
      revision: SUPPORT_MATRIX_DOCUMENT.revision,
      release: '4.3',
      sources: ['shipped', 'shipped'],
      rejected: [],
    },
    { name: 'other keys are ignored', entries: () => [put('notes', 'anything')], revision: SUPPORT_MATRIX_DOCUMENT.revision, release: '4.3', sources: ['shipped', 'shipped'], rejected: [] },
  ];
  for (const row of table) {
    it(row.name, () => {
      const { snapshot, rejected } = fold(row.entries());
      assert.deepEqual([snapshot.matrix.revision, snapshot.release, snapshot.matrixSource, snapshot.releaseSource], [row.revision, row.release, ...row.sources]);
      assert.equal(rejected.length, row.rejected.length, rejected.join('\n'));
      row.rejected.forEach((pattern, index) => assert.match(rejected[index]!, pattern));
    });
  }

  it('records the bucket sequence and time of what is in force', () => {
    const matrix = put(KEYS.matrix, revision('r-9'));
    const release = put(KEYS.platformRelease, '{"release":"4.2"}');
    const { snapshot } = fold([matrix, release]);
    assert.deepEqual([snapshot.matrixSequence, snapshot.matrixPublishedAt, snapshot.releaseSequence], [matrix.sequence, at, release.sequence]);
  });

  it('a service that still sets PLATFORM_RELEASE is told where the release comes from now', () => {
    assert.equal(RETIRED_PLATFORM_RELEASE.safeParse(undefined).success, true);
    const set = RETIRED_PLATFORM_RELEASE.safeParse('4.3');
    assert.equal(set.success, false);
    assert.match(set.error?.issues[0]?.message ?? '', /support-matrix bucket.*platform-release/);
  });
});
