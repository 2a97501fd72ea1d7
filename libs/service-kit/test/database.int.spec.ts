import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { databaseUrl, ensureDatabase, randomSuffix, TEST_SERVER_URL } from '@flotilla/messaging/testing';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions, migrate } from '../src/database.js';

describe('database migration on start', () => {
  it('lets several replicas create and migrate a new schema at the same moment', async () => {
    await ensureDatabase('flotilla_test');
    const url = databaseUrl('flotilla_test', TEST_SERVER_URL);
    const schema = `race_${randomSuffix()}`;
    try {
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => migrate({ url, schema, migrations: [], entities: [] })));
      assert.deepEqual(results.map((result) => result.status), ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'], String(results.find((r) => r.status === 'rejected')?.reason));
      // One replica applied the migrations; the others found nothing left to do.
      const applied = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
      assert.deepEqual(applied, ['MessagingTables1732300000000', 'InboxDigests1732300000050', 'OutboxParking1732300000060', 'AuditTables1732300007000']);
    } finally {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  });
});

describe('database sessions wait only so long', () => {
  const url = databaseUrl('flotilla_test', TEST_SERVER_URL);

  async function withSessions<T>(timeouts: Parameters<typeof dataSourceOptions>[0]['timeouts'], work: (dataSource: DataSource) => Promise<T>): Promise<T> {
    await ensureDatabase('flotilla_test');
    const dataSource = await new DataSource(dataSourceOptions({ url, schema: 'public', migrations: [], entities: [], ...(timeouts ? { timeouts } : {}) })).initialize();
    try {
      return await work(dataSource);
    } finally {
      await dataSource.destroy();
    }
  }

  const setting = async (dataSource: DataSource, name: string) => (await dataSource.query<{ value: string }[]>(`SELECT current_setting($1) AS value`, [name]))[0]?.value;

  it('bounds statements, lock waits and idle transactions by default', async () => {
    await withSessions(undefined, async (dataSource) => {
      assert.equal(await setting(dataSource, 'statement_timeout'), '30s');
      assert.equal(await setting(dataSource, 'lock_timeout'), '10s');
      assert.equal(await setting(dataSource, 'idle_in_transaction_session_timeout'), '1min');
    });
  });

  it('cuts a statement and a lock wait past the configured bounds', async () => {
    await withSessions({ statementMs: 300, lockMs: 200, idleInTransactionMs: 5_000 }, async (dataSource) => {
      const started = Date.now();
      await assert.rejects(dataSource.query(`SELECT pg_sleep(5)`), (error: { driverError?: { code?: string } }) => error.driverError?.code === '57014');
      assert.ok(Date.now() - started < 3_000, 'cut at the bound, not after the sleep');

      const key = Math.floor(Math.random() * 1e9);
      const holder = dataSource.createQueryRunner();
      await holder.startTransaction();
      try {
        await holder.query(`SELECT pg_advisory_xact_lock($1)`, [key]);
        await assert.rejects(dataSource.query(`SELECT pg_advisory_lock($1)`, [key]), (error: { driverError?: { code?: string } }) => error.driverError?.code === '55P03');
      } finally {
        await holder.rollbackTransaction();
        await holder.release();
      }
    });
  });

  it('ends a session left idle inside a transaction', async () => {
    await withSessions({ statementMs: 5_000, lockMs: 5_000, idleInTransactionMs: 1_000 }, async (dataSource) => {
      const runner = dataSource.createQueryRunner();
      await runner.startTransaction();
      try {
        await runner.query(`SELECT 1`);
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        await assert.rejects(runner.query(`SELECT 1`));
      } finally {
        await runner.release();
      }
    });
  });
});
