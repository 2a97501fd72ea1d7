import 'reflect-metadata';
import { ClusterRequested, NodesProvisioned, type EventOf } from '@flotilla/contracts';
import { Controller, Global, Inject, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Payload } from '@nestjs/microservices';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { MESSAGING_MIGRATIONS, MessagingModule, OnEvent, OnEventBatch, UnitOfWork, type BusOptions } from '../src/index.js';
import type { TestSchema } from '../src/testing/index.js';

/** The benchmark service's own state: one row per cluster. */
export class BenchTables1732300000100 implements MigrationInterface {
  name = 'BenchTables1732300000100';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE bench_clusters (cluster_id text PRIMARY KEY, state text NOT NULL, revision integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE bench_clusters`);
  }
}

export const BENCH_MIGRATIONS = [...MESSAGING_MIGRATIONS, BenchTables1732300000100];

function nodesOf(event: EventOf<typeof ClusterRequested>) {
  return { model: event.data.model, nodes: [{ name: `${event.subject}-cp-0`, role: 'control-plane' as const, addresses: [] }] };
}

/** The state change of one event: its cluster's row ($1: the cluster id). */
export const PER_EVENT_UPSERT_SQL = `INSERT INTO bench_clusters (cluster_id, state, revision) VALUES ($1, 'provisioning', 1)
     ON CONFLICT (cluster_id) DO UPDATE SET revision = bench_clusters.revision + 1, updated_at = now()`;

/**
 * The state change of a batch, set-based ($1: the cluster ids). Grouped, so two events about one
 * cluster in a batch are one row change (ON CONFLICT may touch a row only once per statement).
 */
export const SET_BASED_UPSERT_SQL = `INSERT INTO bench_clusters (cluster_id, state, revision)
       SELECT id, 'provisioning', count(*) FROM unnest($1::text[]) AS id GROUP BY id
       ON CONFLICT (cluster_id) DO UPDATE SET revision = bench_clusters.revision + excluded.revision, updated_at = now()`;

/** A typical thin handler: one state change and one emitted event, in the consumer's transaction. */
async function handleOne(unitOfWork: UnitOfWork, event: EventOf<typeof ClusterRequested>): Promise<void> {
  await unitOfWork.manager.query(PER_EVENT_UPSERT_SQL, [event.subject]);
  unitOfWork.emit(NodesProvisioned, event.subject, nodesOf(event));
}

/** One event at a time, the default. */
@Controller()
class SequentialHandlers {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @OnEvent(ClusterRequested)
  async onClusterRequested(@Payload() event: EventOf<typeof ClusterRequested>): Promise<void> {
    await handleOne(this.unitOfWork, event);
  }
}

/** The same handler, declared to touch only its own cluster's row: subjects run side by side. */
@Controller()
class BySubjectHandlers {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @OnEvent(ClusterRequested, { concurrency: 'by-subject' })
  async onClusterRequested(@Payload() event: EventOf<typeof ClusterRequested>): Promise<void> {
    await handleOne(this.unitOfWork, event);
  }
}

/** The same work set-based: one statement for the whole batch, one event emitted per event. */
@Controller()
class BatchHandlers {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @OnEventBatch(ClusterRequested)
  async onClusterRequested(@Payload() events: EventOf<typeof ClusterRequested>[]): Promise<void> {
    await this.unitOfWork.manager.query(SET_BASED_UPSERT_SQL, [events.map((event) => event.subject)]);
    for (const event of events) this.unitOfWork.emit(NodesProvisioned, event.subject, nodesOf(event), { causedBy: event });
  }
}

export type HandlerMode = 'batch' | 'by-subject' | 'sequential';

const HANDLERS = { batch: BatchHandlers, 'by-subject': BySubjectHandlers, sequential: SequentialHandlers } as const;

/** Creates and initialises the app; the consumers start with `startEventConsumers`. */
export async function createBenchApp(schema: TestSchema, bus: BusOptions, mode: HandlerMode): Promise<INestApplication> {
  @Global()
  @Module({
    providers: [{ provide: DataSource, useFactory: async () => new DataSource(schema.dataSourceOptions()).initialize() }],
    exports: [DataSource],
  })
  class DatabaseModule {}

  @Module({ imports: [DatabaseModule, MessagingModule.forRoot(bus)], controllers: [HANDLERS[mode]] })
  class BenchModule {}

  const app = await NestFactory.create(BenchModule, { logger: ['error', 'warn'] });
  await app.init();
  return app;
}

export async function closeBenchApp(app: INestApplication): Promise<void> {
  const dataSource = app.get(DataSource);
  await app.close();
  if (dataSource.isInitialized) await dataSource.destroy();
}
