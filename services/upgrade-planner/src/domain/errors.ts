/** Failures of the planner a caller can see, each with a stable code. */
export type PlannerErrorCode = 'plan-not-found' | 'revision-not-found' | 'revision-pruned' | 'matrix-behind' | 'plan-impossible';

export class PlannerError extends Error {
  override readonly name = 'PlannerError';
  constructor(
    readonly code: PlannerErrorCode,
    message: string,
    /** The request field to blame, with the policy's code for why (plan-impossible). */
    readonly problem?: { readonly field: string; readonly code: string },
  ) {
    super(message);
  }
}

/** HTTP status of each failure. */
export function httpStatusOf(code: PlannerErrorCode): number {
  switch (code) {
    case 'plan-impossible':
      // Unknown release, a downgrade, no supported path: never stored as a plan.
      return 400;
    case 'plan-not-found':
    case 'revision-not-found':
      return 404;
    case 'revision-pruned':
      // It existed; only its summary and changes are kept.
      return 410;
    case 'matrix-behind':
      // This replica has not yet received the matrix revision the plan already uses; it will.
      return 503;
  }
}
