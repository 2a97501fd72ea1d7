import type { QueryRunner } from 'typeorm';

/** A consumer transaction ran past `handlerTimeoutMs` (transient: the message is retried). */
export class HandlerTimeoutError extends Error {
  override readonly name = 'HandlerTimeoutError';
  constructor(timeoutMs: number) {
    super(`the handler's transaction took longer than ${timeoutMs} ms and was cut (handlerTimeoutMs)`);
  }
}

/**
 * Runs `work` on `runner`'s transaction for at most `timeoutMs`. Past it, the connection is
 * dropped (PostgreSQL rolls the transaction back, and the work's next statement fails) and the
 * error `blame` makes of the timeout is thrown at once: the caller's slot is free again while
 * the cut work settles whenever it does, with nobody waiting for it.
 */
export async function withinBound<T>(runner: QueryRunner, timeoutMs: number, work: () => Promise<T>, blame: (timeout: HandlerTimeoutError) => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const running = work();
  const cut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const timeout = new HandlerTimeoutError(timeoutMs);
      // Given back with an error, the pool closes the connection instead of lending it again.
      void (runner as unknown as { releasePostgresConnection(error: Error): Promise<void> }).releasePostgresConnection(timeout);
      reject(blame(timeout));
    }, timeoutMs);
  });
  running.catch(() => undefined);
  try {
    return await Promise.race([running, cut]);
  } finally {
    clearTimeout(timer);
  }
}
