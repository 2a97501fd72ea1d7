import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ClusterFixture } from './cluster-fixtures.js';
import type { TestPki } from './pki.js';

/** Who may do what on one stand-in cluster. */
export interface FakeClusterAccess {
  /** Bearer tokens: `admin` may list nodes, `viewer-without-nodes` may not (403). */
  tokens?: Record<string, 'admin' | 'viewer-without-nodes'>;
  /** Client certificate CNs accepted as cluster admins (the certificate must be signed by the server's CA). */
  clientCommonNames?: string[];
  /** Tokens accepted as cluster admins by their form (an authenticator webhook's verdict, e.g. EKS's). */
  acceptToken?: (token: string) => boolean;
}

export interface FakeCluster extends ClusterFixture, FakeClusterAccess {
  /**
   * `web-page`: an ordinary web server (HTML on every path), not a Kubernetes API. `bad-gateway`:
   * a proxy whose upstream is gone (502 on every path, as the tunnel broker answers when the agent does not).
   */
  serves?: 'kubernetes' | 'web-page' | 'bad-gateway';
  /** /readyz answers 500 with failing checks. */
  notReady?: boolean;
  /** Answers wait until this settles (a check held in flight); requests are counted as they arrive. */
  heldUntil?: Promise<void>;
}

export interface FakeApiServerOptions {
  pki: TestPki;
  /**
   * Clusters by path prefix: `''` for one cluster at the root, `/clusters/<name>` for many behind
   * one address (the way Rancher-style proxies expose clusters: server URL `https://host/k8s/clusters/<id>`).
   */
  clusters: Map<string, FakeCluster>;
  /** Each answer is delayed by a uniform random time in [min, max] ms (network and API server latency). */
  latencyMs?: [number, number];
  port?: number;
}

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

/**
 * A stand-in Kubernetes API server: real HTTPS with its own CA, bearer-token and client-certificate
 * authentication, serving /version, /readyz, /healthz and /api/v1/nodes (with limit/continue paging)
 * the way kube-apiserver does, including its Status bodies for 401/403/404.
 */
export class FakeApiServer {
  /** Requests seen, by path (without the cluster prefix). */
  readonly requests = new Map<string, number>();
  /** TLS connections accepted. */
  connections = 0;
  /** Requests that carried an Authorization header (a token was sent here). */
  authorizedRequests = 0;
  /** Requests seen, by cluster prefix. */
  readonly clusterRequests = new Map<string, number>();
  /** The distinct bearer tokens presented. */
  readonly bearerTokens = new Set<string>();
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  private constructor(private readonly options: FakeApiServerOptions) {
    this.server = this.createServer();
  }

  static async start(options: FakeApiServerOptions): Promise<FakeApiServer> {
    const server = new FakeApiServer(options);
    await server.listen(options.port ?? 0);
    return server;
  }

  /** The API server URL of the cluster at `prefix`. */
  url(prefix = ''): string {
    return `https://127.0.0.1:${this.port}${prefix}`;
  }

  cluster(prefix = ''): FakeCluster {
    const cluster = this.options.clusters.get(prefix);
    if (!cluster) throw new Error(`no stand-in cluster at "${prefix}"`);
    return cluster;
  }

