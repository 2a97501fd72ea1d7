import { defaultSupportMatrix, parseSupportMatrix, serializeSupportMatrix, type MatrixIssueCode, type SupportMatrix } from '@flotilla/contracts';
import { z } from 'zod';

/** Where a part of the policy in force came from: the bucket, or what ships with the code. */
export type PolicySource = 'shipped' | 'bucket';

export type MatrixProblemCode = MatrixIssueCode | 'json-invalid' | 'revision-unchanged';

export interface MatrixProblem {
  code: MatrixProblemCode;
  /** Dotted path of the field, `(root)` for the document. */
  field: string;
  message: string;
}

export type MatrixVerdict = { ok: true; matrix: SupportMatrix; unchanged: boolean } | { ok: false; problems: MatrixProblem[]; reason: string };

/**
 * Decides whether a document may replace the revision in force: it must parse, and a document
 * that differs from the one in force must carry a new `revision` (every decision records the
 * revision, so two different documents under one name would make those records meaningless).
 */
export function judgeMatrixDocument(current: SupportMatrix, json: unknown): MatrixVerdict {
  const parsed = parseSupportMatrix(json);
  if (!parsed.ok) return refused(parsed.issues.map((issue) => ({ code: issue.code, field: issue.path, message: issue.message })));
  const same = serializeSupportMatrix(parsed.matrix.document) === serializeSupportMatrix(current.document);
  if (same) return { ok: true, matrix: current, unchanged: true };
  if (parsed.matrix.revision === current.revision) {
    return refused([
      {
        code: 'revision-unchanged',
        field: 'revision',
        message: `the document differs from revision "${current.revision}" in force but keeps its revision: give it a new one`,
      },
    ]);
  }
  return { ok: true, matrix: parsed.matrix, unchanged: false };
}

/** The same, for bytes from the bucket or a file: JSON first. */
export function judgeMatrixText(current: SupportMatrix, text: string): MatrixVerdict {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return refused([{ code: 'json-invalid', field: '(root)', message: `not JSON: ${(error as Error).message}` }]);
  }
  return judgeMatrixDocument(current, json);
}

function refused(problems: MatrixProblem[]): MatrixVerdict {
  return { ok: false, problems, reason: `support matrix refused: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}` };
}

/** The value under the bucket's `platform-release` key. */
export const PlatformReleaseEntry = z.object({
  release: z.string().regex(/^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/, 'must be a platform release like 4.3'),
});
export type PlatformReleaseEntry = z.infer<typeof PlatformReleaseEntry>;

/**
 * For the services that used to read their own PLATFORM_RELEASE: set, it stops start-up with a
 * configuration error naming the variable and where the release comes from now.
 */
export const RETIRED_PLATFORM_RELEASE = z
  .undefined({
    error:
      'is no longer read: the platform release comes from the support-matrix bucket (PUT /api/v1/support-matrix/platform-release on the upgrade planner, first seeded from its PLATFORM_RELEASE); unset it here',
  })
  .optional();

/** The release the global cluster runs when the bucket names none: the newest the shipped matrix knows. */
export const SHIPPED_PLATFORM_RELEASE: string = defaultSupportMatrix.document.releases[0]!.release;

/**
 * What every service judges against: the support-matrix revision and the platform release of the
 * global cluster, each with where it came from (the bucket's sequence; 0 for the shipped values).
 */
export interface PolicySnapshot {
  readonly matrix: SupportMatrix;
  readonly matrixSource: PolicySource;
  readonly matrixSequence: number;
  /** When the bucket stored the matrix in force (server time); null for the shipped document. */
  readonly matrixPublishedAt: string | null;
  readonly release: string;
  readonly releaseSource: PolicySource;
  readonly releaseSequence: number;
}

/** One entry of the bucket, as stored. */
export interface PolicyEntry {
  key: string;
  sequence: number;
  publishedAt: string;
  operation: 'put' | 'delete';
  text: string;
}

/** An entry the rules refused: the policy in force did not change. */
export interface RejectedPolicyEntry {
  key: string;
  sequence: number;
  publishedAt: string;
  problems: MatrixProblem[];
}

export const SHIPPED_POLICY: PolicySnapshot = {
  matrix: defaultSupportMatrix,
  matrixSource: 'shipped',
  matrixSequence: 0,
  matrixPublishedAt: null,
  release: SHIPPED_PLATFORM_RELEASE,
  releaseSource: 'shipped',
  releaseSequence: 0,
};

export type PolicyFold = { snapshot: PolicySnapshot; rejected?: RejectedPolicyEntry };

/**
 * Applies one bucket entry, in sequence order. Every service (and every replica) folds the same
 * entries with this one function, so they agree on the policy in force: a bad matrix or release
 * is refused and the last good one stays; a deleted key brings back the shipped value.
 */
export function applyPolicyEntry(snapshot: PolicySnapshot, entry: PolicyEntry, keys: { matrix: string; platformRelease: string }): PolicyFold {
  if (entry.key === keys.matrix) {
    if (entry.operation === 'delete') return { snapshot: { ...snapshot, matrix: defaultSupportMatrix, matrixSource: 'shipped', matrixSequence: entry.sequence, matrixPublishedAt: entry.publishedAt } };
    const verdict = judgeMatrixText(snapshot.matrix, entry.text);
    if (!verdict.ok) return { snapshot, rejected: { key: entry.key, sequence: entry.sequence, publishedAt: entry.publishedAt, problems: verdict.problems } };
    if (verdict.unchanged) return { snapshot };
    return { snapshot: { ...snapshot, matrix: verdict.matrix, matrixSource: 'bucket', matrixSequence: entry.sequence, matrixPublishedAt: entry.publishedAt } };
  }
  if (entry.key === keys.platformRelease) {
    if (entry.operation === 'delete') return { snapshot: { ...snapshot, release: SHIPPED_PLATFORM_RELEASE, releaseSource: 'shipped', releaseSequence: entry.sequence } };
    const release = readRelease(entry.text);
    if (!release.ok) return { snapshot, rejected: { key: entry.key, sequence: entry.sequence, publishedAt: entry.publishedAt, problems: [release.problem] } };
    return { snapshot: { ...snapshot, release: release.release, releaseSource: 'bucket', releaseSequence: entry.sequence } };
  }
  return { snapshot };
}

function readRelease(text: string): { ok: true; release: string } | { ok: false; problem: MatrixProblem } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: { code: 'json-invalid', field: '(root)', message: `not JSON: ${(error as Error).message}` } };
  }
  const parsed = PlatformReleaseEntry.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, problem: { code: 'schema-invalid', field: issue.path.map(String).join('.') || '(root)', message: issue.message } };
  }
  return { ok: true, release: parsed.data.release };
}
