import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino from 'pino';
import { REDACT_PATHS, REDACTED, redactLine } from './redaction.js';

export interface CreateLoggerOptions {
  /** Written as the `service` field of every line. */
  name: string;
  /** pino level name (trace, debug, info, warn, error, fatal, silent); defaults to LOG_LEVEL, then `info`. */
  level?: string;
  /** Where lines go; defaults to stdout. */
  destination?: pino.DestinationStream;
}

export type Logger = pino.Logger;

/**
 * JSON lines logger shared by every service:
 * `{"level":"info","time":"2025-01-01T12:00:00.000Z","service":"inventory","trace_id":"…","span_id":"…","msg":"…"}`.
 * trace_id/span_id come from the span active when the line is written, so a log search can jump
 * to the trace; they are absent outside a span.
 */
export function createLogger(options: CreateLoggerOptions): Logger {
  const loggerOptions: pino.LoggerOptions = {
    level: resolveLevel(options.level ?? process.env.LOG_LEVEL ?? 'info'),
    // Replaces pid/hostname: one process per container, and the collector adds pod and node.
    base: { service: options.name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: activeTraceFields,
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    hooks: { streamWrite: redactLine },
  };
  return options.destination ? pino(loggerOptions, options.destination) : pino(loggerOptions);
}

function activeTraceFields(): { trace_id?: string; span_id?: string } {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

// pino would throw "unknown level" too, but without saying where the value came from.
function resolveLevel(level: string): string {
  const normalized = level.trim().toLowerCase();
  const known = [...Object.keys(pino.levels.values), 'silent'];
  if (known.includes(normalized)) return normalized;
  throw new Error(`Unknown log level "${level}" (from options.level or LOG_LEVEL); expected one of ${known.join(', ')}`);
}
