import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface InMemorySpans {
  readonly exporter: InMemorySpanExporter;
  /** Spans ended so far, oldest first. */
  spans(): ReadableSpan[];
  /** Forgets the spans recorded so far. */
  reset(): void;
  /** Uninstalls the globals so another test file in the same process can install its own. */
  shutdown(): Promise<void>;
}

/**
 * Installs a real global tracer provider that keeps spans in memory, with the same context manager
 * (AsyncLocalStorage) and propagator (W3C trace context) as production, so code under test that
 * uses `@opentelemetry/api` behaves as in a service. Spans are exported synchronously when they end.
 *
 * Replaces whatever global provider was installed before: tests want exactly this one.
 */
export function useInMemorySpans(options: { serviceName?: string } = {}): InMemorySpans {
  disableGlobals();
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName ?? 'flotilla-test' }),
    ),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());

  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    shutdown: async () => {
      await provider.shutdown();
      contextManager.disable();
      disableGlobals();
    },
  };
}

function disableGlobals(): void {
  trace.disable();
  context.disable();
  propagation.disable();
}
