import { randomBytes } from 'node:crypto';
import { streamName } from '@flotilla/contracts';
import type { JetStreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { DataSource, type DataSourceOptions, type MigrationInterface } from 'typeorm';
import { CallbackQueryClient } from '../postgres-client.js';

/** PostgreSQL of the machine tests run on; override with TEST_DATABASE_URL. */
export const TEST_SERVER_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_NATS_URL = process.env['TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';
const TEST_DATABASE = 'flotilla_test';

export function randomSuffix(): string {
  return randomBytes(5).toString('hex');
}

/** Streams of tests are small: JetStream reserves their size on the server. */
export const TEST_STREAM_MAX_BYTES = 64 * 1024 ** 2;

/** A bus prefix of its own, so a test's streams never meet another's. */
export function testBusPrefix(): string {
  return `t${randomSuffix()}`;
}

export function databaseUrl(database: string, base = TEST_SERVER_URL): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates a database if missing; tolerant of another test creating it at the same time. */
export async function ensureDatabase(database: string, serverUrl = TEST_SERVER_URL): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE "${database}"`).catch((error: { code?: string }) => {
        // 42P04: created concurrently; 23505: the same race seen through pg_database's index.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

export interface TestSchema {
  url: string;
  schema: string;
  /** DataSource options bound to the schema (search_path), for the code under test. */
  dataSourceOptions(extra?: Partial<DataSourceOptions>): DataSourceOptions;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated schema of its own for one test: tests run in parallel without meeting.
 */
export async function createTestSchema(migrations: (new () => MigrationInterface)[], prefix = 't'): Promise<TestSchema> {
  await ensureDatabase(TEST_DATABASE);
  const schema = `${prefix}_${randomSuffix()}`;
  const created = attachTestSchema(schema, migrations);
  const setup = new DataSource(created.dataSourceOptions());
  await setup.initialize();
  try {
    await setup.query(`CREATE SCHEMA "${schema}"`);
    await setup.runMigrations({ transaction: 'each' });
  } finally {
    await setup.destroy();
  }
  return created;
}

/** A schema another process created (a test's child process uses the parent's). */
export function attachTestSchema(schema: string, migrations: (new () => MigrationInterface)[] = []): TestSchema {
  const url = databaseUrl(TEST_DATABASE);
  const options = (extra: Partial<DataSourceOptions> = {}): DataSourceOptions =>
    ({
      type: 'postgres',
      url,
      schema,
      // Pipelined, as services' pools are: statements issued together are sent together.
      extra: { Client: CallbackQueryClient, options: `-c search_path=${schema}`, max: 10, pipeline: true },
      migrations,
      migrationsTableName: 'migrations',
      ...extra,
    }) as DataSourceOptions;
  return {
    url,
    schema,
    dataSourceOptions: options,
    drop: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Removes a test's streams: events, dead letters, replays, audit records, and key-value buckets named after its prefix. */
export async function deleteTestStreams(jsm: JetStreamManager, prefix: string): Promise<void> {
  for (const kind of ['events', 'dlq', 'replay', 'audit'] as const) {
    await jsm.streams.delete(streamName({ prefix }, kind)).catch(() => false);
  }
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`KV_${prefix}_`)) await jsm.streams.delete(name).catch(() => false);
  }
}

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
export * from './tcp-proxy.js';
export * from './events.js';
export * from './cleanups.js';
