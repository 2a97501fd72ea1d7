import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { KUBERNETES_AUTHORITY } from '@flotilla/tunnel';

/** The `:authority` of the broker's commands to the agent (`kubernetes.default.svc` is the cluster's API). */
export const CONTROL_AUTHORITY = 'control.flotilla';
const MAX_CERTIFICATE_BYTES = 64 * 1024;

export interface ControlTarget {
  /** Checks and keeps a renewed certificate for the agent's key; a reason when it cannot be the agent's. */
  renewCertificate(certificatePem: string): Promise<{ refused: string } | undefined>;
  /** Forgets the credential for good (keeps the stopped marker); the answer is sent only once this resolves. */
  stop(): Promise<void>;
  /** After the answer to a stop went out: closes the link. */
  afterStop(): void;
}

/**
 * The broker's commands on the tunnel (`:authority` control.flotilla):
 * `PUT /certificate` (body: the renewed PEM certificate) and `POST /stop` (the cluster was removed
 * from Flotilla). Both answer 204; a certificate that is not the agent's is a 400, a failure to
 * store is a 503 (the broker may try again).
 */
export function controlHandler(target: ControlTarget): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  return (stream, headers) => {
    const method = headers[':method'];
    const path = (headers[':path'] ?? '/').split('?')[0];
    if (path === '/certificate') {
      if (method !== 'PUT') return refuse(stream, 405, { code: 'method-not-allowed', message: 'PUT a PEM certificate' }, { allow: 'PUT' });
      void readBody(stream, MAX_CERTIFICATE_BYTES)
        .then(async (body) => {
          const result = await target.renewCertificate(body);
          if (result) answer(stream, 400, { code: 'certificate-refused', message: `the certificate ${result.refused}` });
          else answer(stream, 204);
        })
        .catch((error: Error) => answer(stream, error instanceof TooLargeError ? 413 : 503, { code: error instanceof TooLargeError ? 'too-large' : 'not-stored', message: error.message }));
      return;
    }
    if (path === '/stop') {
      if (method !== 'POST') return refuse(stream, 405, { code: 'method-not-allowed', message: 'POST to stop the agent' }, { allow: 'POST' });
      stream.resume();
      void target
        .stop()
        .then(() => {
          if (stream.closed || stream.destroyed) return target.afterStop();
          stream.once('close', () => target.afterStop());
          answer(stream, 204);
        })
        .catch((error: Error) => answer(stream, 503, { code: 'not-stored', message: error.message }));
      return;
    }
    refuse(stream, 404, { code: 'not-found', message: `no command ${method ?? ''} ${path ?? ''}` });
  };
}

/** Any `:authority` the agent does not serve. */
export function unknownAuthority(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  refuse(stream, 404, { code: 'not-found', message: `this agent serves ${KUBERNETES_AUTHORITY} and ${CONTROL_AUTHORITY}, not ${String(headers[':authority'] ?? '(none)')}` });
}

class TooLargeError extends Error {}

function readBody(stream: ServerHttp2Stream, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    stream.once('end', () => (size > limit ? reject(new TooLargeError(`the body is larger than ${limit} bytes`)) : resolve(Buffer.concat(chunks).toString('utf8'))));
    stream.once('error', reject);
  });
}

/** Answers without reading what the request carries. */
function refuse(stream: ServerHttp2Stream, status: number, body: object, headers: Record<string, string> = {}): void {
  stream.resume();
  answer(stream, status, body, headers);
}

function answer(stream: ServerHttp2Stream, status: number, body?: object, headers: Record<string, string> = {}): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  if (body === undefined) {
    stream.respond({ ':status': status, ...headers }, { endStream: true });
    return;
  }
  stream.respond({ ':status': status, 'content-type': 'application/json', ...headers });
  stream.end(JSON.stringify(body));
}
