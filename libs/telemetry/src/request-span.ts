import type { IncomingHttpHeaders } from 'node:http';
import { context, isSpanContextValid, propagation, SpanKind, SpanStatusCode, trace, type Context, type SpanContext } from '@opentelemetry/api';

/** The span an incoming HTTP request is served in, and how to end it. */
export interface RequestSpan {
  /** The context to run the request's handling in (the span is active there). */
  readonly context: Context;
  /** Runs `work` with the span active: its log lines carry the trace id, its calls and events continue the trace. */
  run<T>(work: () => T): T;
  /** Its ids; undefined when no tracer provider is installed (OTEL_SDK_DISABLED) and the caller sent none. */
  readonly spanContext: SpanContext | undefined;
  /** Names the span after the route and records the status, when the span is this module's own. */
  end(route: string, status: number): void;
}

/**
 * The server span of an incoming request: the HTTP instrumentation's when it made one (services
 * run with `--import @flotilla/telemetry/register`), else one started here, continuing the
 * caller's `traceparent`, so a request has a trace id whenever a tracer provider is installed.
 */
export function requestSpan(method: string, headers: IncomingHttpHeaders): RequestSpan {
  const active = trace.getActiveSpan();
  const activeContext = active?.spanContext();
  if (activeContext && isSpanContextValid(activeContext)) {
    const current = context.active();
    return { context: current, spanContext: activeContext, run: (work) => context.with(current, work), end: () => undefined };
  }
  const parent = propagation.extract(context.active(), headers);
  const span = trace.getTracer('@flotilla/telemetry').startSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, parent);
  const spanContext = span.spanContext();
  const spanActive = trace.setSpan(parent, span);
  return {
    context: spanActive,
    run: (work) => context.with(spanActive, work),
    spanContext: isSpanContextValid(spanContext) ? spanContext : undefined,
    end: (route, status) => {
      span.updateName(`${method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': status });
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    },
  };
}

/**
 * The W3C Trace Context (level 2) `traceresponse` header of a server span:
 * `00-<trace-id>-<span-id>-<flags>`, telling the caller which trace its request joined.
 */
export function traceResponseHeader(spanContext: SpanContext): string {
  return `00-${spanContext.traceId}-${spanContext.spanId}-${(spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}
