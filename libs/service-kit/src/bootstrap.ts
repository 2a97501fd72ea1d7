import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuditTrail } from '@flotilla/auth';
import { startEventConsumers } from '@flotilla/messaging';
import type { ServiceName } from '@flotilla/contracts';
import { createLogger, PinoNestLogger, startTelemetry } from '@flotilla/telemetry';
import type { z } from 'zod';
import { ConfigError, loadConfig, type CommonConfig } from './config.js';
import { PrototypedExpressAdapter } from './express-adapter.js';
import { collectProcessMetrics, httpTelemetry } from './http-telemetry.js';
import { JsonBodyInterceptor, useStrictJsonBodies } from './json-bodies.js';

/** How often a start that has not finished says what it is waiting on. */
const STARTUP_REPORT_MS = 30_000;

export interface ServiceDefinition<S extends z.ZodObject> {
  name: ServiceName;
  config: S;
  module: (config: z.infer<S>) => DynamicModule;
  /** Extra HTTP setup (OpenAPI, validation) before the app listens. */
  configureHttp?: (app: INestApplication, config: z.infer<S>) => void | Promise<void>;
}

export interface RunOptions {
  /** Where configuration comes from (tests pass their own). */
  env?: NodeJS.ProcessEnv;
  /** Stop gracefully on SIGTERM/SIGINT and exit; off for services started inside a test. */
  handleSignals?: boolean;
}

export interface RunningService {
  app: INestApplication;
  url: string;
  stop(): Promise<void>;
}

/** The certificate and key to serve HTTPS with, when configured; unreadable files stop start-up naming the variable. */
function tlsFiles(config: CommonConfig): { cert: Buffer; key: Buffer } | undefined {
  if (!config.TLS_CERT_FILE || !config.TLS_KEY_FILE) return undefined;
  const read = (name: 'TLS_CERT_FILE' | 'TLS_KEY_FILE') => {
    try {
      return readFileSync(config[name]!);
    } catch (error) {
      throw new ConfigError([`${name}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`]);
    }
  };
  return { cert: read('TLS_CERT_FILE'), key: read('TLS_KEY_FILE') };
}

/**
 * Starts a service: validated configuration (a bad variable stops start-up naming it),
 * telemetry, JSON logs, migrations, event consumers, HTTP; stops gracefully on SIGTERM/SIGINT:
 * no more pulls, in-flight batches finished, outbox flushed, connections drained, spans flushed.
 */
export async function runService<S extends z.ZodObject>(definition: ServiceDefinition<S>, options: RunOptions = {}): Promise<RunningService> {
  const handleSignals = options.handleSignals ?? true;
  let config: z.infer<S> & CommonConfig & { PORT: number };
  let httpsOptions: { cert: Buffer; key: Buffer } | undefined;
  try {
    config = loadConfig(definition.config, options.env) as z.infer<S> & CommonConfig & { PORT: number };
    httpsOptions = tlsFiles(config);
  } catch (error) {
    if (error instanceof ConfigError && handleSignals) {
      process.stderr.write(`${definition.name}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }

  const telemetry = await startTelemetry({ serviceName: definition.name });
  const logger = createLogger({ name: definition.name, level: config.LOG_LEVEL });
  collectProcessMetrics();
  // A start that waits on something (PostgreSQL, NATS, a bucket) says what, instead of staying silent.
  const startedAt = performance.now();
  let phase = 'creating the application (database migrations, bus connection, version policy)';
  const slowStart = setInterval(() => logger.warn({ phase, seconds: Math.round((performance.now() - startedAt) / 1000) }, `${definition.name} still starting`), STARTUP_REPORT_MS);
  slowStart.unref();
  let app: INestApplication;
  try {
    app = await NestFactory.create(definition.module(config), new PrototypedExpressAdapter(), { logger: new PinoNestLogger(logger), abortOnError: false, ...(httpsOptions ? { httpsOptions } : {}) });
    // First: the rest of the request, the audit trail included, runs in its server span.
    app.use(httpTelemetry(logger));
    // Every finished request passes the audit trail, refusals included (the guard throws before any interceptor).
    app.use(app.get(AuditTrail).middleware());
    try {
      await definition.configureHttp?.(app, config);
      useStrictJsonBodies(app);
      app.useGlobalInterceptors(new JsonBodyInterceptor());
      phase = 'starting the event consumers';
      await startEventConsumers(app);
      phase = 'listening';
      await app.listen(config.PORT, '0.0.0.0');
    } catch (error) {
      // What started (bus connections, consumers, listeners) is closed again: a failed start leaves nothing running.
      await app.close().catch((closing: unknown) => logger.error({ err: closing }, 'closing after a failed start failed too'));
      await telemetry.shutdown().catch(() => undefined);
      throw error;
    }
  } finally {
    clearInterval(slowStart);
  }
  const address = (app.getHttpServer() as Server).address() as AddressInfo;
  const url = `${httpsOptions ? 'https' : 'http'}://127.0.0.1:${address.port}`;
  logger.info({ url, bus: config.BUS_PREFIX }, `${definition.name} listening`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      const force = setTimeout(() => {
        logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'graceful shutdown took too long; exiting');
        process.exit(1);
      }, config.SHUTDOWN_TIMEOUT_MS);
      force.unref();
      await app.close();
      await telemetry.shutdown();
      clearTimeout(force);
    })());

  for (const signal of handleSignals ? (['SIGTERM', 'SIGINT'] as const) : []) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
  return { app, url, stop };
}
