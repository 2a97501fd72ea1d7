import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * A TCP proxy a test can cut and restore, as a network partition would: put it between a
 * service and PostgreSQL (or NATS) to take the dependency away without stopping it for others.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Reads from the clients' side so far: each write a client makes arrives as one, or more when large. */
  clientChunks = 0;

  constructor(
    readonly port: number,
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(await freePort(), targetPort);
    await proxy.open();
    return proxy;
  }

  get isOpen(): boolean {
    return this.server?.listening ?? false;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket)).on('error', () => socket.destroy());
      }
      client.on('data', () => this.clientChunks++);
      client.pipe(upstream).pipe(client);
    }).listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
  }

  /** Drops every connection and refuses new ones until `open()`. */
  async cut(): Promise<void> {
    if (!this.isOpen) return;
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