  /** Stops listening and cuts every connection: clients see connection refused. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restart(): Promise<void> {
    this.server = this.createServer();
    await this.listen(this.port);
  }

  private async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  private createServer(): Server {
    const { pki } = this.options;
    const server = createServer(
      { key: pki.serverKeyPem, cert: pki.serverCertificatePem, ca: pki.caCertificatePem, requestCert: true, rejectUnauthorized: false, keepAliveTimeout: 5_000 },
      (request, response) => {
        const [min, max] = this.options.latencyMs ?? [0, 0];
        const delay = min + Math.random() * (max - min);
        if (delay > 0) setTimeout(() => this.handle(request, response), delay);
        else this.handle(request, response);
      },
    );
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('secureConnection', () => {
      this.connections += 1;
    });
    server.on('tlsClientError', () => undefined);
    return server;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'https://stand-in');
    const match = [...this.options.clusters.keys()].filter((prefix) => url.pathname === prefix || url.pathname.startsWith(`${prefix}/`)).sort((a, b) => b.length - a.length)[0];
    const cluster = match === undefined ? undefined : this.options.clusters.get(match);
    const path = (match ? url.pathname.slice(match.length) : url.pathname).replace(/\/+$/, '') || '/';
    this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
    if (request.headers.authorization !== undefined) this.authorizedRequests += 1;
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (bearer !== undefined) this.bearerTokens.add(bearer);
    if (match !== undefined) this.clusterRequests.set(match, (this.clusterRequests.get(match) ?? 0) + 1);
    const json = (code: number, body: unknown) => {
      response.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
      response.end(JSON.stringify(body));
    };
    if (!cluster) return json(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    if (cluster.heldUntil) {
      void cluster.heldUntil.then(() => this.answer(request, response, url, path, cluster, json));
      return;
    }
    this.answer(request, response, url, path, cluster, json);
  }

  private answer(request: IncomingMessage, response: ServerResponse, url: URL, path: string, cluster: FakeCluster, json: (code: number, body: unknown) => void): void {
    if (cluster.serves === 'bad-gateway') return json(502, { statusCode: 502, error: 'Bad Gateway', message: "the cluster's agent did not answer" });
    if (cluster.serves === 'web-page') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end('<!doctype html><html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>');
      return;
    }
    const user = this.authenticate(request, cluster);
    if (user === 'invalid') return json(401, status(401, 'Unauthorized', 'Unauthorized'));
    switch (path) {
      case '/version':
        return json(200, cluster.version);
      case '/readyz':
      case '/healthz':
      case '/livez':
        response.writeHead(cluster.notReady ? 500 : 200, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
        response.end(cluster.notReady ? '[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n' : 'ok');
        return;
      case '/api/v1/nodes': {
        if (user !== 'admin') {
          const name = user === 'anonymous' ? 'system:anonymous' : 'system:serviceaccount:kube-system:viewer';
          return json(403, status(403, 'Forbidden', `nodes is forbidden: User "${name}" cannot list resource "nodes" in API group "" at the cluster scope`));
        }
        const limit = Number(url.searchParams.get('limit') ?? '0') || cluster.nodes.length;
        const start = Number(url.searchParams.get('continue') ?? '0');
        const items = cluster.nodes.slice(start, start + limit).map((node) => ({ ...node, kind: undefined, apiVersion: undefined }));
        const next = start + limit < cluster.nodes.length ? String(start + limit) : undefined;
        return json(200, { kind: 'NodeList', apiVersion: 'v1', metadata: { resourceVersion: '918273', ...(next ? { continue: next } : {}) }, items });
      }
      default:
        return json(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    }
  }

  /** The API server's order: a bearer token if sent (wrong ones are 401), else a verified client certificate, else anonymous. */
  private authenticate(request: IncomingMessage, cluster: FakeCluster): 'admin' | 'viewer-without-nodes' | 'anonymous' | 'invalid' {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const token = /^Bearer (.+)$/.exec(header)?.[1];
      if (token !== undefined && cluster.acceptToken?.(token)) return 'admin';
      return (token !== undefined && cluster.tokens?.[token]) || 'invalid';
    }
    const socket = request.socket as TLSSocket;
    const certificate = socket.getPeerCertificate();
    if (certificate && Object.keys(certificate).length > 0) {
      if (!socket.authorized) return 'invalid';
      const commonName = certificate.subject.CN;
      return typeof commonName === 'string' && cluster.clientCommonNames?.includes(commonName) ? 'admin' : 'invalid';
    }
    return 'anonymous';
  }
}
