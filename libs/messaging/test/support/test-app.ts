import 'reflect-metadata';
import { ClusterRequested, NodesProvisioned, type EventOf } from '@flotilla/contracts';
import { Controller, Global, Inject, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload } from '@nestjs/microservices';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import {
  BusConnection,
  JetStreamContext,
  MessagingModule,
  MESSAGING_MIGRATIONS,
  OnEvent,
  PermanentError,
  startEventConsumers,
  UnitOfWork,
  type BusOptions,
  type ConsumerFaults,
} from '../../src/index.js';
import type { TestSchema } from '../../src/testing/index.js';

/** The test domain's own tables: what each handler did, to count effects. */
export class LedgerTables1732300000001 implements MigrationInterface {
  name = 'LedgerTables1732300000001';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE requests_handled (cluster_id text PRIMARY KEY, times integer NOT NULL, deliveries integer NOT NULL, replica text NOT NULL)`);
    await runner.query(`CREATE TABLE nodes_seen (cluster_id text PRIMARY KEY, times integer NOT NULL)`);
    await runner.query(`CREATE TABLE attempts (cluster_id text PRIMARY KEY, n integer NOT NULL)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE requests_handled, nodes_seen, attempts`);
  }
}

export const MIGRATIONS = [...MESSAGING_MIGRATIONS, LedgerTables1732300000001];
export const REPLICA = Symbol('REPLICA');

/**
 * Handlers whose behaviour is chosen by the cluster name: `fail-once-*` fails its first
 * delivery, `reject-*` fails permanently, `always-fail-*` never succeeds.
 */
@Controller()
class LedgerHandlers {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(REPLICA) private readonly replica: string,
  ) {}

  @OnEvent(ClusterRequested)
  async onClusterRequested(@Payload() event: EventOf<typeof ClusterRequested>, @Ctx() ctx: JetStreamContext): Promise<void> {
    const manager = this.unitOfWork.manager;
    const name = event.data.name;
    if (name.startsWith('fail-once') && ctx.getDeliveryCount() === 1) throw new Error('transient: first delivery fails');
    if (name.startsWith('reject')) throw new PermanentError('this cluster can never be provisioned');
    if (name.startsWith('always-fail')) throw new Error('database says no, again');
    await manager.query(
      `INSERT INTO requests_handled (cluster_id, times, deliveries, replica) VALUES ($1, 1, $2, $3)
       ON CONFLICT (cluster_id) DO UPDATE SET times = requests_handled.times + 1`,
      [event.subject, ctx.getDeliveryCount(), this.replica],
    );
    this.unitOfWork.emit(NodesProvisioned, event.subject, {
      model: event.data.model,
      nodes: [{ name: `${event.subject}-cp-0`, role: 'control-plane', addresses: [] }],
    });
  }

  @OnEvent(NodesProvisioned)
  async onNodesProvisioned(@Payload() event: EventOf<typeof NodesProvisioned>): Promise<void> {
    await this.unitOfWork.manager.query(
      `INSERT INTO nodes_seen (cluster_id, times) VALUES ($1, 1) ON CONFLICT (cluster_id) DO UPDATE SET times = nodes_seen.times + 1`,
      [event.subject],
    );
  }
}

export interface LedgerAppOptions {
  schema: TestSchema;
  bus: BusOptions;
  replica?: string;
  faults?: { consumer?: ConsumerFaults; relay?: { afterPublish?: () => void | Promise<void> } };
}

export async function startLedgerApp(options: LedgerAppOptions): Promise<INestApplication> {
  @Global()
  @Module({
    providers: [
      {
        provide: DataSource,
        useFactory: async () => new DataSource(options.schema.dataSourceOptions()).initialize(),
      },
      { provide: REPLICA, useValue: options.replica ?? 'a' },
    ],
    exports: [DataSource, REPLICA],
  })
  class DatabaseModule {}

  @Module({ imports: [DatabaseModule, MessagingModule.forRoot(options.bus, options.faults ?? {})], controllers: [LedgerHandlers] })
  class LedgerModule {}

  const app = await NestFactory.create(LedgerModule, { logger: ['error'] });
  app.enableShutdownHooks();
  await app.init();
  await startEventConsumers(app);
  return app;
}

export async function closeLedgerApp(app: INestApplication): Promise<void> {
  const dataSource = app.get(DataSource);
  await app.close();
  if (dataSource.isInitialized) await dataSource.destroy();
}

export function busOf(app: INestApplication): BusConnection {
  return app.get(BusConnection);
}
