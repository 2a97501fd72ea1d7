import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { ConsumerTransaction } from '../src/consumer/transaction.js';
import { AbortedByCaughtError } from '../src/outbox/commit.js';
import { MESSAGING_MIGRATIONS } from '../src/migrations.js';
import { createTestSchema, TcpProxy, TEST_SERVER_URL, type TestSchema } from '../src/testing/index.js';

const PG_PORT = Number(new URL(TEST_SERVER_URL).port || 5432);

describe("a consumer transaction's connection", { timeout: 30_000 }, () => {
  let schema: TestSchema;
  let proxy: TcpProxy;
  let dataSource: DataSource;

  before(async () => {
    schema = await createTestSchema(MESSAGING_MIGRATIONS);
    // Through a proxy that counts what the client writes: one write arrives as one read here.
    proxy = await TcpProxy.start(PG_PORT);
    const url = new URL(schema.url);
    url.port = String(proxy.port);
    dataSource = await new DataSource(schema.dataSourceOptions({ url: url.toString() })).initialize();
    await dataSource.query(`CREATE TABLE issued (seq bigserial PRIMARY KEY, n integer NOT NULL)`);
  });

  after(async () => {
    await dataSource.destroy();
    await proxy.cut();
    await schema.drop();
  });

  it('sends statements issued together in one write, and runs them in issue order', async () => {
    const transaction = await ConsumerTransaction.begin(dataSource);
    try {
      assert.equal(transaction.pipelined, true, "the test pools' clients are pipelined");
      const { runner } = transaction;
      const before = proxy.clientChunks;
      const results = await Promise.all(Array.from({ length: 20 }, (_, n) => runner.query(`INSERT INTO issued (n) VALUES ($1) RETURNING seq::int AS seq`, [n]) as Promise<{ seq: number }[]>));
      assert.equal(proxy.clientChunks - before, 1, 'twenty statements issued in one turn leave in one write');
      const seqs = results.map((rows) => rows[0]!.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'run in the order they were issued');

      const beforeCommit = proxy.clientChunks;
      await transaction.commit([{ eventId: 'e-1', subject: 's', headers: {}, payload: '{}' }]);
      assert.equal(proxy.clientChunks - beforeCommit, 1, 'the outbox rows and the commit leave together');
    } finally {
      await transaction.end();
    }
    const rows = await dataSource.query<unknown[]>(`SELECT (SELECT count(*)::int FROM issued) AS issued, (SELECT count(*)::int FROM outbox WHERE event_id = 'e-1') AS outbox`);
    assert.deepEqual(rows, [{ issued: 20, outbox: 1 }]);
  });

  it('fails the statements behind a failed one, keeps nothing of the transaction, and the connection stays usable', async () => {
    const transaction = await ConsumerTransaction.begin(dataSource);
    try {
      const { runner } = transaction;
      const outcomes = await Promise.allSettled([runner.query(`INSERT INTO issued (n) VALUES (100)`), runner.query(`SELECT 1 / 0`), runner.query(`INSERT INTO issued (n) VALUES (101)`)]);
      assert.deepEqual(
        outcomes.map((outcome) => outcome.status),
        ['fulfilled', 'rejected', 'rejected'],
      );
      assert.match(String(((outcomes[2] as PromiseRejectedResult).reason as Error).message), /current transaction is aborted/);
      // As when a handler caught the error and went on: the commit refuses to pass it off as done.
      await assert.rejects(transaction.commit([{ eventId: 'e-2', subject: 's', headers: {}, payload: '{}' }]), AbortedByCaughtError);
      assert.deepEqual(await runner.query(`SELECT 'mine' AS answer`), [{ answer: 'mine' }]);
    } finally {
      await transaction.end();
    }
    const rows = await dataSource.query<unknown[]>(`SELECT (SELECT count(*)::int FROM issued WHERE n >= 100) AS issued, (SELECT count(*)::int FROM outbox WHERE event_id = 'e-2') AS outbox`);
    assert.deepEqual(rows, [{ issued: 0, outbox: 0 }], 'nothing of the failed transaction stayed');
  });

  it('drops, never pools, a connection cut in the middle of a statement, and rolls its transaction back', async () => {
    const transaction = await ConsumerTransaction.begin(dataSource);
    const { runner } = transaction;
    const pid = ((await runner.query(`SELECT pg_backend_pid() AS pid`)) as { pid: number }[])[0]!.pid;
    await runner.query(`INSERT INTO issued (n) VALUES (200)`);
    const stuck = runner.query(`SELECT pg_sleep(5)`);
    transaction.drop(new Error('cut'));
    await assert.rejects(stuck);
    await transaction.end();
    // Every connection the pool hands out now is a working one, and not that one.
    for (let n = 0; n < 3; n++) {
      const next = await ConsumerTransaction.begin(dataSource);
      try {
        const rows = (await next.runner.query(`SELECT pg_backend_pid() AS pid`)) as { pid: number }[];
        assert.notEqual(rows[0]!.pid, pid);
      } finally {
        await next.end();
      }
    }
    assert.deepEqual(await dataSource.query(`SELECT count(*)::int AS n FROM issued WHERE n = 200`), [{ n: 0 }]);
  });
});
