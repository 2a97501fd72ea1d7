import type { PoolClient } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import { claimInbox, unclaimInbox, type InboxClaim, type InboxEntry } from '../inbox/inbox-store.js';
import { sqlState, TRANSACTION_ABORTED } from '../errors.js';
import { AbortedByCaughtError, commitWithOutbox } from '../outbox/commit.js';
import type { OutboxRow } from '../outbox/outbox-store.js';
import { TurnWrites } from './pipelining.js';

/**
 * A consumer's PostgreSQL transaction. Handlers see it as a TypeORM query runner (their
 * EntityManager API); the consumer's own statements (inbox claim, outbox rows) go to the same
 * connection through node-postgres directly, which `QueryRunner.connect()` hands out. Writes are
 * held to one per event-loop turn (`TurnWrites`); on a pipelined connection (the pool's clients
 * made with node-postgres' `pipeline` option) the outbox rows and the commit share one round trip.
 */
export class ConsumerTransaction {
  private constructor(
    readonly runner: QueryRunner,
    /** The runner's connection: the consumer's own statements, and handlers' raw SQL (`handler-manager.ts`). */
    readonly client: PoolClient,
    private readonly writes: TurnWrites,
  ) {}

  /** Takes a connection from the data source's pool and starts a transaction on it. */
  static async begin(dataSource: DataSource): Promise<ConsumerTransaction> {
    const runner = dataSource.createQueryRunner();
    let writes: TurnWrites | undefined;
    try {
      const client = (await runner.connect()) as PoolClient;
      writes = new TurnWrites(client.connection.stream);
      const transaction = new ConsumerTransaction(runner, client, writes);
      // Through the runner, so that handlers' nested transactions become savepoints.
      await runner.startTransaction();
      return transaction;
    } catch (error) {
      writes?.close();
      await runner.release();
      throw error;
    }
  }

  /** Whether statements issued together are sent together (node-postgres' pipeline mode). */
  get pipelined(): boolean {
    return this.client.pipeline;
  }

  /** Claims the events' ids in the inbox (`claimInbox`). */
  claim(consumer: string, entries: readonly InboxEntry[]): Promise<InboxClaim> {
    this.writes.hold();
    return claimInbox(this.client, consumer, entries);
  }

  /**
   * Undoes the claims of events the handler handed back (`unclaimInbox`); a transaction a handler's
   * caught error aborted is found out here, as by the commit (`AbortedByCaughtError`).
   */
  unclaim(consumer: string, eventIds: readonly string[]): Promise<void> {
    this.writes.hold();
    return unclaimInbox(this.client, consumer, eventIds).catch((error: unknown) => {
      throw sqlState(error) === TRANSACTION_ABORTED ? new AbortedByCaughtError(error) : error;
    });
  }

  /**
   * Writes the outbox rows and commits (`commitWithOutbox`): a handler that caught a database
   * error and went on is found out (`AbortedByCaughtError`) instead of its events being acked.
   */
  async commit(rows: readonly OutboxRow[]): Promise<void> {
    this.writes.hold();
    await commitWithOutbox(this.client, this.runner, rows);
  }

  /**
   * Cuts the connection at once: PostgreSQL rolls the transaction back, statements still to come
   * fail, and TypeORM, told of the broken connection, hands it back to the pool to be discarded.
   */
  drop(error: Error): void {
    this.client.connection.stream.destroy(error);
  }

  /**
   * Rolls back what was not committed and gives the connection back: only when PostgreSQL says it
   * is outside any transaction (a handler that committed or released the runner on its own, or a
   * rollback that failed, would hand the next user a transaction half done); else it is cut.
   */
  async end(): Promise<void> {
    try {
      if (this.runner.isTransactionActive) await this.runner.rollbackTransaction().catch(() => undefined);
    } finally {
      this.writes.close();
      const status = this.client.getTransactionStatus();
      if (status !== 'I' && !this.client.connection.stream.destroyed) this.drop(new Error(`the connection ended a consumer transaction in state ${status ?? 'unknown'}`));
      await this.runner.release();
    }
  }
}
