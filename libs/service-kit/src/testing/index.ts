import { databaseUrl, ensureDatabase, randomSuffix, testBusPrefix, TEST_NATS_URL, TEST_SERVER_URL, TEST_STREAM_MAX_BYTES } from '@flotilla/messaging/testing';
import { randomBytes } from 'node:crypto';
import type { Role } from '@flotilla/auth';
import { TestTokenIssuer, type TestTokenOptions } from '@flotilla/auth/testing';
import { BusConnection } from '@flotilla/messaging';
import pg from 'pg';
import type { z } from 'zod';
import { runService, type RunningService, type ServiceDefinition } from '../bootstrap.js';

const TEST_DATABASE = 'flotilla_test';

export interface TestService extends RunningService {
  /** The schema and bus prefix this instance uses: pass them to a second replica to share them. */
  env: Record<string, string>;
  /** Stops the service and, unless another replica still uses them, drops its schema. */
  dispose(options?: { keepSchema?: boolean }): Promise<void>;
  /** Issues tokens the service accepts (its bus prefix's authentication bucket knows the key). */
  issuer: TestTokenIssuer;
  /** An admin token, for tests about something else than access. */
  adminToken: string;
  /** `{ authorization: 'Bearer …' }` for a token of that role (admin by default). */
  auth(role?: Role, options?: TestTokenOptions): Promise<Record<string, string>>;
}

const issuers = new Map<string, Promise<TestTokenIssuer>>();

/** One test issuer per bus prefix and process: replicas and neighbours share it. */
export function testIssuer(prefix: string, natsUrl = TEST_NATS_URL): Promise<TestTokenIssuer> {
  let issuer = issuers.get(prefix);
  if (!issuer) {
    issuer = (async () => {
      const bus = await BusConnection.open(natsUrl, 'test-token-issuer');
      try {
        return await TestTokenIssuer.publish(bus.nc, prefix);
      } finally {
        await bus.drain();
      }
    })();
    issuers.set(prefix, issuer);
  }
  return issuer;
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
    // Any free port for the tunnel broker's agents' listener (ignored by the others).
    TUNNEL_AGENT_PORT: '0',
    ...env,
  };
  // Published before the service starts, so its first request already knows the key.
  const issuer = await testIssuer(resolved['BUS_PREFIX']!, resolved['NATS_URL']);
  const running = await runService(definition, { env: resolved, handleSignals: false });
  const adminToken = await issuer.token('admin');
  return {
    ...running,
    env: resolved,
    issuer,
    adminToken,
    auth: async (role = 'admin', options = {}) => ({ authorization: `Bearer ${role === 'admin' && Object.keys(options).length === 0 ? adminToken : await issuer.token(role, options)}` }),
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
export * from './route-access.js';
export * from './policy.js';
