import {
  getBooleanFromEnv,
  getStringFromEnv,
  getStringListFromEnv,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NoopSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface TelemetryOptions {
  /** service.name; OTEL_SERVICE_NAME wins when set. */
  serviceName: string;
  serviceVersion?: string;
  /** Extra processors, added next to the exporter chosen by OTEL_TRACES_EXPORTER (tests use this). */
  spanProcessors?: SpanProcessor[];
}

export interface Telemetry {
  /** The service.name actually put on the resource. */
  readonly serviceName: string;
  /** False when OTEL_SDK_DISABLED=true: nothing was installed. */
  readonly enabled: boolean;
  /** Flushes pending spans and stops the SDK. Safe to call more than once; never rejects. */
  shutdown(): Promise<void>;
}

/** Values accepted by OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL. */
export type OtlpTracesProtocol = 'http/json' | 'http/protobuf' | 'grpc';

// Kept on globalThis rather than in module scope so that two copies of this package in one process
// (or the register entry point plus the app) still share one SDK: OpenTelemetry's globals can only
// be registered once.
const STATE = Symbol.for('@flotilla/telemetry.instance');
type TelemetryGlobal = typeof globalThis & { [STATE]?: Promise<Telemetry> };

/**
 * Starts OpenTelemetry tracing for this process: HTTP and PostgreSQL instrumentation, W3C trace
 * context propagation and an OTLP exporter configured by the standard OTEL_* variables.
 *
 * Idempotent: the first call wins and every later call returns the same instance, whatever options
 * it passes. When the process was started with `--import @flotilla/telemetry/register`, that first
 * call already happened, and a service's own call just obtains the instance to shut it down.
 */
export function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const state = globalThis as TelemetryGlobal;
  state[STATE] ??= start(options);
  return state[STATE];
}

async function start(options: TelemetryOptions): Promise<Telemetry> {
  const serviceName = getStringFromEnv('OTEL_SERVICE_NAME')?.trim() ?? options.serviceName;
  if (getBooleanFromEnv('OTEL_SDK_DISABLED')) {
    // Do not even construct instrumentations: constructing one enables its module hooks.
    return { serviceName, enabled: false, shutdown: async () => {} };
  }

  const configured = [...(await spanProcessorsFromEnv()), ...(options.spanProcessors ?? [])];
  // The SDK installs no tracer provider without a processor, and then nothing has a trace id:
  // not the API's answers, not the events, not the log lines. With nowhere to send spans
  // (OTEL_TRACES_EXPORTER=none), a processor that drops them keeps a real provider, so ids are
  // made and propagated, and sampled the usual way (OTEL_TRACES_SAMPLER, by default the parent's
  // decision, else always): a service without a collector never un-samples the traces of one with.
  const spanProcessors = configured.length > 0 ? configured : [new NoopSpanProcessor()];
  const sdk = new NodeSDK({
    serviceName,
    // defaultResource() keeps telemetry.sdk.*; detectors (OTEL_RESOURCE_ATTRIBUTES, host, process)
    // are merged over this by the SDK, so operators can still override service.version.
    resource: defaultResource().merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: serviceName,
        ...(options.serviceVersion ? { [ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
      }),
    ),
    spanProcessors,
    // Flotilla exports traces only. Without these the SDK would also start OTLP metric and log
    // exporters from the environment, pushing to endpoints that may not accept them.
    metricReaders: [],
    logRecordProcessors: [],
    textMapPropagator: new W3CTraceContextPropagator(),
    instrumentations: [
      new HttpInstrumentation(),
      // Bind values stay out of spans: they may carry credentials or kubeconfigs.
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
    ],
  });
  sdk.start();

  let stopped: Promise<void> | undefined;
  const telemetry: Telemetry = {
    serviceName,
    enabled: true,
    shutdown: () =>
      (stopped ??= sdk.shutdown().catch((error: unknown) => {
        // A collector that is down must not turn a clean shutdown into a crash; say so on stderr.
        process.emitWarning(`@flotilla/telemetry: flushing spans failed: ${describe(error)}`);
      })),
  };
  // Scripts (migrations, one-off jobs) end by draining the event loop; flush their spans then.
  // Servers shut down through Nest and call shutdown() themselves.
  process.once('beforeExit', () => void telemetry.shutdown());
  return telemetry;
}

/** Span processors for OTEL_TRACES_EXPORTER (default `otlp`); a misconfiguration fails startup. */
async function spanProcessorsFromEnv(): Promise<SpanProcessor[]> {
  const exporters = [...new Set(getStringListFromEnv('OTEL_TRACES_EXPORTER') ?? ['otlp'])];
  if (exporters.includes('none')) return [];
  const processors: SpanProcessor[] = [];
  for (const name of exporters) {
    switch (name) {
      case 'otlp':
        // BatchSpanProcessor from sdk-trace-base reads OTEL_BSP_* itself.
        processors.push(new BatchSpanProcessor(await createOtlpExporter(otlpTracesProtocol())));
        break;
      case 'console':
        processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
        break;
      default:
        throw new Error(`OTEL_TRACES_EXPORTER: unsupported exporter "${name}" (supported: otlp, console, none)`);
    }
  }
  return processors;
}

function otlpTracesProtocol(): OtlpTracesProtocol {
  const value = (
    getStringFromEnv('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ??
    getStringFromEnv('OTEL_EXPORTER_OTLP_PROTOCOL') ??
    // The spec's default is http/protobuf; http/json is what the OTLP/HTTP exporter speaks natively,
    // every collector accepts it on :4318, and the test receiver reads it.
    'http/json'
  ).trim();
  if (value === 'http/json' || value === 'http/protobuf' || value === 'grpc') return value;
  throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL: unsupported value "${value}" (supported: http/json, http/protobuf, grpc)`);
}

// Each exporter reads its endpoint, headers, timeout and compression from OTEL_EXPORTER_OTLP_*.
// The protobuf and gRPC ones are loaded only when asked for: gRPC pulls in a large dependency tree.
async function createOtlpExporter(protocol: OtlpTracesProtocol): Promise<SpanExporter> {
  switch (protocol) {
    case 'http/json': {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      return new OTLPTraceExporter();
    }
    case 'http/protobuf': {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
      return new OTLPTraceExporter();
    }
    case 'grpc': {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
      return new OTLPTraceExporter();
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
