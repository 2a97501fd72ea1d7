import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthenticatedRequest } from '@flotilla/auth';
import { requestSpan, traceResponseHeader, type Logger } from '@flotilla/telemetry';
import { collectDefaultMetrics, Histogram, register } from 'prom-client';

/** Probes and scrapes: every few seconds from every replica, and nothing to learn from each. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
/** The route of a request no controller matched: its raw path may be anything, so it is not a label. */
export const UNMATCHED_ROUTE = '(unmatched)';

const DURATION_METRIC = 'flotilla_http_request_duration_seconds';

function requestDuration(): Histogram<'method' | 'route' | 'status'> {
  return (
    (register.getSingleMetric(DURATION_METRIC) as Histogram<'method' | 'route' | 'status'> | undefined) ??
    new Histogram({
      name: DURATION_METRIC,
      help: 'Time to answer an HTTP request, by method, route (the pattern) and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    })
  );
}

/** Process and runtime metrics (CPU, memory, event loop lag, GC, handles), once per process. */
export function collectProcessMetrics(): void {
  if (register.getSingleMetric('process_cpu_user_seconds_total')) return;
  collectDefaultMetrics();
}

/**
 * Express middleware, first of all: every request runs in its server span, its answer (errors
 * included) says which trace it joined (`traceresponse`, W3C Trace Context level 2, and
 * `x-trace-id`), and once answered it is counted in `flotilla_http_request_duration_seconds` and
 * written as one access log line: method, route pattern, status, duration, caller (token subject
 * or `anonymous`, never the token) and the trace id. Probes and scrapes are neither logged nor counted.
 */
export function httpTelemetry(logger: Logger): (request: IncomingMessage, response: ServerResponse, next: () => void) => void {
  const duration = requestDuration();
  return (request, response, next) => {
    const started = performance.now();
    const method = request.method ?? 'GET';
    const span = requestSpan(method, request.headers);
    if (span.spanContext) {
      response.setHeader('traceresponse', traceResponseHeader(span.spanContext));
      response.setHeader('x-trace-id', span.spanContext.traceId);
    }
    response.on('close', () => {
      const req = request as IncomingMessage & AuthenticatedRequest;
      const route = req.route?.path ?? req.audit?.route ?? UNMATCHED_ROUTE;
      const status = response.statusCode;
      span.end(route, status);
      if (QUIET_PATHS.has((request.url ?? '').split('?')[0]!)) return;
      const durationMs = performance.now() - started;
      duration.observe({ method, route, status: String(status) }, durationMs / 1000);
      const caller = req.principal?.subject ?? req.audit?.principal?.subject ?? 'anonymous';
      const fields = { method, route, status, durationMs: Math.round(durationMs * 10) / 10, caller, ...(response.writableFinished ? {} : { aborted: true }) };
      // In the request's context, so the line carries its trace_id and span_id.
      span.run(() => logger.info(fields, 'request'));
    });
    span.run(next);
  };
}
