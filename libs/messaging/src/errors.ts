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

/**
 * An emitted event bigger than consumers admit (or than the events stream takes): refused at
 * emit, inside the transaction, so it never becomes an outbox row no publish could ever clear.
 * Permanent: the event that caused it is dead-lettered with this reason rather than retried.
 */
export class EventTooLargeError extends PermanentError {
  constructor(
    readonly eventName: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`${eventName} is ${bytes} bytes, over the bus's limit of ${limit} bytes per event: keep large data out of events`, 'event-too-large');
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

/** The SQLSTATE of a database error (TypeORM wraps the driver's), if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown; driverError?: { code?: unknown } } | undefined)?.driverError?.code ?? (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `in_failed_sql_transaction`: a statement sent after an error aborted the transaction. */
export const TRANSACTION_ABORTED = '25P02';

export const ABORTED_BY_A_CAUGHT_ERROR = 'a database error was caught and the work went on, but it had aborted the transaction: nothing of it is kept';
