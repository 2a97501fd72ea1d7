import { Global, Module, type DynamicModule } from '@nestjs/common';
import { AuthModule } from '@flotilla/auth';
import { busOptions, MessagingModule } from '@flotilla/messaging';
import { streamPlacement, type ServiceName } from '@flotilla/contracts';
import { natsPassword, type CommonConfig } from './config.js';
import { DatabaseModule, type DatabaseOptions } from './database.js';
import { HealthController } from './health.controller.js';

export interface ServiceKitOptions {
  service: ServiceName;
  config: CommonConfig;
  migrations: DatabaseOptions['migrations'];
  entities: DatabaseOptions['entities'];
}

/** PostgreSQL schema of a service: its name with `-` as `_`. */
export function schemaOf(service: ServiceName): string {
  return service.replace(/-/g, '_');
}

/**
 * What every service imports: its database (own schema, migrated on start), the bus, the
 * authentication and audit of its routes, and the health and metrics endpoints.
 */
@Global()
@Module({})
export class ServiceKitModule {
  static forRoot(options: ServiceKitOptions): DynamicModule {
    const { config } = options;
    return {
      module: ServiceKitModule,
      imports: [
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: config.DATABASE_SCHEMA ?? schemaOf(options.service),
          poolSize: config.DATABASE_POOL_SIZE,
          timeouts: {
            statementMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
            lockMs: config.DATABASE_LOCK_TIMEOUT_MS,
            idleInTransactionMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
          },
          migrations: options.migrations,
          entities: options.entities,
        }),
        MessagingModule.forRoot(
          busOptions({
            service: options.service,
            natsUrl: config.NATS_URL,
            natsUser: config.NATS_USER,
            natsPassword: natsPassword(config),
            prefix: config.BUS_PREFIX,
            replicas: config.BUS_REPLICAS,
            placement: streamPlacement(config),
            streamMaxBytes: config.BUS_STREAM_MAX_BYTES,
            batchSize: config.BUS_BATCH_SIZE,
            lanes: config.BUS_LANES,
            maxConcurrentBatches: config.BUS_MAX_CONCURRENT_BATCHES,
            maxDeliver: config.BUS_MAX_DELIVER,
            handlerTimeoutMs: config.BUS_HANDLER_TIMEOUT_MS,
          }),
        ),
        AuthModule.forRoot({ service: options.service, naming: { prefix: config.BUS_PREFIX }, config, replicas: config.BUS_REPLICAS, placement: streamPlacement(config) }),
      ],
      controllers: [HealthController],
    };
  }
}
