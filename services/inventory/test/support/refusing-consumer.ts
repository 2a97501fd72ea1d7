import 'reflect-metadata';
import { ClusterRequested, type EventOf } from '@flotilla/contracts';
import { busOptions, MessagingModule, MESSAGING_MIGRATIONS, OnEvent, PermanentError, startEventConsumers, UnitOfWork } from '@flotilla/messaging';
import { createTestSchema, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, type TestSchema } from '@flotilla/messaging/testing';
import { Controller, Global, Inject, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Payload } from '@nestjs/microservices';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';

class HandledTable1732300000002 implements MigrationInterface {
  name = 'HandledTable1732300000002';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE TABLE handled (cluster_id text PRIMARY KEY, times integer NOT NULL)`);
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE handled`);
  }
}

/** Whether the consumer refuses ClusterRequested: a condition an operator fixes, then replays. */
export const refusal = { active: true };

@Controller()
class RefusingHandler {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  @OnEvent(ClusterRequested)
  async onClusterRequested(@Payload() event: EventOf<typeof ClusterRequested>): Promise<void> {
    if (refusal.active) throw new PermanentError(`no capacity configured for model ${event.data.model}`);
    await this.unitOfWork.manager.query(`INSERT INTO handled (cluster_id, times) VALUES ($1, 1) ON CONFLICT (cluster_id) DO UPDATE SET times = handled.times + 1`, [event.subject]);
  }
}

export interface RefusingConsumer {
  app: INestApplication;
  /** How many times the handler's effect happened for a cluster. */
  timesHandled(clusterId: string): Promise<number>;
  close(): Promise<void>;
}

/** Another service on the bus (`ledger`) whose ClusterRequested consumer refuses until told otherwise. */
export async function startRefusingConsumer(prefix: string): Promise<RefusingConsumer> {
  const schema: TestSchema = await createTestSchema([...MESSAGING_MIGRATIONS, HandledTable1732300000002], 'ledger');

  @Global()
  @Module({ providers: [{ provide: DataSource, useFactory: async () => new DataSource(schema.dataSourceOptions()).initialize() }], exports: [DataSource] })
  class DatabaseModule {}

  @Module({
    imports: [DatabaseModule, MessagingModule.forRoot(busOptions({ service: 'ledger', prefix, natsUrl: TEST_NATS_URL, streamMaxBytes: TEST_STREAM_MAX_BYTES }))],
    controllers: [RefusingHandler],
  })
  class LedgerModule {}

  const app = await NestFactory.create(LedgerModule, { logger: ['error'] });
  await app.init();
  await startEventConsumers(app);
  const dataSource = app.get(DataSource);
  return {
    app,
    timesHandled: async (clusterId) => {
      const rows = await dataSource.query<{ times: number }[]>(`SELECT times FROM handled WHERE cluster_id = $1`, [clusterId]);
      return rows[0]?.times ?? 0;
    },
    close: async () => {
      await app.close();
      if (dataSource.isInitialized) await dataSource.destroy();
      await schema.drop();
    },
  };
}
