import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UnitOfWork } from '@flotilla/messaging';
import { FleetCounts } from './fleet-counts.js';

/** A unit of work whose change log holds `pending` changes; records the statements and transactions asked for. */
function unitOfWork(pending: boolean) {
  const statements: string[] = [];
  let transactions = 0;
  const query = async (sql: string) => {
    statements.push(sql);
    if (sql.includes('EXISTS')) return [{ any: pending }];
    if (sql.includes('pg_try_advisory_xact_lock')) return [{ locked: true }];
    if (sql.includes('WITH moved')) return [{ changes: 3 }];
    return [];
  };
  const manager = {
    query,
    transaction: async <T>(work: (inner: { query: typeof query }) => Promise<T>) => {
      transactions += 1;
      return work({ query });
    },
  };
  return { uow: { manager } as unknown as UnitOfWork, statements, transactions: () => transactions };
}

describe('fleet counts: folding the change log', () => {
  it('opens no transaction and scans no counts when nothing changed', async () => {
    const { uow, statements, transactions } = unitOfWork(false);
    assert.equal(await new FleetCounts(uow).compact(), 0);
    assert.equal(transactions(), 0);
    assert.equal(statements.length, 1);
  });

  it('folds, under the lock, when changes are waiting', async () => {
    const { uow, statements, transactions } = unitOfWork(true);
    assert.equal(await new FleetCounts(uow).compact(), 3);
    assert.equal(transactions(), 1);
    assert.ok(statements.some((sql) => sql.includes('pg_try_advisory_xact_lock')));
    assert.ok(statements.some((sql) => sql.startsWith('DELETE FROM cluster_counts ')));
  });
});
