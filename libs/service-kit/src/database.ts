import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { AuditTables1732300007000 } from '@flotilla/auth';
import { CallbackQueryClient, MESSAGING_MIGRATIONS } from '@flotilla/messaging';
import pg from 'pg';
import { DataSource, type DataSourceOptions, type EntitySchema, type MigrationInterface } from 'typeorm';

export interface DatabaseOptions {
  url: string;
  /** The service's own schema: nothing else reads or writes it. */
  schema: string;
  /** The service's migrations; the messaging tables (inbox, outbox) and the audit table come first automatically. */
  migrations: (new () => MigrationInterface)[];
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: (Function | EntitySchema)[];
  poolSize?: number;
  /** Bounds on every session's waits; `DEFAULT_SESSION_TIMEOUTS` when absent. */
  timeouts?: SessionTimeouts;
}

/**
 * How long any one session may wait: on one statement, on a lock, and idle inside a transaction
 * (a caller that stopped mid-transaction would otherwise hold its locks and its connection).
 */
export interface SessionTimeouts {
  statementMs: number;
  lockMs: number;
  idleInTransactionMs: number;
}

export const DEFAULT_SESSION_TIMEOUTS: SessionTimeouts = { statementMs: 30_000, lockMs: 10_000, idleInTransactionMs: 60_000 };

/** How long a pooled connection may stay idle before it is closed. */
const POOL_IDLE_MS = 10 * 60_000;

/** The session settings every pooled connection starts with (libpq `options`). */
export function sessionOptions(schema: string, timeouts: SessionTimeouts | null): string {
  const settings = [`-c search_path=${schema}`];
  if (timeouts) {
    settings.push(`-c statement_timeout=${timeouts.statementMs}`, `-c lock_timeout=${timeouts.lockMs}`, `-c idle_in_transaction_session_timeout=${timeouts.idleInTransactionMs}`);
  }
  return settings.join(' ');
}

export function dataSourceOptions(options: DatabaseOptions, timeouts: SessionTimeouts | null = options.timeouts ?? DEFAULT_SESSION_TIMEOUTS): DataSourceOptions {
  return {
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    entities: options.entities,
    migrations: [...MESSAGING_MIGRATIONS, AuditTables1732300007000, ...options.migrations],
    migrationsTableName: 'migrations',
    synchronize: false,
    // Unqualified names in raw SQL (inbox, outbox) resolve to the service's schema. Idle
    // connections are kept POOL_IDLE_MS, not pg-pool's 10 s: a new one costs a connect and a cold
    // catalog cache (tens of ms on its first statements), paid by whichever request draws it.
    // Pipelined: statements queued on one connection go out without waiting for the answer before
    // (the consumer's outbox rows and COMMIT share a round trip; see libs/messaging's README).
    // CallbackQueryClient: see libs/messaging's postgres-client.ts.
    extra: { Client: CallbackQueryClient, options: sessionOptions(options.schema, timeouts), max: options.poolSize ?? 10, connectionTimeoutMillis: 5_000, idleTimeoutMillis: POOL_IDLE_MS, pipeline: true },
  };
}

/** Creates the schema if it is missing and applies pending migrations. Safe to run on every start. */
export async function migrate(options: DatabaseOptions): Promise<string[]> {
  const client = new pg.Client({ connectionString: options.url });
  await client.connect();
  try {
    // Replicas starting together: IF NOT EXISTS still races in the catalogue, so the creation is
    // serialised on a transaction-scoped advisory lock (released at commit).
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`flotilla-schema-${options.schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
    await client.query('COMMIT');
  } finally {
    await client.end();
  }
  // Unbounded: a migration may rewrite a large table, and replicas wait on the advisory lock.
  const dataSource = new DataSource(dataSourceOptions(options, null));
  await dataSource.initialize();
  try {
    // One transaction per migration; concurrent replicas serialise on an advisory lock.
    await dataSource.query(`SELECT pg_advisory_lock(hashtext($1))`, [`flotilla-migrate-${options.schema}`]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}

class DataSourceCloser implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** The service's DataSource, migrated, available to every module. */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(options: DatabaseOptions): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [
        {
          provide: DataSource,
          useFactory: async () => {
            await migrate(options);
            return new DataSource(dataSourceOptions(options)).initialize();
          },
        },
        DataSourceCloser,
      ],
      exports: [DataSource],
    };
  }
}
