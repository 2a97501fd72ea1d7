import type { ClientBase, QueryResult as PgResult } from 'pg';
import {
  EntityManager,
  NamedPlaceholdersNotSupportedError,
  QueryFailedError,
  QueryResult,
  QueryRunnerProviderAlreadyReleasedError,
  type DataSource,
  type QueryRunner,
} from 'typeorm';
import { PermanentError } from '../errors.js';

/** The query runner methods that start, end or give back a transaction. */
const TRANSACTION_CONTROL = new Set<PropertyKey>(['startTransaction', 'commitTransaction', 'rollbackTransaction', 'release']);

/**
 * The entity manager handlers get inside a consumer transaction. The transaction is the
 * consumer's: its inbox claims and outbox rows commit with the handlers' work, so a handler that
 * committed, rolled back or released it through `manager.queryRunner` would ack events whose work
 * is lost, or commit others' work half done. Those calls are refused with a PermanentError (a
 * handler that makes them can never succeed), and `onRefused` is told even if the handler catches
 * it. A sequential handler may still nest transactions (`manager.transaction`): their savepoints
 * pass; handlers side by side (`shared`) may not, their savepoints would interleave.
 */
export function handlerManager(dataSource: DataSource, runner: QueryRunner, client: ClientBase, shared: boolean, onRefused: (error: Error) => void): EntityManager {
  const own: { manager?: EntityManager } = {};
  // Nested transactions opened through this manager and not ended yet (savepoints above the consumer's).
  let nested = 0;
  const guarded = new Proxy(runner, {
    get(target, property, receiver) {
      // `manager.transaction()` hands its callback `queryRunner.manager`: the guarded one.
      if (property === 'manager') return own.manager;
      const value: unknown = Reflect.get(target, property, receiver);
      if (!TRANSACTION_CONTROL.has(property) || typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        // A savepoint: a nested transaction starting, or one above the consumer's ending.
        const starting = property === 'startTransaction';
        const savepoint = starting ? target.isTransactionActive : property !== 'release' && nested > 0;
        if (savepoint && !shared) {
          return (value as (...a: unknown[]) => Promise<unknown>).apply(receiver, args).then((answer) => {
            nested += starting ? 1 : -1;
            return answer;
          });
        }
        const error = new PermanentError(
          shared
            ? `a handler with concurrency 'by-subject' cannot ${String(property)} (manager.queryRunner): the transaction is the consumer's, shared with other handlers`
            : `a handler cannot ${String(property)} the consumer's transaction (manager.queryRunner): the consumer commits it with the inbox and outbox; use manager.transaction() for a nested one`,
          'transaction-control',
        );
        onRefused(error);
        return Promise.reject(error);
      };
    },
  });
  const direct = plainQueries(dataSource) ? client : undefined;
  own.manager = shared ? new SharedTransactionManager(dataSource, guarded, direct, onRefused) : new HandlerManager(dataSource, guarded, direct);
  return own.manager;
}

/**
 * Whether TypeORM's PostgreSQL query path would do nothing beyond running the statement: no subscriber
 * to tell (`beforeQuery`, `afterQuery`), no logger or query logging, no slow-query threshold.
 */
function plainQueries(dataSource: DataSource): boolean {
  const { type, logging, logger, maxQueryExecutionTime } = dataSource.options;
  // PostgreSQL's runner only (CockroachDB's records statements to retry its transactions).
  return type === 'postgres' && dataSource.subscribers.length === 0 && !logging && logger === undefined && !maxQueryExecutionTime;
}

/**
 * A handler's entity manager. `query()`, the raw SQL most handlers run, goes straight to the
 * transaction's node-postgres client when TypeORM's path would add nothing (`plainQueries`):
 * that path costs about ten promises and as many proxied property reads per statement, which
 * handlers running side by side pay on every event. Same answers and errors as TypeORM's (rows;
 * `[rows, rowCount]` for UPDATE and DELETE; `QueryFailedError`). Everything else (repositories,
 * query builders, nested transactions) goes through TypeORM as before.
 */
class HandlerManager extends EntityManager {
  constructor(
    dataSource: DataSource,
    runner: QueryRunner,
    private readonly direct: ClientBase | undefined,
  ) {
    super(dataSource, runner);
  }

  // `any` as TypeORM's own signature has it.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override async query<T = any>(query: string, parameters?: any[]): Promise<T> {
    if (this.direct === undefined) return super.query<T>(query, parameters);
    if (this.queryRunner?.isReleased) throw new QueryRunnerProviderAlreadyReleasedError();
    if (parameters && !Array.isArray(parameters)) throw new NamedPlaceholdersNotSupportedError();
    let raw: PgResult;
    try {
      raw = await this.direct.query(query, parameters);
    } catch (error) {
      throw new QueryFailedError(query, parameters, error as Error);
    }
    return typeormRawResult(raw) as T;
  }
}

/** What TypeORM's PostgreSQL query runner answers `query()` with. */
function typeormRawResult(raw: PgResult | undefined): unknown {
  if (!raw) return new QueryResult();
  return raw.command === 'UPDATE' || raw.command === 'DELETE' ? [raw.rows, raw.rowCount] : raw.rows;
}

/**
 * The entity manager of handlers sharing one transaction. A nested transaction's savepoints would
 * interleave with the others' (rolling one back would undo theirs), so it is refused; the first
 * refusal fails the batch, which is then retried event by event, where nested transactions work.
 */
class SharedTransactionManager extends HandlerManager {
  constructor(
    dataSource: DataSource,
    runner: QueryRunner,
    direct: ClientBase | undefined,
    private readonly onRefused: (error: Error) => void,
  ) {
    super(dataSource, runner, direct);
  }

  override transaction(): Promise<never> {
    const error = new Error(`a handler with concurrency 'by-subject' cannot open a nested transaction (manager.transaction): nested transactions are for sequential handlers`);
    this.onRefused(error);
    return Promise.reject(error);
  }
}
