import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { constants, type ClientHttp2Session, type ClientHttp2Stream, type Http2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import { stalledCallerTimeout, type ForwardOptions, type ForwardResult } from './forward.js';
import { forwardableHeaders } from './headers.js';
import { relay } from './relay.js';

/** The most of a refused upgrade's body relayed back (an error Status is small). */
const MAX_REFUSAL_BODY = 1024 * 1024;

/**
 * Carries one HTTP/1.1 Upgrade (WebSocket exec/attach/port-forward, SPDY/3.1, any other) to an
 * agent as an HTTP/2 extended CONNECT stream (RFC 8441) with `:protocol` = the Upgrade value and
 * the request's end-to-end headers. When the agent answers 200 the caller gets `101 Switching
 * Protocols` with the agent's response headers (Sec-WebSocket-Accept, Sec-WebSocket-Protocol,
 * X-Stream-Protocol-Version), then the bytes flow both ways untouched, `head` first; either side
 * closing closes the other. Any other answer goes back as an ordinary response, then the
 * connection closes. Resolves when both sides are closed: status 101 for a relayed upgrade.
 */
export function relayUpgrade(session: ClientHttp2Session, request: IncomingMessage, socket: Duplex, head: Buffer, options: ForwardOptions = {}): Promise<ForwardResult> {
  return new Promise((resolve) => {
    let bytesIn = 0;
    let bytesOut = 0;
    let status = 502;
    socket.on('error', () => socket.destroy());
    const protocol = request.headers.upgrade;
    if (!protocol) {
      refuse(socket, 400, 'not an upgrade request');
      return resolve({ status: 400, bytesIn, bytesOut });
    }
    let stream: ClientHttp2Stream;
    try {
      stream = session.request({ ...forwardableHeaders(request.headers, options.drop), ...options.headers, ':method': 'CONNECT', ':protocol': protocol, ':path': options.path ?? request.url ?? '/', ':scheme': 'https' });
    } catch (error) {
      refuse(socket, 502, `the cluster's agent could not take the upgrade: ${(error as Error).message}`);
      return resolve({ status: 502, bytesIn, bytesOut });
    }
    let closed = 0;
    const closedOne = () => {
      if (++closed === 2) resolve({ status, bytesIn, bytesOut });
    };
    socket.once('close', closedOne);
    stream.once('close', closedOne);
    endTogether(stream, socket);
    stream.on('error', () => undefined); // 'close' follows
    stream.once('response', (headers) => {
      status = Number(headers[':status'] ?? 502);
      if (status !== 200) return refuseWith(stream, socket, status, headers);
      status = 101;
      socket.write(head101(protocol, forwardableHeaders(headers)));
      if (head.length > 0) {
        bytesIn += head.length;
        stream.write(head);
      }
      relay(stream, socket, { onChunk: (chunk) => (bytesOut += chunk.length), stalledAfterMs: stalledCallerTimeout(options) });
      relay(socket, stream, { onChunk: (chunk) => (bytesIn += chunk.length) });
    });
  });
}

/**
 * An HTTP/2 stream and the socket it is spliced with close together: a clean end on one side
 * closes the other once what was written has gone out (RST_STREAM NO_ERROR waits for it), a
 * reset or a broken connection closes the other at once.
 */
export function endTogether(stream: Http2Stream, socket: Duplex): void {
  socket.once('close', () => {
    if (!stream.closed) stream.close(socket.readableEnded ? constants.NGHTTP2_NO_ERROR : constants.NGHTTP2_CANCEL);
  });
  stream.once('close', () => {
    if (socket.destroyed) return;
    if (stream.rstCode !== constants.NGHTTP2_NO_ERROR || socket.writableFinished) return void socket.destroy();
    socket.end(() => socket.destroy());
  });
}

function head101(protocol: string, headers: OutgoingHttpHeaders): string {
  return `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n${headerLines(headers)}\r\n`;
}

/** An answer other than 200: relayed as an ordinary HTTP/1.1 response with its body, then the connection closes. */
function refuseWith(stream: ClientHttp2Stream, socket: Duplex, status: number, headers: Record<string, unknown>): void {
  const chunks: Buffer[] = [];
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    if (size < MAX_REFUSAL_BODY) chunks.push(chunk);
    size += chunk.length;
  });
  stream.once('end', () => {
    const body = Buffer.concat(chunks).subarray(0, MAX_REFUSAL_BODY);
    const { 'content-length': _length, ...rest } = forwardableHeaders(headers as Parameters<typeof forwardableHeaders>[0]);
    socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${headerLines({ ...rest, 'content-length': body.length, connection: 'close' })}\r\n`), body]));
  });
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: status === 400 ? 'BadRequest' : 'ServiceUnavailable', code: status });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${headerLines({ 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' })}\r\n${body}`);
}

/** `Name: value` lines of HTTP/1.1 (one per value of a repeated header); values with line breaks are left out. */
export function headerLines(headers: OutgoingHttpHeaders): string {
  let lines = '';
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) {
      const text = String(one);
      if (!/[\r\n]/.test(text)) lines += `${name}: ${text}\r\n`;
    }
  }
  return lines;
}
