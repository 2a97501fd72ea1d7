import { EventEmitter } from 'node:events';
import { constants, performServerHandshake, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream, type Settings } from 'node:http2';
import { isIP } from 'node:net';
import { connect, createSecureContext, DEFAULT_CIPHERS, type SecureContext, type TLSSocket } from 'node:tls';
import { DEFAULT_BACKOFF, reconnectDelay, type BackoffPolicy } from './backoff.js';

/** Large windows: one stream may carry a big transfer at full speed; each has its own window. */
export const TUNNEL_SETTINGS: Settings = { initialWindowSize: 4 * 1024 * 1024, maxConcurrentStreams: 1000, enableConnectProtocol: true };
export const TUNNEL_CONNECTION_WINDOW = 32 * 1024 * 1024;
export const TUNNEL_ALPN = 'flotilla-tunnel/1';
/**
 * The tunnel's ciphers: node's own list with AES-128-GCM first (node puts AES-256-GCM first).
 * Every byte of the tunnel is encrypted by one end and decrypted by the other, on top of the TLS
 * of the API server and of the caller: AES-128-GCM (AES-NI, 10 rounds rather than 14) costs
 * each end less CPU per MiB, and remains the suite TLS 1.3 requires of every implementation.
 * The broker's order decides (a TLS server's own); the agent says the same.
 */
export const TUNNEL_CIPHERS = ['TLS_AES_128_GCM_SHA256', ...DEFAULT_CIPHERS.split(':').filter((name) => name !== 'TLS_AES_128_GCM_SHA256')].join(':');
/** Room for what the windows allow in flight (MB): node's default (10) is below one full connection window. */
export const TUNNEL_MAX_SESSION_MEMORY_MB = 64;
/** How long `stop()` lets streams in flight finish before it cancels them. */
const STOP_GRACE_MS = 5_000;
/** After a stream closes, the connection is checked this soon (see `checkAfter`). */
const CHECK_AFTER_STREAM_MS = 1_000;

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
  /** How often the agent pings the broker, and how long it waits for a sign of life. */
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
}

export type AgentLinkEvent = { kind: 'connected' } | { kind: 'disconnected'; reason: string } | { kind: 'retrying'; attempt: number; delayMs: number };

/** One dial: its socket and, once TLS is up, its HTTP/2 session. */
interface Connection {
  socket: TLSSocket;
  session?: ServerHttp2Session;
  /** What went wrong first, said when the connection is found lost. */
  error?: string;
  /** Why the agent itself ends it (`stop()`). */
  ending?: string;
  checkScheduled?: boolean;
}

/**
 * The agent's end of the tunnel. It dials the broker over mutual TLS and, on that connection,
 * is the HTTP/2 *server*: the broker opens one stream per request, so a slow or huge response
 * holds only its own stream's window, never the others'. Reconnects forever, with exponential
 * backoff and jitter; a connection on which nothing arrives from the broker, not even the answer
 * to a ping, is dropped within `keepaliveMs + keepaliveTimeoutMs` (a load balancer that silently
 * forgot it, say, or a session node's HTTP/2 layer ended on its own: see `checkAfter`).
 */
export class AgentLink extends EventEmitter<{ change: [AgentLinkEvent] }> {
  private connection: Connection | undefined;
  private stopped = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private context: { cert: string | Buffer; key: string | Buffer; ca: string | Buffer; secureContext: SecureContext } | undefined;

  constructor(private readonly options: AgentLinkOptions) {
    super();
  }

  start(): void {
    this.stopped = false;
    if (this.connection === undefined && this.retry === undefined) this.dial();
  }

  get connected(): boolean {
    const session = this.connection?.session;
    return session !== undefined && !session.closed && !session.destroyed;
  }

  /** Closes the link for good: streams in flight may finish for a few seconds, then they are cancelled. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    const connection = this.connection;
    if (!connection) return;
    connection.ending = 'the agent stopped';
    const session = connection.session;
    if (session && !session.destroyed) {
      await new Promise<void>((resolve) => {
        const grace = setTimeout(() => session.destroy(), STOP_GRACE_MS);
        session.close(() => {
          clearTimeout(grace);
          resolve();
        });
      });
    }
    this.lost(connection, 'the agent stopped');
  }

  private dial(): void {
    this.retry = undefined;
    const { host, port } = this.options;
    // An IP address is checked against the certificate's IP names; SNI carries host names only.
    const servername = this.options.servername ?? (isIP(host) ? undefined : host);
    const socket = connect({ host, port, secureContext: this.secureContext(), ...(servername ? { servername } : {}), ALPNProtocols: [TUNNEL_ALPN] });
    const connection: Connection = { socket };
    this.connection = connection;
    socket.setNoDelay(true);
    socket.once('secureConnect', () => {
      if (this.connection !== connection) return void socket.destroy();
      const session = performServerHandshake(socket, { settings: TUNNEL_SETTINGS, maxSessionMemory: TUNNEL_MAX_SESSION_MEMORY_MB });
      connection.session = session;
      session.setLocalWindowSize(TUNNEL_CONNECTION_WINDOW);
      session.on('stream', (stream, headers) => {
        // A stream fails when its connection drops mid-answer; that must never take the agent down.
        stream.on('error', () => undefined);
        this.checkAfter(connection, stream);
        try {
          this.options.onStream(stream, headers);
        } catch {
          // A handler that throws fails its stream, not the agent.
          if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        }
      });
      session.on('error', (error: Error) => (connection.error ??= error.message));
      // The broker is going away (it stops, or dropped this connection): dial again now.
      session.on('goaway', (code: number) => this.lost(connection, `the broker ended the connection (${http2ErrorName(code)})`));
      session.once('close', () => this.lost(connection, 'the connection closed'));
      this.attempt = 0;
      this.startKeepalive(session);
      this.emit('change', { kind: 'connected' });
    });
    // Not once: a second error of the same socket must not go unhandled.
    socket.on('error', (error: Error) => {
      connection.error ??= error.message;
      this.lost(connection, error.message);
    });
    socket.once('close', () => this.lost(connection, 'the connection closed'));
  }

  /** Parsing the key and certificates costs milliseconds: done again only when they change (a renewed certificate). */
  private secureContext(): SecureContext {
    const { cert, key, ca } = this.options;
    const cached = this.context;
    if (cached && same(cached.cert, cert) && same(cached.key, key) && same(cached.ca, ca)) return cached.secureContext;
    const secureContext = createSecureContext({ cert, key, ca, ciphers: TUNNEL_CIPHERS });
    this.context = { cert, key, ca, secureContext };
    return secureContext;
  }

