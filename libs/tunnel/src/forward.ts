import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { constants, type ClientHttp2Session } from 'node:http2';
import { forwardableHeaders } from './headers.js';
import { relay, STALLED_READER_TIMEOUT_MS } from './relay.js';

export interface ForwardOptions {
  /** The path on the agent's side (the request's own by default). */
  path?: string;
  /** Headers the broker adds (the caller's identity), after dropping `drop`-ped ones. */
  headers?: OutgoingHttpHeaders;
  /** Request headers never forwarded (e.g. a caller's own `impersonate-*`, its `authorization`). */
  drop?: (name: string) => boolean;
  /**
   * How long the caller may leave the answer's bytes waiting (reading nothing) before it is cut and
   * the agent's stream cancelled, freeing what it held (`STALLED_READER_TIMEOUT_MS` by default).
   */
  stalledCallerTimeoutMs?: number;
}

/** How long the caller may read nothing of a waiting answer, as `options` say or by default. */
export function stalledCallerTimeout(options: ForwardOptions): number {
  return options.stalledCallerTimeoutMs ?? STALLED_READER_TIMEOUT_MS;
}

export interface ForwardResult {
  status: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Forwards one HTTP request to an agent as one HTTP/2 stream and the answer back, streaming both
 * ways: backpressure from a slow caller pauses only this stream (its window), never the others.
 * A caller who goes away cancels the stream.
 */
export function forwardRequest(session: ClientHttp2Session, request: IncomingMessage, response: ServerResponse, options: ForwardOptions = {}): Promise<ForwardResult> {
  return new Promise((resolve) => {
    let bytesIn = 0;
    let bytesOut = 0;
    const bodiless = request.method === 'GET' || request.method === 'HEAD' || request.method === 'DELETE' ? request.headers['content-length'] === undefined && request.headers['transfer-encoding'] === undefined : false;
    const stream = session.request(
      { ':method': request.method ?? 'GET', ':path': options.path ?? request.url ?? '/', ...forwardableHeaders(request.headers, options.drop), ...options.headers },
      { endStream: bodiless },
    );
    if (!bodiless) relay(request, stream, { onChunk: (chunk) => (bytesIn += chunk.length) });
    const finish = (status: number) => resolve({ status, bytesIn, bytesOut });
    // The agent's whole answer came: the stream ends by itself, and must not be reset (an HTTP/2
    // server drops a connection that resets too many streams; nghttp2's flood protection).
    let answered = false;
    stream.on('response', (headers) => {
      const status = Number(headers[':status'] ?? 502);
      // The headers go out at once (a watch's caller waits for them), in one write with what else
      // comes in the same turn (a small answer whole, its end included): corked until then.
      response.cork();
      response.writeHead(status, forwardableHeaders(headers));
      response.flushHeaders();
      setImmediate(() => response.uncork());
      relay(stream, response, { onChunk: (chunk) => (bytesOut += chunk.length), stalledAfterMs: stalledCallerTimeout(options) });
      stream.once('end', () => {
        answered = true;
        finish(status);
      });
    });
    stream.once('error', (error: Error) => {
      if (!response.headersSent) {
        response.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 502, error: 'Bad Gateway', message: `the cluster's agent did not answer: ${error.message}` }));
        finish(502);
      } else {
        response.destroy(error);
        finish(response.statusCode);
      }
    });
    response.once('close', () => {
      // Only a caller who left before the end (a watch closed) cancels the stream.
      if (!answered && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      if (!response.writableFinished) finish(response.statusCode);
    });
  });
}
