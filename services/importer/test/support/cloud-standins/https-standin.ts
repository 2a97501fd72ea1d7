import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { testTls } from './test-tls.js';

export interface StandinRequest {
  method: string;
  /** The path as sent (still percent-encoded), without the query. */
  rawPath: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface StandinReply {
  status: number;
  json?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

export type StandinHandler = (request: StandinRequest) => StandinReply | Promise<StandinReply>;

/**
 * A cloud API stand-in: real HTTPS on 127.0.0.1 with the test CA's certificate, every request
 * recorded (method and path) so tests can tell what the SDK called.
 */
export class HttpsStandin {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    /** `METHOD /path` of every request, in order. */
    readonly calls: string[],
  ) {}

  static async start(handler: StandinHandler): Promise<HttpsStandin> {
    const tls = testTls();
    const calls: string[] = [];
    const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const rawUrl = request.url ?? '/';
        const url = new URL(rawUrl, `https://${request.headers.host ?? '127.0.0.1'}`);
        const method = request.method ?? 'GET';
        calls.push(`${method} ${url.pathname}`);
        Promise.resolve()
          .then(() => handler({ method, rawPath: rawUrl.split('?')[0] ?? '/', url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') }))
          .catch((error: unknown): StandinReply => ({ status: 500, json: { message: `stand-in failed: ${String(error)}` } }))
          .then((reply) => {
            const body = reply.json === undefined ? (reply.text ?? '') : JSON.stringify(reply.json);
            response.writeHead(reply.status, { 'content-type': reply.json === undefined ? 'text/plain' : 'application/json', ...reply.headers });
            response.end(body);
          }, () => response.destroy());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new HttpsStandin(server, `https://127.0.0.1:${port}`, calls);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
