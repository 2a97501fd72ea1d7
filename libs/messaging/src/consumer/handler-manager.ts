import { EntityManager, type DataSource, type QueryRunner } from 'typeorm';
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
export function handlerManager(dataSource: DataSource, runner: QueryRunner, shared: boolean, onRefused: (error: Error) => void): EntityManager {
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
  own.manager = shared ? new SharedTransactionManager(dataSource, guarded, onRefused) : dataSource.createEntityManager(guarded);
  return own.manager;
}

/**
 * The entity manager of handlers sharing one transaction. A nested transaction's savepoints would
 * interleave with the others' (rolling one back would undo theirs), so it is refused; the first
 * refusal fails the batch, which is then retried event by event, where nested transactions work.
 */
class SharedTransactionManager extends EntityManager {
  constructor(
    dataSource: DataSource,
    runner: QueryRunner,
    private readonly onRefused: (error: Error) => void,
  ) {
    super(dataSource, runner);
  }

  override transaction(): Promise<never> {
    const error = new Error(`a handler with concurrency 'by-subject' cannot open a nested transaction (manager.transaction): nested transactions are for sequential handlers`);
    this.onRefused(error);
    return Promise.reject(error);
  }
}
