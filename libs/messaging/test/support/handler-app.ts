import 'reflect-metadata';
import { Global, Module, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { MessagingModule, startEventConsumers, type BusOptions } from '../../src/index.js';
import type { TestSchema } from '../../src/testing/index.js';

/** An app of the given handler controllers on the test schema, consuming from the bus. */
export async function startHandlerApp(schema: TestSchema, bus: BusOptions, controllers: Type[]): Promise<INestApplication> {
  @Global()
  @Module({ providers: [{ provide: DataSource, useFactory: async () => new DataSource(schema.dataSourceOptions()).initialize() }], exports: [DataSource] })
  class DatabaseModule {}

  @Module({ imports: [DatabaseModule, MessagingModule.forRoot(bus)], controllers })
  class HandlerModule {}

  const app = await NestFactory.create(HandlerModule, { logger: ['error'] });
  await app.init();
  try {
    await startEventConsumers(app);
  } catch (error) {
    await closeHandlerApp(app);
    throw error;
  }
  return app;
}

export async function closeHandlerApp(app: INestApplication): Promise<void> {
  const dataSource = app.get(DataSource);
  await app.close();
  if (dataSource.isInitialized) await dataSource.destroy();
}
