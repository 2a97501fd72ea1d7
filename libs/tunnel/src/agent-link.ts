import { EventEmitter } from 'node:events';
import { performServerHandshake, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream, type Settings } from 'node:http2';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { DEFAULT_BACKOFF, reconnectDelay, type BackoffPolicy } from './backoff.js';

/** Large windows: one stream may carry a big transfer at full speed; each has its own window. */
export const TUNNEL_SETTINGS: Settings = { initialWindowSize: 4 * 1024 * 1024, maxConcurrentStreams: 1000, enableConnectProtocol: true };
export const TUNNEL_CONNECTION_WINDOW = 32 * 1024 * 1024;
export const TUNNEL_ALPN = 'flotilla-tunnel/1';
/** Room for what the windows allow in flight (MB): node's default (10) is below one full connection window. */
export const TUNNEL_MAX_SESSION_MEMORY_MB = 64;

export interface AgentLinkOptions {
  host: string;
  port: number;
  /** The agent's client certificate (naming its cluster) and key, and the CA the broker's certificate is checked against. */
  cert: string | Buffer;
  key: string | Buffer;
  ca: string | Buffer;
  /** The name the broker's certificate must carry; defaults to `host`. */
  servername?: string;
  /** Serves one request of the broker: a stream with its headers. */
  onStream: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
  backoff?: BackoffPolicy;
  /** How often the agent pings the broker, and how long it waits for the answer. */
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
}

export type AgentLinkEvent = { kind: 'connected' } | { kind: 'disconnected'; reason: string } | { kind: 'retrying'; attempt: number; delayMs: number };

/**
 * The agent's end of the tunnel. It dials the broker over mutual TLS and, on that connection,
 * is the HTTP/2 *server*: the broker opens one stream per request, so a slow or huge response
 * holds only its own stream's window, never the others'. Reconnects forever, with exponential
 * backoff and jitter; a connection that stops answering pings is dropped within
 * `keepaliveMs + keepaliveTimeoutMs` (a load balancer that silently forgot it, say).
 */
export class AgentLink extends EventEmitter<{ change: [AgentLinkEvent] }> {
  private socket: TLSSocket | undefined;
  private session: ServerHttp2Session | undefined;
  private stopped = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;

  constructor(private readonly options: AgentLinkOptions) {
    super();
  }

  start(): void {
    this.stopped = false;
    this.dial();
  }

  get connected(): boolean {
    return this.session !== undefined && !this.session.closed && !this.session.destroyed;
  }

  /** Closes the link for good: streams in flight are cancelled. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.keepalive);
    const session = this.session;
    if (session && !session.destroyed) await new Promise<void>((resolve) => session.close(() => resolve()));
    this.socket?.destroy();
  }

  private dial(): void {
    const { host, port, cert, key, ca } = this.options;
    // An IP address is checked against the certificate's IP names; SNI carries host names only.
    const servername = this.options.servername ?? (isIP(host) ? undefined : host);
    const socket = connect({ host, port, cert, key, ca, ...(servername ? { servername } : {}), ALPNProtocols: [TUNNEL_ALPN] });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.once('secureConnect', () => {
      const session = performServerHandshake(socket, { settings: TUNNEL_SETTINGS, maxSessionMemory: TUNNEL_MAX_SESSION_MEMORY_MB });
      this.session = session;
      session.setLocalWindowSize(TUNNEL_CONNECTION_WINDOW);
      session.on('stream', (stream, headers) => this.options.onStream(stream, headers));
      session.on('error', () => undefined); // 'close' follows and reconnects
      session.once('close', () => this.lost('the connection closed'));
      this.attempt = 0;
      this.startKeepalive(session);
      this.emit('change', { kind: 'connected' });
    });
    socket.once('error', (error: Error) => this.lost(error.message));
    socket.once('close', () => this.lost('the connection closed'));
  }

  private startKeepalive(session: ServerHttp2Session): void {
    clearInterval(this.keepalive);
    const every = this.options.keepaliveMs ?? 10_000;
    const timeout = this.options.keepaliveTimeoutMs ?? 5_000;
    this.keepalive = setInterval(() => pingOrDrop(session, timeout), every);
    this.keepalive.unref();
  }

  private lost(reason: string): void {
    if (this.socket === undefined) return; // already handled for this connection
    this.socket.destroy();
    this.socket = undefined;
    this.session = undefined;
    clearInterval(this.keepalive);
    this.emit('change', { kind: 'disconnected', reason });
    if (this.stopped) return;
    const delayMs = reconnectDelay(this.attempt++, this.options.backoff ?? DEFAULT_BACKOFF);
    this.emit('change', { kind: 'retrying', attempt: this.attempt, delayMs });
    // Not unref'd: waiting to reconnect is what keeps an agent alive.
    this.retry = setTimeout(() => this.dial(), delayMs);
  }
}

/** Pings a session and destroys it when no answer comes in time: a dead peer is found within seconds. */
export function pingOrDrop(session: Http2Session, timeoutMs: number): void {
  if (session.destroyed || session.closed) return;
  const timer = setTimeout(() => session.destroy(new Error(`no answer to a ping within ${timeoutMs} ms`)), timeoutMs);
  try {
    session.ping((error) => {
      clearTimeout(timer);
      if (error && !session.destroyed) session.destroy(error);
    });
  } catch (error) {
    clearTimeout(timer);
    session.destroy(error as Error);
  }
}
