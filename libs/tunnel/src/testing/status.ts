import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** A Kubernetes object as the stand-in keeps it: plain JSON with metadata. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  [field: string]: unknown;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  500: 'InternalError',
};

/** A failure the API server answers with a v1 Status. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason = REASONS[code] ?? 'Unknown',
    readonly details?: { name?: string; kind?: string },
  ) {
    super(message);
  }
}

export function statusOf(code: number, message: string, reason = REASONS[code] ?? 'Unknown', details?: object): KubeObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

export function sendJson(response: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

export function sendError(response: ServerResponse, error: ApiError): void {
  sendJson(response, error.code, statusOf(error.code, error.message, error.reason, error.details));
}

/** Answers an upgrade request with an ordinary HTTP/1.1 response carrying a v1 Status, then closes. */
export function refuseUpgrade(socket: Duplex, error: ApiError): void {
  const text = JSON.stringify(statusOf(error.code, error.message, error.reason, error.details));
  socket.end(`HTTP/1.1 ${error.code} ${error.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}
