import type { QueryRunner } from 'typeorm';
import { override } from './overrides.js';

/** What this needs of node-postgres' client; `pipeline` is its documented client option. */
interface PgClient {
  pipeline: boolean;
  connection?: { stream?: { cork?: () => void; uncork?: () => void; destroy?: (error: Error) => void } };
}

export interface PipeliningOptions {
  /** How long statements left running by `work` get to be answered before the connection is dropped. */
  settleTimeoutMs?: number;
}

/**
 * Runs `work` (a whole transaction) with the runner's PostgreSQL connection pipelined: statements
 * issued while others are still running are sent at once instead of one round trip each (pg's
 * pipeline mode), and the socket is held until the end of the event-loop turn, so that statements
 * issued in one turn leave in one write. Each write to a socket is a system call, the dearest part
 * of a short statement; handlers running side by side (`concurrency: 'by-subject'`) thus share
 * writes. Statements still run in the order they were issued, and when one fails the ones behind
 * it in the same transaction fail too, as they would have one by one.
 *
 * pg refuses cursors and query streams in pipeline mode. Before the connection goes back to its
 * one-at-a-time mode, every statement issued through the runner must have been answered (pg
 * would otherwise hand a late answer to the next statement): ones `work` left running are waited
 * for, and a connection that still owes answers after that is dropped, never pooled. A statement
 * issued once `work` has settled (by code that was not awaited) is refused: it would run outside
 * the transaction.
 */
export async function withPipelinedConnection<T>(runner: QueryRunner, work: () => Promise<T>, { settleTimeoutMs = 10_000 }: PipeliningOptions = {}): Promise<T> {
  await runner.connect();
  const client = (runner as unknown as { databaseConnection?: PgClient }).databaseConnection;
  const stream = client?.connection?.stream;
  if (!client || typeof stream?.cork !== 'function' || typeof stream.uncork !== 'function') return work();
  const cork = stream.cork.bind(stream);
  const uncork = stream.uncork.bind(stream);

  const query = runner.query.bind(runner);
  const running = new Set<Promise<unknown>>();
  let ended = false;
  let corked = false;
  const flush = (): void => {
    if (!corked) return;
    corked = false;
    uncork();
  };
  const issue = (...args: Parameters<QueryRunner['query']>): Promise<unknown> => {
    if (ended) return Promise.reject(new Error('a statement was issued after its transaction ended (by code that was not awaited); it is refused'));
    if (!corked) {
      corked = true;
      cork();
      // After every promise continuation of this turn: their statements join this write.
      setImmediate(flush);
    }
    const statement = query(...args);
    running.add(statement);
    const settled = (): void => void running.delete(statement);
    void statement.then(settled, settled);
    return statement;
  };
  const restore = override(runner, { query: issue as QueryRunner['query'] });
  client.pipeline = true;
  try {
    return await work();
  } finally {
    ended = true;
    // A flush may still be due: leave the socket as it was found.
    flush();
    if (running.size > 0 && !(await settleWithin(running, settleTimeoutMs))) {
      const error = new Error('statements on a pipelined connection were left unanswered; the connection is dropped');
      stream.destroy?.(error);
      // Given back with an error, the pool discards it instead of lending it again.
      await (runner as unknown as { releasePostgresConnection?: (error: Error) => Promise<void> }).releasePostgresConnection?.(error);
    }
    client.pipeline = false;
    restore();
  }
}

async function settleWithin(statements: Set<Promise<unknown>>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([Promise.allSettled(statements).then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