  /**
   * The agent is the HTTP/2 server of its connection, and node's HTTP/2 server ends a connection
   * on its own once its peer reset more streams than nghttp2 allows (1,000 at once, then 33 a
   * second: the "rapid reset" defence, which node 20 does not let us adjust): it sends GOAWAY
   * (INTERNAL_ERROR), emits nothing here, and reads nothing more, so not even the broker closing
   * the connection is seen. Only a ping that is never answered tells. Resets come with streams
   * (a caller who went away, or one reset after its answer), so about a second after a stream
   * closes the connection is checked, rather than only at the next keepalive.
   */
  private checkAfter(connection: Connection, stream: ServerHttp2Stream): void {
    stream.once('close', () => {
      if (connection.checkScheduled || this.connection !== connection) return;
      connection.checkScheduled = true;
      setTimeout(() => {
        connection.checkScheduled = false;
        if (this.connection === connection && connection.session) pingOrDrop(connection.session, this.options.keepaliveTimeoutMs ?? 5_000);
      }, CHECK_AFTER_STREAM_MS).unref();
    });
  }

  private startKeepalive(session: ServerHttp2Session): void {
    clearInterval(this.keepalive);
    const every = this.options.keepaliveMs ?? 10_000;
    const timeout = this.options.keepaliveTimeoutMs ?? 5_000;
    this.keepalive = setInterval(() => pingOrDrop(session, timeout), every);
    this.keepalive.unref();
  }

  /** A connection ended (or must end). Only the current one counts: a late event of an older one changes nothing. */
  private lost(connection: Connection, reason: string): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    clearInterval(this.keepalive);
    connection.session?.destroy();
    connection.socket.destroy();
    const said = connection.ending ?? (connection.error && connection.error !== reason ? `${reason}: ${connection.error}` : reason);
    this.emit('change', { kind: 'disconnected', reason: said });
    if (this.stopped) return;
    const delayMs = reconnectDelay(this.attempt++, this.options.backoff ?? DEFAULT_BACKOFF);
    this.emit('change', { kind: 'retrying', attempt: this.attempt, delayMs });
    // Not unref'd: waiting to reconnect is what keeps an agent alive.
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.dial(), delayMs);
  }
}

function same(a: string | Buffer, b: string | Buffer): boolean {
  return a === b || (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));
}

/** Sessions with a ping in flight (one at a time each), and which ping. */
const pinging = new WeakMap<Http2Session, object>();

/**
 * Pings a session and destroys it when the peer gives no sign of life in time: neither the answer
 * nor any other byte arrived within `timeoutMs`. Bytes that keep arriving are life enough: on a
 * slow link a large transfer can hold the answer behind megabytes of data for longer than the
 * timeout, and that connection is busy, not dead. The verdict waits for the I/O this process has
 * not read yet, and a process that was itself too busy to look in time (its timer fired a whole
 * timeout late: thousands of agents reconnecting at once) gives the peer another timeout rather
 * than drop a connection it merely did not read.
 */
export function pingOrDrop(session: Http2Session, timeoutMs: number): void {
  if (session.destroyed || pinging.has(session)) return;
  const socket = session.socket as Http2Session['socket'] | undefined;
  if (!socket) return;
  const ping = {};
  pinging.set(session, ping);
  let timer: NodeJS.Timeout | undefined;
  const judge = (readBefore: number, armedAt: number) => {
    // After this turn's I/O (setImmediate runs after the poll phase): an answer that came in while the process was busy is read first.
    setImmediate(() => {
      if (pinging.get(session) !== ping || session.destroyed) return;
      const lateMs = performance.now() - armedAt - timeoutMs;
      if (socket.bytesRead > readBefore) return void pinging.delete(session);
      if (lateMs > timeoutMs) return void arm();
      pinging.delete(session);
      session.destroy(new Error(`no answer to a ping within ${timeoutMs} ms`));
    });
  };
  const arm = () => {
    const readBefore = socket.bytesRead;
    const armedAt = performance.now();
    timer = setTimeout(() => judge(readBefore, armedAt), timeoutMs).unref();
  };
  arm();
  try {
    session.ping((error) => {
      clearTimeout(timer);
      if (pinging.get(session) === ping) pinging.delete(session);
      if (error && !session.destroyed) session.destroy(error);
    });
  } catch (error) {
    clearTimeout(timer);
    pinging.delete(session);
    session.destroy(error as Error);
  }
}

const HTTP2_ERROR_NAMES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

/** `INTERNAL_ERROR (2)`: an HTTP/2 error code as RFC 9113 names it. */
export function http2ErrorName(code: number): string {
  return `${HTTP2_ERROR_NAMES[code] ?? 'UNKNOWN'} (${code})`;
}
