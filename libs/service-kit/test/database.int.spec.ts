import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { databaseUrl, ensureDatabase, randomSuffix, TEST_SERVER_URL } from '@flotilla/messaging/testing';
import pg from 'pg';
import { migrate } from '../src/database.js';

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
