import type { SupportMatrix } from '@flotilla/contracts';

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

// One rule for every service: the shared reader of the policy in force folds bucket entries with it too.
export { judgeMatrixDocument, judgeMatrixText, type MatrixProblem, type MatrixProblemCode, type MatrixVerdict } from '@flotilla/service-kit';
