import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { CallbackQueryClient } from '../src/postgres-client.js';
import { TEST_SERVER_URL } from '../src/testing/index.js';

describe('the services\' PostgreSQL client', () => {
  let client: CallbackQueryClient;

  before(async () => {
    client = new CallbackQueryClient({ connectionString: TEST_SERVER_URL });
    await client.connect();
  });

  after(async () => {
    await client.end();
  });

  it('answers every form of pg\'s query: text and values, a config, a callback, a query object', async () => {
    assert.deepEqual((await client.query('SELECT $1::int + 1 AS n', [41])).rows, [{ n: 42 }]);
    assert.deepEqual((await client.query({ text: 'SELECT $1::text AS s', values: ['x'], rowMode: 'array' })).rows, [['x']]);
    const viaCallback = await new Promise<pg.QueryResult>((resolve, reject) => {
      client.query('SELECT 7 AS n', (error: Error | null, result: pg.QueryResult) => (error ? reject(error) : resolve(result)));
    });
    assert.deepEqual(viaCallback.rows, [{ n: 7 }]);
    const viaConfigCallback = await new Promise<pg.QueryResult>((resolve, reject) => {
      void client.query({ text: 'SELECT 5 AS n', callback: (error: Error | null, result: pg.QueryResult) => (error ? reject(error) : resolve(result)) } as pg.QueryConfig);
    });
    assert.deepEqual(viaConfigCallback.rows, [{ n: 5 }]);
    const submitted = new pg.Query('SELECT 3 AS n');
    const rows: unknown[] = [];
    submitted.on('row', (row: unknown) => rows.push(row));
    await new Promise<void>((resolve, reject) => {
      submitted.on('end', () => resolve());
      submitted.on('error', reject);
      client.query(submitted);
    });
    assert.deepEqual(rows, [{ n: 3 }]);
  });

  it('rejects a failed statement with PostgreSQL\'s error, its stack leading back to the caller', async () => {
    const failing = async function failingStatement(): Promise<unknown> {
      return client.query('SELECT * FROM no_such_table');
    };
    await assert.rejects(failing(), (error: Error & { code?: string }) => {
      assert.equal(error.code, '42P01');
      assert.match(error.message, /no_such_table/);
      assert.doesNotMatch(error.stack ?? '', /onStreamRead/);
      return true;
    });
    // The connection is still usable after the failure.
    assert.deepEqual((await client.query('SELECT 1 AS n')).rows, [{ n: 1 }]);
  });
});
