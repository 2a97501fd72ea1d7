/** A consumer transaction ran past `handlerTimeoutMs` (transient: the message is retried). */
export class HandlerTimeoutError extends Error {
  override readonly name = 'HandlerTimeoutError';
  constructor(timeoutMs: number) {
    super(`the handler's transaction took longer than ${timeoutMs} ms and was cut (handlerTimeoutMs)`);
  }
}

/**
 * Runs `work` for at most `timeoutMs`. Past it, `cut` is called (the consumer drops the
 * transaction's connection: PostgreSQL rolls it back, and the work's next statement fails) and the
 * error `blame` makes of the timeout is thrown at once: the caller's slot is free again while the
 * cut work settles whenever it does, with nobody waiting for it.
 */
export async function withinBound<T>(timeoutMs: number, work: () => Promise<T>, cut: (timeout: HandlerTimeoutError) => void, blame: (timeout: HandlerTimeoutError) => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const running = work();
  const bounded = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const timeout = new HandlerTimeoutError(timeoutMs);
      cut(timeout);
      reject(blame(timeout));
    }, timeoutMs);
  });
  running.catch(() => undefined);
  try {
    return await Promise.race([running, bounded]);
  } finally {
    clearTimeout(timer);
  }
}
