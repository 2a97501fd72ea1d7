import type { PoolClient } from 'pg';
import type { QueryRunner } from 'typeorm';
import { ABORTED_BY_A_CAUGHT_ERROR, sqlState, TRANSACTION_ABORTED } from '../errors.js';
import { insertOutboxRows, type OutboxRow } from './outbox-store.js';

/**
 * Writes the outbox rows in the transaction `runner` holds on `client`, and commits. The insert
 * runs even with no rows, to find out whether the work caught a database error and went on: the
 * transaction is then aborted, and the commit would quietly roll it back. That case throws
 * `AbortedByCaughtError`. On a pipelined connection the commit is sent behind the insert without
 * waiting for it (one round trip): when the insert fails, PostgreSQL answers the commit by rolling
 * back (TypeORM subscribers are told of a commit all the same; none of Flotilla's listens).
 */
export async function commitWithOutbox(client: PoolClient, runner: QueryRunner, rows: readonly OutboxRow[]): Promise<void> {
  const inserted = insertOutboxRows(client, rows).catch((error: unknown) => {
    throw sqlState(error) === TRANSACTION_ABORTED ? new AbortedByCaughtError(error) : error;
  });
  if (!client.pipeline) {
    await inserted;
    await runner.commitTransaction();
    return;
  }
  const [insert, commit] = await Promise.allSettled([inserted, runner.commitTransaction()]);
  if (insert.status === 'rejected') throw insert.reason;
  if (commit.status === 'rejected') throw commit.reason;
}

/** A handler caught a database error and went on; the transaction was aborted all the same. */
export class AbortedByCaughtError extends Error {
  constructor(cause: unknown) {
    super(ABORTED_BY_A_CAUGHT_ERROR, { cause });
  }
}
