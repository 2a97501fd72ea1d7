/**
 * Thrown by a handler for an event that can never succeed (it contradicts state, refers to
 * something that cannot exist...). The event is dead-lettered at once instead of retried.
 * Any other error is treated as transient and retried with backoff.
 */
export class PermanentError extends Error {
  override readonly name = 'PermanentError';
  constructor(
    message: string,
    readonly code = 'handler-rejected',
  ) {
    super(message);
  }
}

export function isPermanent(error: unknown): error is PermanentError {
  return error instanceof PermanentError || (error instanceof Error && error.name === 'PermanentError');
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
