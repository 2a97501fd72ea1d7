import { constants as crypto } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { http2ErrorName, pingOrDrop, TUNNEL_ALPN, TUNNEL_CIPHERS, TUNNEL_CONNECTION_WINDOW, TUNNEL_MAX_SESSION_MEMORY_MB, TUNNEL_SETTINGS } from './agent-link.js';
import { clusterIdOf } from './identity.js';

export interface AgentListenerOptions {
  /** The broker's own certificate and key, and the CA agents' certificates must be signed by. */
  cert: string | Buffer;
  key: string | Buffer;
  ca: string | Buffer;
  /** Last word on a verified certificate (revoked, cluster removed): a reason refuses it. */
  refuse?: (clusterId: string, certificate: { serialNumber: string; fingerprint256: string }) => string | undefined | Promise<string | undefined>;
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
}

/** The agent's verified certificate: the broker renews it for the same key before it expires. */
export interface AgentCertificate {
  raw: Buffer;
  validTo: Date;
  serialNumber: string;
  fingerprint256: string;
}

export interface AgentSession {
  clusterId: string;
  session: ClientHttp2Session;
  certificate: AgentCertificate;
  remoteAddress: string | undefined;
  connectedAt: Date;
}

export type AgentListenerEvent =
  | { kind: 'connected'; clusterId: string; remoteAddress: string | undefined }
  | { kind: 'disconnected'; clusterId: string; reason: string }
  | { kind: 'refused'; clusterId: string | undefined; remoteAddress: string | undefined; reason: string };

/**
 * The broker's end of the tunnel: a TLS server that admits agents by their client certificate
 * (signed by the broker's CA, naming one cluster) and becomes the HTTP/2 client on each agent's
 * connection. One live session per cluster: a newer one replaces the older (a restarted agent).
 */
export class AgentListener extends EventEmitter<{ change: [AgentListenerEvent] }> {
  private readonly server: Server;
  private readonly sessions = new Map<string, AgentSession>();
  /** When each session is next pinged: one timer for all of them (thousands), not one each. */
  private readonly pingDue = new Map<AgentSession, number>();
  private pings: NodeJS.Timeout | undefined;

  constructor(private readonly options: AgentListenerOptions) {
    super();
    // No TLS 1.3 session tickets: what OpenSSL keeps for them is about 11 KB of every idle agent's
    // connection (thousands of them), and agents dial back in full anyway. AES-128-GCM first
    // (TUNNEL_CIPHERS): the server's order is the one TLS uses.
    const tls = { cert: options.cert, key: options.key, ca: options.ca, requestCert: true, rejectUnauthorized: true, ALPNProtocols: [TUNNEL_ALPN], secureOptions: crypto.SSL_OP_NO_TICKET, ciphers: TUNNEL_CIPHERS };
    this.server = createServer(tls, (socket) => void this.admit(socket));
    // A handshake that fails (no certificate, another CA) never reaches admit().
    this.server.on('tlsClientError', (error, socket) => this.emit('change', { kind: 'refused', clusterId: undefined, remoteAddress: socket.remoteAddress, reason: error.message }));
  }

  /** `backlog`: connections the kernel queues before accept (thousands of agents come back at once after a restart). */
  async listen(port = 0, host = '0.0.0.0', backlog = 4096): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, backlog }, () => resolve());
    });
    this.startPings();
    return (this.server.address() as AddressInfo).port;
  }

  /** The live session of a cluster's agent on this broker, if any. */
  session(clusterId: string): AgentSession | undefined {
    const found = this.sessions.get(clusterId);
    return found && !found.session.closed && !found.session.destroyed ? found : undefined;
  }

  get clusterIds(): string[] {
    return [...this.sessions.keys()];
  }

  /** Drops a cluster's agent (its cluster was removed, its credential revoked). */
  disconnect(clusterId: string, reason: string): void {
    const found = this.sessions.get(clusterId);
    if (!found) return;
    this.sessions.delete(clusterId);
    found.session.destroy();
    this.emit('change', { kind: 'disconnected', clusterId, reason });
  }

  async close(): Promise<void> {
    clearInterval(this.pings);
    this.pings = undefined;
    for (const clusterId of [...this.sessions.keys()]) this.disconnect(clusterId, 'broker-stopping');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async admit(socket: TLSSocket): Promise<void> {
    const peer = socket.getPeerCertificate();
    const clusterId = clusterIdOf(peer);
    const refusal = clusterId === undefined ? 'the certificate names no cluster' : await this.options.refuse?.(clusterId, { serialNumber: peer.serialNumber, fingerprint256: peer.fingerprint256 });
    if (clusterId === undefined || refusal) {
      this.emit('change', { kind: 'refused', clusterId, remoteAddress: socket.remoteAddress, reason: refusal ?? 'the certificate names no cluster' });
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const session = http2Connect(`http://${clusterId}.agents`, { createConnection: () => socket, settings: TUNNEL_SETTINGS, maxSessionMemory: TUNNEL_MAX_SESSION_MEMORY_MB });
    // Why it ended, for the 'disconnected' event: the agent's GOAWAY says more than 'close' does.
    let ended: string | undefined;
    session.on('error', (error: Error) => (ended ??= error.message)); // 'close' follows
    session.on('goaway', (code: number, lastStreamId: number) => (ended ??= `the agent ended the connection: ${http2ErrorName(code)} after stream ${lastStreamId}`));
    // Not on a session dropped before its 'connect' (replaced, disconnected): that throws, and would take the broker down.
    session.once('connect', () => {
      if (!session.destroyed) session.setLocalWindowSize(TUNNEL_CONNECTION_WINDOW);
    });
    const certificate = { raw: peer.raw, validTo: new Date(peer.valid_to), serialNumber: peer.serialNumber, fingerprint256: peer.fingerprint256 };
    const entry: AgentSession = { clusterId, session, certificate, remoteAddress: socket.remoteAddress, connectedAt: new Date() };
    const previous = this.sessions.get(clusterId);
    this.sessions.set(clusterId, entry);
    if (previous) previous.session.destroy();
    else this.emit('change', { kind: 'connected', clusterId, remoteAddress: socket.remoteAddress });
    this.pingDue.set(entry, performance.now() + (this.options.keepaliveMs ?? 10_000));
    session.once('close', () => {
      this.pingDue.delete(entry);
      if (this.sessions.get(clusterId) !== entry) return; // replaced, or dropped on purpose
      this.sessions.delete(clusterId);
      this.emit('change', { kind: 'disconnected', clusterId, reason: ended ?? 'the connection closed' });
    });
  }

  /**
   * Pings every session each `keepaliveMs` (see pingOrDrop), from one timer that looks a few
   * times per interval for the sessions that are due: a session waits at most a tenth of the
   * interval (and no more than a second) longer than its own timer would have let it.
   */
  private startPings(): void {
    if (this.pings) return;
    const every = this.options.keepaliveMs ?? 10_000;
    const timeout = this.options.keepaliveTimeoutMs ?? 5_000;
    this.pings = setInterval(
      () => {
        const now = performance.now();
        for (const entry of this.sessions.values()) {
          if ((this.pingDue.get(entry) ?? 0) > now) continue;
          this.pingDue.set(entry, now + every);
          pingOrDrop(entry.session, timeout);
        }
      },
      Math.min(1_000, every / 10),
    );
    this.pings.unref();
  }

}
