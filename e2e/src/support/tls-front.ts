import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { createProxyServer } from 'http-proxy-3';

/** A self-signed certificate for these IP addresses (openssl). */
export function certificateFor(addresses: string[]): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-tls-'));
  try {
    const san = addresses.map((address) => `IP:${address}`).join(',');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=flotilla-e2e', '-days', '2', '-addext', `subjectAltName=${san}`], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Flotilla's one address as an ingress gives it: TLS terminated here, requests and upgrades
 * passed to the tunnel broker's plain HTTP port.
 */
export class TlsFront {
  private readonly server: Server;
  private readonly proxy = createProxyServer({ xfwd: true });

  constructor(tls: { cert: string; key: string }, target: string) {
    this.proxy.on('error', (_error, _request, response) => {
      if (response && 'writeHead' in response && !response.headersSent) response.writeHead(502).end();
      else response?.destroy();
    });
    this.server = createServer(tls, (request, response) => this.proxy.web(request, response, { target }));
    // Any upgrade (WebSocket or SPDY, as kubectl falls back to it), relayed byte for byte.
    this.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const { hostname, port } = new URL(target);
      const upstream = connect(Number(port), hostname, () => {
        const lines = [`${request.method} ${request.url} HTTP/1.1`];
        for (let i = 0; i < request.rawHeaders.length; i += 2) lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
        upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
        upstream.write(head);
        socket.pipe(upstream).pipe(socket);
      });
      for (const end of [socket, upstream]) end.on('error', () => undefined);
      socket.on('close', () => upstream.destroy());
      upstream.on('close', () => socket.destroy());
    });
  }

  async listen(host: string): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    this.proxy.close();
  }
}
