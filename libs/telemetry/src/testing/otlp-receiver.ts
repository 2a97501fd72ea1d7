import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import {
  decodeJsonRequest,
  decodeProtobufRequest,
  OtlpDecodeError,
  type DecodedResourceSpans,
} from './otlp-decode.js';

export type ReceivedSpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';

/** One span as a test wants to look at it: resource and scope folded in, attributes as plain values. */
export interface ReceivedSpan {
  /** Lower-case hex, as in OTLP JSON. */
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId?: string;
  name: string;
  kind: ReceivedSpanKind;
  /** The resource's service.name. */
  serviceName?: string;
  /** int64 values are numbers when exact (decimal strings beyond 2^53), bytes are Buffers. */
  attributes: Record<string, unknown>;
  /** Decimal strings: nanoseconds since the epoch do not fit a double exactly. */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  status: { code: 'unset' | 'ok' | 'error'; message?: string };
  events: { name: string; timeUnixNano: string; attributes: Record<string, unknown> }[];
  /** Instrumentation scope, e.g. @opentelemetry/instrumentation-pg. */
  scope: { name: string; version?: string };
  resource: Record<string, unknown>;
}

export interface OtlpReceiver {
  /** Base URL, for OTEL_EXPORTER_OTLP_ENDPOINT (exporters append /v1/traces). */
  readonly url: string;
  /** Full URL of the traces endpoint, for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. */
  readonly tracesUrl: string;
  /** Every span received so far, in arrival order. */
  spans(): ReceivedSpan[];
  /**
   * Resolves with all received spans matching `predicate` as soon as there is at least one;
   * rejects after `timeoutMs` with what did arrive, to make a failing test readable.
   */
  waitFor(predicate: (span: ReceivedSpan) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Forgets the spans received so far. */
  reset(): void;
  close(): Promise<void>;
}

const KINDS: ReceivedSpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS_CODES = ['unset', 'ok', 'error'] as const;
const MAX_BODY_BYTES = 32 * 1024 * 1024;

/**
 * A real OTLP/HTTP trace receiver on 127.0.0.1 (random port) for tests that run services as
 * processes: point OTEL_EXPORTER_OTLP_ENDPOINT at `url`. Accepts POST /v1/traces as JSON or
 * protobuf, gzip/deflate encoded or not, and answers like a collector.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  let received: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const waiters = new Set<() => void>();

  const server = createServer((request, response) => {
    handle(request, response).then(
      (spans) => {
        if (spans.length === 0) return;
        received.push(...spans);
        for (const check of [...waiters]) check();
      },
      (error: unknown) => {
        const status = error instanceof HttpError ? error.status : error instanceof OtlpDecodeError ? 400 : 500;
        const message = error instanceof Error ? error.message : String(error);
        rejected.push(`${status} ${message}`);
        if (!response.headersSent) response.writeHead(status, { 'content-type': 'text/plain' });
        response.end(message);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    tracesUrl: `${url}/v1/traces`,
    spans: () => [...received],
    reset: () => {
      received = [];
    },
    waitFor: (predicate, timeoutMs = 5_000) =>
      new Promise<ReceivedSpan[]>((resolve, reject) => {
        const check = (): void => {
          const matching = received.filter(predicate);
          if (matching.length === 0) return;
          settle();
          resolve(matching);
        };
        const timer = setTimeout(() => {
          settle();
          const names = received.map((span) => `${span.serviceName ?? '?'}/${span.name}`);
          reject(
            new Error(
              `No matching span within ${timeoutMs} ms. Received ${received.length}: [${names.join(', ')}]` +
                (rejected.length > 0 ? `; rejected requests: ${rejected.join('; ')}` : ''),
            ),
          );
        }, timeoutMs);
        const settle = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<ReceivedSpan[]> {
  const path = new URL(request.url ?? '/', 'http://receiver').pathname;
  if (path !== '/v1/traces') throw new HttpError(404, `only /v1/traces is served here, not ${path}`);
  if (request.method !== 'POST') throw new HttpError(405, 'use POST');

  const contentType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const body = await decompress(await readBody(request), request.headers['content-encoding']);

  let batches: DecodedResourceSpans[];
  if (contentType === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new OtlpDecodeError(`body is not JSON: ${(error as Error).message}`);
    }
    batches = decodeJsonRequest(parsed);
    // An empty ExportTraceServiceResponse: no partial_success means everything was accepted.
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  } else if (contentType === 'application/x-protobuf') {
    batches = decodeProtobufRequest(body);
    response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  } else {
    throw new HttpError(415, `unsupported content-type "${contentType}": send application/json or application/x-protobuf`);
  }
  return flatten(batches);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

async function decompress(body: Buffer, encoding: string | undefined): Promise<Buffer> {
  switch (encoding?.trim().toLowerCase()) {
    case undefined:
    case '':
    case 'identity':
      return body;
    case 'gzip':
      return promisify(gunzip)(body);
    case 'deflate':
      return promisify(inflate)(body);
    default:
      throw new HttpError(415, `unsupported content-encoding "${encoding}"`);
  }
}

function flatten(batches: DecodedResourceSpans[]): ReceivedSpan[] {
  return batches.flatMap(({ resource, scopeSpans }) => {
    const serviceName = typeof resource['service.name'] === 'string' ? resource['service.name'] : undefined;
    return scopeSpans.flatMap(({ scope, spans }) =>
      spans.map((span): ReceivedSpan => ({
        traceId: span.traceId,
        spanId: span.spanId,
        ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
        name: span.name,
        kind: KINDS[span.kind] ?? 'unspecified',
        ...(serviceName !== undefined ? { serviceName } : {}),
        attributes: span.attributes,
        startTimeUnixNano: span.startTimeUnixNano,
        endTimeUnixNano: span.endTimeUnixNano,
        status: {
          code: STATUS_CODES[span.status.code] ?? 'unset',
          ...(span.status.message ? { message: span.status.message } : {}),
        },
        events: span.events,
        scope,
        resource,
      })),
    );
  });
}
