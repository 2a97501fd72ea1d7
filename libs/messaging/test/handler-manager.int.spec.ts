import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PoolClient } from 'pg';
import { DataSource, EventSubscriber, NamedPlaceholdersNotSupportedError, QueryFailedError, QueryRunnerProviderAlreadyReleasedError, type EntitySubscriberInterface, type QueryRunner } from 'typeorm';
import { handlerManager } from '../src/consumer/handler-manager.js';
import { MESSAGING_MIGRATIONS } from '../src/index.js';
import { createTestSchema, type TestSchema } from '../src/testing/index.js';

/** Statements seen by a subscriber's `beforeQuery`. */
const seen: string[] = [];

@EventSubscriber()
class QuerySubscriber implements EntitySubscriberInterface {
  beforeQuery(event: { query: string }): void {
    seen.push(event.query);
  }
}

/** A transaction as the consumer holds one: a query runner and its node-postgres connection. */
async function transaction(dataSource: DataSource): Promise<{ runner: QueryRunner; client: PoolClient; typeormQueries: () => number }> {
  const runner = dataSource.createQueryRunner();
  const client = (await runner.connect()) as PoolClient;
  await runner.startTransaction();
  // Counts what reaches TypeORM's own query path (the runner's `query`).
  let calls = 0;
  const query = runner.query.bind(runner);
  runner.query = (...args: Parameters<QueryRunner['query']>) => {
    calls += 1;
    return query(...args);
  };
  return { runner, client, typeormQueries: () => calls };
}

async function end(runner: QueryRunner): Promise<void> {
  if (runner.isTransactionActive) await runner.rollbackTransaction();
  await runner.release();
}

describe("a handler's entity manager", () => {
  let schema: TestSchema;
  let plain: DataSource;
  let subscribed: DataSource;

  before(async () => {
    schema = await createTestSchema(MESSAGING_MIGRATIONS, 'hm');
    plain = await new DataSource(schema.dataSourceOptions()).initialize();
    subscribed = await new DataSource(schema.dataSourceOptions({ subscribers: [QuerySubscriber] })).initialize();
    await plain.query(`CREATE TABLE things (id integer PRIMARY KEY, name text NOT NULL)`);
  });

  after(async () => {
    await plain.destroy();
    await subscribed.destroy();
    await schema.drop();
  });

  for (const shared of [false, true]) {
    it(`answers raw SQL as TypeORM does, straight from the connection (${shared ? 'side by side' : 'sequential'})`, async () => {
      const { runner, client, typeormQueries } = await transaction(plain);
      try {
        const manager = handlerManager(plain, runner, client, shared, () => undefined);
        const statements: [string, unknown[]?][] = [
          [`INSERT INTO things (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c') RETURNING id`],
          [`SELECT id, name FROM things WHERE id >= $1 ORDER BY id`, [2]],
          [`UPDATE things SET name = name || '!' WHERE id <= $1 RETURNING name`, [2]],
          [`UPDATE things SET name = 'x' WHERE id = 99`],
          [`DELETE FROM things WHERE id = $1`, [3]],
          [`SELECT count(*)::int AS n FROM things`],
        ];
        const direct: unknown[] = [];
        for (const [sql, parameters] of statements) direct.push(await manager.query(sql, parameters));
        assert.equal(typeormQueries(), 0, 'no statement went through the query runner');
        assert.deepEqual(direct[2], [[{ name: 'a!' }, { name: 'b!' }], 2], 'UPDATE: rows and the count, as TypeORM gives them');
        assert.deepEqual(direct[4], [[], 1], 'DELETE too');

        // The same statements through TypeORM's own path, from the same state, answer the same.
        await runner.query(`DELETE FROM things`);
        const throughTypeorm: unknown[] = [];
        for (const [sql, parameters] of statements) throughTypeorm.push(await runner.query(sql, parameters));
        assert.deepEqual(direct, throughTypeorm);
      } finally {
        await end(runner);
      }
    });
  }

  it('fails as TypeORM does: QueryFailedError with the driver error, named parameters refused, and nothing once the transaction is over', async () => {
    const { runner, client } = await transaction(plain);
    const manager = handlerManager(plain, runner, client, true, () => undefined);
    try {
      const failure = await manager.query(`SELECT 1 / $1::int`, [0]).catch((error: unknown) => error);
      assert.ok(failure instanceof QueryFailedError, String(failure));
      assert.equal((failure.driverError as { code?: string }).code, '22012');
      assert.equal(failure.query, `SELECT 1 / $1::int`);
      assert.deepEqual(failure.parameters, [0]);
      await assert.rejects(manager.query(`SELECT $1`, { one: 1 }), NamedPlaceholdersNotSupportedError);
    } finally {
      await end(runner);
    }
    await assert.rejects(manager.query(`SELECT 1`), QueryRunnerProviderAlreadyReleasedError);
  });

  it("keeps TypeORM's path where it does more: subscribers hear every statement", async () => {
    const { runner, client, typeormQueries } = await transaction(subscribed);
    try {
      const manager = handlerManager(subscribed, runner, client, false, () => undefined);
      seen.length = 0;
      assert.deepEqual(await manager.query(`SELECT $1::int AS n`, [7]), [{ n: 7 }]);
      assert.equal(typeormQueries(), 1);
      assert.deepEqual(seen, [`SELECT $1::int AS n`]);
    } finally {
      await end(runner);
    }
  });
});
