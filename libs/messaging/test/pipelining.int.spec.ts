import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DataSource, type QueryRunner } from 'typeorm';
import { withPipelinedConnection } from '../src/consumer/pipelining.js';
import { createTestSchema, type TestSchema } from '../src/testing/index.js';

interface PgClient {
  pipeline: boolean;
  connection: { stream: Socket };
}

function pgClientOf(runner: QueryRunner): PgClient {
  return (runner as unknown as { databaseConnection: PgClient }).databaseConnection;
}

/** Counts the writes the socket hands to the operating system. */
function countWrites(socket: Socket): { count: () => number; restore: () => void } {
  const internals = socket as unknown as { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
  const { _write, _writev } = internals;
  let writes = 0;
  internals._write = (...args) => {
    writes += 1;
    _write.apply(socket, args);
  };
  internals._writev = (...args) => {
    writes += 1;
    _writev.apply(socket, args);
  };
  return {
    count: () => writes,
    restore: () => {
      internals._write = _write;
      internals._writev = _writev;
    },
  };
}

describe('a pipelined connection', { timeout: 30_000 }, () => {
  let schema: TestSchema;
  let dataSource: DataSource;

  before(async () => {
    schema = await createTestSchema([]);
    dataSource = await new DataSource(schema.dataSourceOptions()).initialize();
    await dataSource.query(`CREATE TABLE issued (seq bigserial PRIMARY KEY, n integer NOT NULL)`);
  });

  after(async () => {
    await dataSource.destroy();
    await schema.drop();
  });

  it('sends statements issued together in one write, runs them in issue order, and hands the connection back as it found it', async () => {
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      const client = pgClientOf(runner);
      const writes = countWrites(client.connection.stream);
      try {
        await withPipelinedConnection(runner, async () => {
          await runner.startTransaction();
          const before = writes.count();
          const results = await Promise.all(Array.from({ length: 20 }, (_, n) => runner.query(`INSERT INTO issued (n) VALUES ($1) RETURNING seq::int AS seq`, [n]) as Promise<{ seq: number }[]>));
          assert.equal(writes.count() - before, 1, 'twenty statements issued in one turn leave in one write');
          const seqs = results.map((rows) => rows[0]!.seq);
          assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'run in the order they were issued');
          await runner.commitTransaction();
        });
        assert.equal(client.pipeline, false, 'back to one statement at a time');
        assert.equal(Object.hasOwn(runner, 'query'), false, 'the runner is its own again');
      } finally {
        writes.restore();
      }
    } finally {
      await runner.release();
    }
  });

  it('waits for statements a failed transaction left running, so that the pooled connection answers the next ones rightly', async () => {
    const runner = dataSource.createQueryRunner();
    let client: PgClient | undefined;
    try {
      await assert.rejects(
        withPipelinedConnection(runner, async () => {
          client = pgClientOf(runner);
          await runner.startTransaction();
          // Not awaited, as by a careless handler, and still running when this fails.
          void runner.query(`SELECT pg_sleep(0.2)`).catch(() => undefined);
          void runner.query(`SELECT 'late' AS answer`).catch(() => undefined);
          throw new Error('handler failed');
        }),
        /handler failed/,
      );
      assert.equal(client?.pipeline, false);
      await runner.rollbackTransaction();
      assert.deepEqual(await runner.query(`SELECT 'mine' AS answer`), [{ answer: 'mine' }]);
    } finally {
      await runner.release();
    }
  });

  it('drops, never pools, a connection that still owes answers after the wait', async () => {
    const runner = dataSource.createQueryRunner();
    let client: PgClient | undefined;
    try {
      await withPipelinedConnection(
        runner,
        async () => {
          client = pgClientOf(runner);
          void runner.query(`SELECT pg_sleep(5)`).catch(() => undefined);
        },
        { settleTimeoutMs: 100 },
      );
    } finally {
      await runner.release();
    }
    // Every pooled connection the pool hands out now is a working one, and not that one.
    const next = dataSource.createQueryRunner();
    try {
      await next.connect();
      assert.notEqual(pgClientOf(next), client);
      assert.deepEqual(await next.query(`SELECT 1 AS one`), [{ one: 1 }]);
    } finally {
      await next.release();
    }
  });

  it('fails the statements behind a failed one in the same transaction, and the connection stays usable', async () => {
    const runner = dataSource.createQueryRunner();
    try {
      await assert.rejects(
        withPipelinedConnection(runner, async () => {
          await runner.startTransaction();
          const outcomes = await Promise.allSettled([
            runner.query(`INSERT INTO issued (n) VALUES (100)`),
            runner.query(`SELECT 1 / 0`),
            runner.query(`INSERT INTO issued (n) VALUES (101)`),
          ]);
          assert.deepEqual(
            outcomes.map((outcome) => outcome.status),
            ['fulfilled', 'rejected', 'rejected'],
          );
          const behind = outcomes[2] as PromiseRejectedResult;
          assert.match(String((behind.reason as Error).message), /current transaction is aborted/);
          await runner.rollbackTransaction();
          throw new Error('handler failed');
        }),
        /handler failed/,
      );
      assert.equal(pgClientOf(runner).pipeline, false);
      const rows = await runner.query(`SELECT count(*)::int AS n FROM issued WHERE n >= 100`);
      assert.deepEqual(rows, [{ n: 0 }], 'nothing of the failed transaction stayed');
    } finally {
      await runner.release();
    }
  });
});
