// The one place the CLI talks HTTP. Node's http/https modules rather than fetch: a private CA is
// passed as `ca` to https without any extra dependency (fetch's undici needs its own Agent for it).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { CliError, ExitCode, usageError } from '../errors.js';
import type { Connection } from '../config/connection.js';
import { apiErrorMessage } from './api-error.js';

export interface ApiRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Answers other than JSON (a kubeconfig, a text table). */
  accept?: string;
  /** Statuses handed back instead of thrown (e.g. 404 when absence is an answer). */
  allow?: number[];
}

export interface ApiResponse {
  status: number;
  contentType: string;
  text: string;
}

const REQUEST_TIMEOUT_MS = 30_000;
const MAX_REDIRECTS = 5;

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE']);
const UNTRUSTED_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
]);

export class ApiClient {
  private readonly ca: Buffer | undefined;

  constructor(readonly connection: Connection) {
    if (connection.caFile !== undefined) {
      try {
        this.ca = readFileSync(connection.caFile);
      } catch (error) {
        throw usageError(`CA file ${connection.caFile}: ${error instanceof Error ? error.message : String(error)}; pass --ca-file with the PEM of the CA that signed the server's certificate`);
      }
    }
  }

  /** The parsed JSON answer of a 2xx (undefined for 204). */
  async json<T>(request: ApiRequest): Promise<T> {
    const response = await this.send({ ...request, accept: request.accept ?? 'application/json' });
    if (response.status === 204 || response.text.length === 0) return undefined as T;
    try {
      return JSON.parse(response.text) as T;
    } catch {
      throw new CliError(`${request.method ?? 'GET'} ${request.path}: the server answered ${response.status} with something that is not JSON; is ${this.connection.server.origin} a Flotilla API?`);
    }
  }

  /** The raw answer; statuses of `allow` come back, any other non-2xx is thrown as a CliError saying what to do. */
  async send(request: ApiRequest): Promise<ApiResponse> {
    let url = this.url(request);
    for (let hop = 0; ; hop++) {
      const response = await this.once(url, request);
      if (response.status >= 300 && response.status < 400 && response.location !== undefined) {
        const next = new URL(response.location, url);
        // Only within the same API: a token is never sent anywhere else.
        if (next.origin !== url.origin) throw new CliError(`${request.path}: the server redirected to another origin (${next.origin}); not followed, so the token stays with ${url.origin}`);
        if (hop >= MAX_REDIRECTS) throw new CliError(`${request.path}: more than ${MAX_REDIRECTS} redirects`);
        url = next;
        continue;
      }
      if ((response.status >= 200 && response.status < 300) || request.allow?.includes(response.status)) return response;
      throw this.failure(request, response);
    }
  }

  private url(request: ApiRequest): URL {
    const base = this.connection.server.href.replace(/\/+$/, '');
    const url = new URL(`${base}${request.path}`);
    for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  }

  private once(url: URL, request: ApiRequest): Promise<ApiResponse & { location: string | undefined }> {
    const body = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
    const headers: Record<string, string> = { accept: request.accept ?? 'application/json', 'user-agent': 'flotilla-cli' };
    if (this.connection.token !== undefined) headers.authorization = `Bearer ${this.connection.token}`;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(body.length);
    }
    const options: https.RequestOptions = { method: request.method ?? 'GET', headers, timeout: REQUEST_TIMEOUT_MS };
    if (this.ca !== undefined) options.ca = this.ca;
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const outgoing = transport.request(url, options, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', (error) => reject(this.networkError(url, error)));
        incoming.on('end', () =>
          resolve({
            status: incoming.statusCode ?? 0,
            contentType: incoming.headers['content-type'] ?? '',
            text: Buffer.concat(chunks).toString('utf8'),
            location: incoming.headers.location,
          }),
        );
      });
      outgoing.on('timeout', () => outgoing.destroy(Object.assign(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      outgoing.on('error', (error) => reject(this.networkError(url, error)));
      outgoing.end(body);
    });
  }

  private networkError(url: URL, error: Error & { code?: string }): CliError {
    const code = error.code ?? '';
    if (UNTRUSTED_CODES.has(code)) {
      return new CliError(
        `the certificate of ${url.origin} is not trusted (${code}): pass --ca-file with the CA that signed it (npm start's is .data/tls/ca.crt), or set caFile in the context`,
        ExitCode.Unreachable,
      );
    }
    if (UNREACHABLE_CODES.has(code)) {
      return new CliError(`cannot reach the Flotilla API at ${url.origin} (${code}): check the address (--server or the context's server) and that the API is running`, ExitCode.Unreachable);
    }
    return new CliError(`request to ${url.origin} failed: ${error.message}`, ExitCode.Unreachable);
  }

  private failure(request: ApiRequest, response: ApiResponse): CliError {
    const what = `${request.method ?? 'GET'} ${request.path}`;
    const detail = apiErrorMessage(response.text);
    switch (response.status) {
      case 401:
        return new CliError(
          `not logged in, or the token was refused${detail ? ` (${detail})` : ''}: run flotilla login --server ${this.connection.server.origin}${this.connection.token === undefined ? '' : ' with a valid token'}`,
          ExitCode.Unauthorized,
        );
      case 403:
        return new CliError(`not allowed: ${detail ?? what}; the token's role or label scope does not cover this (ask an admin for a token that does)`, ExitCode.Unauthorized);
      case 404:
        return new CliError(detail ?? `${what}: not found`, ExitCode.NotFound);
      case 502:
      case 503:
      case 504:
        return new CliError(`${detail ?? `${what}: the API answered ${response.status}`}; try again when the service is back`, ExitCode.Unreachable);
      default:
        return new CliError(detail ? `${detail}${response.status >= 500 ? ` (${response.status})` : ''}` : `${what}: the API answered ${response.status}`);
    }
  }
}
