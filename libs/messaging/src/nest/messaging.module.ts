import { Global, Inject, Logger, Module, type DynamicModule, type INestApplication, type OnApplicationShutdown } from '@nestjs/common';
import { serviceInboxPrefix } from '@flotilla/contracts';
import { DataSource } from 'typeorm';
import { BusConnection } from '../connection.js';
import type { ConsumerFaults, ConsumerLogger } from '../consumer/event-consumer.js';
import { TransactionSlots } from '../consumer/lanes.js';
import { DeadLetters } from '../dead-letter.js';
import { MessagingMetrics } from '../metrics.js';
import type { BusOptions } from '../options.js';
import { OutboxRelay } from '../outbox/outbox-relay.js';
import { UnitOfWork } from '../unit-of-work.js';
import { JetStreamServer } from './jetstream.server.js';
import { RethrowRpcErrorsFilter } from './rethrow-rpc-errors.filter.js';

export const BUS_OPTIONS = Symbol('BUS_OPTIONS');

class BusConnectionCloser implements OnApplicationShutdown {
  constructor(@Inject(BusConnection) private readonly connection: BusConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.connection.drain();
  }
}

function structuredLogger(logger: Logger): ConsumerLogger {
  return {
    warn: (message, fields) => logger.warn({ msg: message, ...fields }),
    error: (message, fields) => logger.error({ msg: message, ...fields }),
  };
}

/**
 * The bus for a Nest service: the NATS connection, the unit of work (transaction + outbox), the
 * relay, dead-lettering and the JetStream transport. Expects a global `DataSource` provider.
 */
@Global()
@Module({})
export class MessagingModule {
  /** `faults` are injection points for crash tests; production code passes none. */
  static forRoot(options: BusOptions, faults: { consumer?: ConsumerFaults; relay?: { afterPublish?: () => void | Promise<void> } } = {}): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        { provide: BUS_OPTIONS, useValue: options },
        {
          provide: BusConnection,
          useFactory: () =>
            BusConnection.open(options.natsUrl, options.service, { user: options.natsUser, password: options.natsPassword, inboxPrefix: serviceInboxPrefix(options.service) }),
        },
        { provide: MessagingMetrics, useFactory: () => new MessagingMetrics() },
        { provide: UnitOfWork, inject: [DataSource], useFactory: (dataSource: DataSource) => new UnitOfWork(dataSource, options) },
        {
          provide: OutboxRelay,
          inject: [DataSource, BusConnection, MessagingMetrics, UnitOfWork],
          useFactory: (dataSource: DataSource, connection: BusConnection, metrics: MessagingMetrics, unitOfWork: UnitOfWork) => {
            const relay = new OutboxRelay(dataSource, connection.publisher, options, metrics, structuredLogger(new Logger('OutboxRelay')), faults.relay);
            unitOfWork.onCommitted((rows) => relay.publishCommitted(rows));
            return relay;
          },
        },
        {
          provide: DeadLetters,
          inject: [BusConnection, MessagingMetrics],
          useFactory: (connection: BusConnection, metrics: MessagingMetrics) => new DeadLetters(connection.js, options, metrics),
        },
        {
          provide: JetStreamServer,
          inject: [BusConnection, DataSource, UnitOfWork, DeadLetters, MessagingMetrics, OutboxRelay],
          useFactory: (connection: BusConnection, dataSource: DataSource, unitOfWork: UnitOfWork, deadLetters: DeadLetters, metrics: MessagingMetrics, relay: OutboxRelay) =>
            new JetStreamServer(
              {
                js: connection.js,
                jsm: connection.jsm,
                dataSource,
                unitOfWork,
                deadLetters,
                metrics,
                options,
                logger: structuredLogger(new Logger('EventConsumer')),
                transactionSlots: new TransactionSlots(options.maxConcurrentBatches),
                ...(faults.consumer ? { faults: faults.consumer } : {}),
              },
              relay,
            ),
        },
        BusConnectionCloser,
      ],
      exports: [BUS_OPTIONS, BusConnection, MessagingMetrics, UnitOfWork, OutboxRelay, DeadLetters, JetStreamServer],
    };
  }
}

/**
 * Attaches the JetStream transport to an HTTP app and starts consuming. The app's global
 * configuration is shared with the transport, so the error filter registered here reaches the
 * event handlers (it must be in place before the handlers are wired).
 */
export async function startEventConsumers(app: INestApplication): Promise<void> {
  app.useGlobalFilters(new RethrowRpcErrorsFilter(app.getHttpAdapter()));
  app.connectMicroservice({ strategy: app.get(JetStreamServer) }, { inheritAppConfig: true });
  await app.startAllMicroservices();
}
