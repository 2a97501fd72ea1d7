import { parseSupportMatrix, serializeSupportMatrix, type MatrixIssueCode, type SupportMatrix } from '@flotilla/contracts';

/** Where the revision in force came from. */
export type MatrixSource = 'shipped' | 'bucket';

export interface MatrixInForce {
  matrix: SupportMatrix;
  source: MatrixSource;
  /** Stream sequence of the bucket entry; 0 for the shipped document. */
  sequence: number;
  /** When the bucket stored it (server time); null for the shipped document. Orders revisions across replicas. */
  publishedAt: string | null;
}

export type MatrixProblemCode = MatrixIssueCode | 'json-invalid' | 'revision-unchanged';

export interface MatrixProblem {
  code: MatrixProblemCode;
  /** Dotted path of the field, `(root)` for the document. */
  field: string;
  message: string;
}

export type MatrixVerdict =
  | { ok: true; matrix: SupportMatrix; unchanged: boolean }
  | { ok: false; problems: MatrixProblem[]; reason: string };

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
