// A stand-in for the broker's enrollment endpoint (`POST /api/v1/tunnels/enrollments`), over
// HTTPS, answering as the protocol says: 201 with a certificate for the request's key, 404 for
// an unknown token, 410 for a used, expired or revoked one, 400 naming a bad field.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Issued, TestCa } from './pki.js';

export type TokenState = 'issued' | 'used' | 'expired' | 'revoked';

export interface EnrollmentSeen {
  token: string;
  agentId: unknown;
  agentVersion: unknown;
  status: number;
}

export class EnrollmentServer {
  readonly seen: EnrollmentSeen[] = [];
  private readonly tokens = new Map<string, { clusterId: string; state: TokenState }>();
  private readonly server: Server;
  private port = 0;

  constructor(
    private readonly ca: TestCa,
    certificate: Issued,
    /** The agent listener's `host:port`, as the answer gives it. */
    private readonly tunnelAddress: () => string,
  ) {
    this.server = createServer({ cert: certificate.cert, key: certificate.key }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        void this.answer(request.method, request.url, Buffer.concat(chunks).toString()).then(({ status, body }) => {
          response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        });
      });
    });
  }

  issue(token: string, clusterId: string, state: TokenState = 'issued'): void {
    this.tokens.set(token, { clusterId, state });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async answer(method: string | undefined, url: string | undefined, text: string): Promise<{ status: number; body: object }> {
    if (method !== 'POST' || url !== '/api/v1/tunnels/enrollments') return { status: 404, body: { message: 'no such route' } };
    let body: { token?: unknown; csr?: unknown; agentId?: unknown; agentVersion?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return { status: 400, body: { message: 'the body is not JSON' } };
    }
    const token = typeof body.token === 'string' ? body.token : '';
    const result = await this.decide(token, body.csr);
    this.seen.push({ token, agentId: body.agentId, agentVersion: body.agentVersion, status: result.status });
    return result;
  }

  private async decide(token: string, csr: unknown): Promise<{ status: number; body: object }> {
    const found = this.tokens.get(token);
    if (!found) return { status: 404, body: { code: 'token-unknown', message: 'no registration has this token' } };
    if (found.state !== 'issued') return { status: 410, body: { code: `token-${found.state}`, message: `the token is ${found.state}` } };
    let certificate: string;
    try {
      certificate = await this.ca.signRequest(String(csr), found.clusterId);
    } catch {
      return { status: 400, body: { code: 'invalid-request', message: 'csr: is not a PEM PKCS#10 certificate request' } };
    }
    found.state = 'used';
    return { status: 201, body: { clusterId: found.clusterId, certificate, caCertificate: this.ca.cert, tunnelAddress: this.tunnelAddress(), expiresAt: new Date(Date.now() + 86_400_000).toISOString() } };
  }
}
