import { databaseUrl, ensureDatabase, randomSuffix, testBusPrefix, TEST_NATS_URL, TEST_SERVER_URL, TEST_STREAM_MAX_BYTES } from '@flotilla/messaging/testing';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { z } from 'zod';
import { runService, type RunningService, type ServiceDefinition } from '../bootstrap.js';

const TEST_DATABASE = 'flotilla_test';

export interface TestService extends RunningService {
  /** The schema and bus prefix this instance uses: pass them to a second replica to share them. */
  env: Record<string, string>;
  /** Stops the service and, unless another replica still uses them, drops its schema. */
  dispose(options?: { keepSchema?: boolean }): Promise<void>;
}

/**
 * Starts a service in-process for an integration test: its own schema, its own bus prefix, a
 * random HTTP port, real PostgreSQL and NATS. `env` overrides (e.g. the same BUS_PREFIX and
 * DATABASE_SCHEMA for a second replica).
 */
export async function startTestService<S extends z.ZodObject>(definition: ServiceDefinition<S>, env: Record<string, string> = {}): Promise<TestService> {
  await ensureDatabase(TEST_DATABASE);
  // Tests that assert on spans install their own in-memory provider; nothing is exported otherwise.
  process.env['OTEL_SDK_DISABLED'] ??= 'true';
  const resolved: Record<string, string> = {
    DATABASE_URL: databaseUrl(TEST_DATABASE, TEST_SERVER_URL),
    DATABASE_SCHEMA: `${definition.name.replace(/-/g, '_')}_${randomSuffix()}`,
    NATS_URL: TEST_NATS_URL,
    BUS_PREFIX: testBusPrefix(),
    PORT: '0',
    BUS_STREAM_MAX_BYTES: String(TEST_STREAM_MAX_BYTES),
    LOG_LEVEL: 'warn',
    // A throwaway key-encryption key for services that keep secrets (ignored by the others).
    SECRETS_KEYS: `test:${randomBytes(32).toString('base64')}`,
    ...env,
  };
  const running = await runService(definition, { env: resolved, handleSignals: false });
  return {
    ...running,
    env: resolved,
    dispose: async (options = {}) => {
      await running.stop();
      if (options.keepSchema) return;
      const client = new pg.Client({ connectionString: resolved['DATABASE_URL'] });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${resolved['DATABASE_SCHEMA']}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
