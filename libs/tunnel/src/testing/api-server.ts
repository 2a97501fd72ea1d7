import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { API_GROUP_LIST, API_VERSIONS, CORE_V1_RESOURCES, namespaceObject, nodeObject, versionInfo } from './discovery.js';
import { echoUpgrade, EXEC_PROTOCOLS, runExec } from './exec.js';
import { jsonPatch, mergePatch } from './patch.js';
import { PodLogs, podObject, podTable, wantsTable, type PodOptions } from './pods.js';
import { ApiError, refuseUpgrade, sendError, sendJson, type KubeObject } from './status.js';
import { ObjectStore, type StoredResource, type WatchEvent } from './store.js';

export interface StandInApiServerOptions {
  /** The server's certificate and key: it speaks HTTPS only, as kube-apiserver does. */
  cert: string | Buffer;
  key: string | Buffer;
  /** Bearer tokens it accepts (an agent's service-account token); any other request is a 401. */
  tokens: string[];
  /**
   * PEM CA of client certificates (kube-apiserver's `--client-ca-file`): a certificate it signed
   * authenticates its CN as the user and each O as a group. A certificate it did not sign, or one
   * expired or not yet valid, fails the TLS handshake, as it does with kube-apiserver.
   */
  clientCa?: string | Buffer;
  /** What `/version` says (`v1.32.4` by default); nodes' kubelets report it too. */
  gitVersion?: string;
  /** Node names (`node-1` by default). */
  nodes?: string[];
}

/** A request as the stand-in saw it: whom it came as (the impersonation headers) and what it asked. */
export interface RecordedRequest {
  method: string;
  /** Path and query. */
  path: string;
  /** `Impersonate-User`, and every `Impersonate-Group`. */
  user: string | undefined;
  groups: string[];
  /** The `Upgrade` header of an upgrade request (`websocket`, `SPDY/3.1`). */
  upgrade: string | undefined;
  /** Whether its bearer token was one of `tokens`, or its client certificate one `clientCa` signed. */
  authenticated: boolean;
  /** The verified client certificate it came with (CN and O); absent without one. */
  certificate?: { user: string; groups: string[] };
}

const RESOURCES = new Set<string>(['pods', 'secrets']);
const MAX_BODY = 3 * 1024 * 1024;

/**
 * A stand-in for a workload cluster's kube-apiserver, over real HTTPS and stateful: discovery,
 * nodes, namespaces, pods (list, get, watch, log, exec over WebSocket), secrets (create, get,
 * replace, patch, delete, with resourceVersion conflicts), and `/stall`, a stream that never ends.
 * See libs/tunnel/README.md for what each route does.
 */
export class StandInApiServer {
  readonly tokens: Set<string>;
  readonly requests: RecordedRequest[] = [];
  /** Why client certificates were refused in the handshake (`CERT_HAS_EXPIRED`, ...). */
  readonly refusedCertificates: string[] = [];
  private readonly server: Server;
  private readonly store = new ObjectStore();
  private readonly logs = new PodLogs();
  private readonly sockets = new WebSocketServer({ noServer: true, handleProtocols: (offered) => EXEC_PROTOCOLS.find((protocol) => offered.has(protocol)) ?? false });
  /** Watches, followed logs, stalls, upgraded connections: what close() must end. */
  private readonly held = new Set<{ destroy(): void }>();
  private readonly gitVersion: string;
  private readonly nodeNames: string[];
  private readonly requiresVerifiedCertificates: boolean;
  private port = 0;

  constructor(options: StandInApiServerOptions) {
    this.tokens = new Set(options.tokens);
    this.gitVersion = options.gitVersion ?? 'v1.32.4';
    this.nodeNames = options.nodes ?? ['node-1'];
    const clientCertificates = options.clientCa === undefined ? {} : { requestCert: true, rejectUnauthorized: false, ca: options.clientCa };
    this.server = createServer({ cert: options.cert, key: options.key, ...clientCertificates }, (request, response) => void this.handle(request, response));
    // Certificates are optional (tokens work too), but one that does not verify ends the connection.
    this.requiresVerifiedCertificates = options.clientCa !== undefined;
    if (this.requiresVerifiedCertificates) this.server.on('secureConnection', (socket: TLSSocket) => this.checkCertificate(socket));
    this.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(request, socket, head));
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  /** `https://127.0.0.1:<port>`, once listening. */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Watches, followed logs, stalled requests and upgraded connections open now. */
  get openStreams(): number {
    return this.held.size;
  }

  /** Adds a pod (ADDED to its watchers); its log starts as `options.log`. */
  addPod(namespace: string, name: string, options: PodOptions = {}): KubeObject {
    const pod = this.store.create('pods', namespace, podObject(namespace, name, options, this.nodeNames[0] ?? 'node-1'));
    this.logs.reset(namespace, name, options);
    return pod;
  }

  /** Changes a pod's phase or labels (MODIFIED to its watchers). */
  updatePod(namespace: string, name: string, change: Pick<PodOptions, 'phase' | 'labels'>): KubeObject {
    const pod = this.store.get('pods', namespace, name);
    const status = pod.status as { phase: string };
    if (change.phase) status.phase = change.phase;
    if (change.labels) pod.metadata.labels = change.labels;
    return this.store.replace('pods', namespace, name, pod);
  }

  /** Removes a pod (DELETED to its watchers; its followed logs end). */
  deletePod(namespace: string, name: string): void {
    this.store.delete('pods', namespace, name);
    this.logs.end(namespace, name);
  }

  /** Writes to a pod's log: followers see it at once. */
  appendLog(namespace: string, name: string, text: string): void {
    this.logs.append(namespace, name, text);
  }

  /** A secret as stored (data base64-encoded), if any. */
  secret(namespace: string, name: string): KubeObject | undefined {
    return this.store.find('secrets', namespace, name);
  }

  /** Creates or replaces a secret from plain strings. */
  putSecret(namespace: string, name: string, stringData: Record<string, string>): KubeObject {
    const body: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData };
    return this.store.find('secrets', namespace, name) ? this.store.replace('secrets', namespace, name, body) : this.store.create('secrets', namespace, body);
  }

  async close(): Promise<void> {
    for (const held of this.held) held.destroy();
    this.held.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private node(name: string): KubeObject {
    if (!this.nodeNames.includes(name)) throw new ApiError(404, `nodes "${name}" not found`);
    return nodeObject(name, this.gitVersion);
  }

  private hold(item: { destroy(): void; once(event: 'close', listener: () => void): unknown }): void {
    this.held.add(item);
    item.once('close', () => this.held.delete(item));
  }

  /** Ends a connection whose client certificate did not verify; true if it did so. */
  private checkCertificate(socket: TLSSocket): boolean {
    if (!this.requiresVerifiedCertificates || socket.destroyed) return socket.destroyed;
    const presented = Object.keys(socket.getPeerCertificate()).length > 0;
    if (!presented || socket.authorized) return false;
    this.refusedCertificates.push(String(socket.authorizationError));
    socket.destroy();
    return true;
  }

  private admit(request: IncomingMessage): boolean {
    // Data sent with the handshake's last flight can be parsed before the handshake's check ran.
    if (this.checkCertificate(request.socket as TLSSocket)) return false;
    const authorization = request.headers.authorization ?? '';
    const certificate = certificateSubject(request.socket as TLSSocket);
    const authenticated = (authorization.startsWith('Bearer ') && this.tokens.has(authorization.slice('Bearer '.length))) || certificate !== undefined;
    this.requests.push({
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      user: request.headersDistinct['impersonate-user']?.[0],
      groups: request.headersDistinct['impersonate-group'] ?? [],
      upgrade: request.headers.upgrade === undefined ? undefined : String(request.headers.upgrade),
      authenticated,
      ...(certificate ? { certificate } : {}),
    });
    return authenticated;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      if (!this.admit(request)) throw new ApiError(401, 'Unauthorized');
      await this.route(request, response, new URL(request.url ?? '/', 'https://kubernetes'));
    } catch (error) {
      if (response.headersSent) return void response.destroy();
      sendError(response, error instanceof ApiError ? error : new ApiError(500, error instanceof Error ? error.message : String(error)));
    }
  }

  private async route(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const method = request.method ?? 'GET';
    const path = url.pathname.replace(/\/$/, '') || '/';
    const reading = method === 'GET' || method === 'HEAD';
    switch (path) {
      case '/version':
        return sendJson(response, 200, versionInfo(this.gitVersion));
      case '/readyz':
      case '/healthz':
      case '/livez':
        return void response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      case '/api':
        return sendJson(response, 200, API_VERSIONS);
      case '/api/v1':
        return sendJson(response, 200, CORE_V1_RESOURCES);
      case '/apis':
        return sendJson(response, 200, API_GROUP_LIST);
      case '/stall':
        // Headers and one line, then nothing until the caller leaves.
        response.writeHead(200, { 'content-type': 'text/plain' }).write('stalled\n');
        return this.hold(response);
    }
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments[0] !== 'api' || segments[1] !== 'v1') throw notFound();
    const [kind, a, b, c, d, e] = segments.slice(2);
    const rest = segments.length - 2;
    if (kind === 'nodes' && rest <= 2 && reading) return sendJson(response, 200, a === undefined ? list('NodeList', this.store.resourceVersion, this.nodeNames.map((name) => nodeObject(name, this.gitVersion))) : this.node(a));
    if (kind === 'namespaces' && rest === 1 && reading) return sendJson(response, 200, list('NamespaceList', this.store.resourceVersion, this.store.namespaces().map(namespaceObject)));
    if (kind === 'namespaces' && rest === 2 && reading) {
      if (!this.store.namespaces().includes(a!)) throw new ApiError(404, `namespaces "${a}" not found`);
      return sendJson(response, 200, namespaceObject(a!));
    }
    // Cluster-wide lists and watches: /api/v1/pods, /api/v1/secrets.
    if (RESOURCES.has(kind!) && rest === 1 && reading) return this.collection(kind as StoredResource, undefined, url, request, response);
    if (kind !== 'namespaces' || a === undefined || b === undefined || !RESOURCES.has(b)) throw notFound();
    const resource = b as StoredResource;
    if (c === undefined) {
      if (reading) return this.collection(resource, a, url, request, response);
      if (method === 'POST') return sendJson(response, 201, this.store.create(resource, a, await readJson(request)));
      throw new ApiError(405, `${method} is not allowed on ${resource}`);
    }
    if (d === undefined && e === undefined) return this.item(request, response, resource, a, c);
    if (resource === 'pods' && e === undefined && d === 'log' && reading) {
      this.store.get('pods', a, c);
      this.logs.serve(a, c, ['true', '1'].includes(url.searchParams.get('follow') ?? ''), response);
      return this.hold(response);
    }
    if (resource === 'pods' && e === undefined && (d === 'exec' || d === 'attach' || d === 'portforward')) throw new ApiError(400, 'Upgrade request required');
    throw notFound();
  }

  private async item(request: IncomingMessage, response: ServerResponse, resource: StoredResource, namespace: string, name: string): Promise<void> {
    switch (request.method) {
      case 'GET':
      case 'HEAD': {
        const found = this.store.get(resource, namespace, name);
        return sendJson(response, 200, resource === 'pods' && wantsTable(request.headers.accept) ? podTable([found]) : found);
      }
      case 'PUT':
        return sendJson(response, 200, this.store.replace(resource, namespace, name, await readJson(request)));
      case 'PATCH': {
        const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
        const patch = await readJson<unknown>(request);
        const current = this.store.get(resource, namespace, name);
        let patched: unknown;
        if (type === 'application/json-patch+json') patched = jsonPatch(current, patch);
        else if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') patched = mergePatch(current, patch);
        else throw new ApiError(415, `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`);
        return sendJson(response, 200, this.store.replace(resource, namespace, name, patched as KubeObject));
      }
      case 'DELETE': {
        const gone = this.store.delete(resource, namespace, name);
        if (resource === 'pods') {
          this.logs.end(namespace, name);
          return sendJson(response, 200, gone);
        }
        return sendJson(response, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: resource, uid: gone.metadata.uid } });
      }
      default:
        throw new ApiError(405, `${request.method} is not allowed on ${resource}/${name}`);
    }
  }

  /**
   * A list, or (`watch=1|true`) a watch streamed as JSON lines and held open. `labelSelector`:
   * `a=b,c!=d`. Pods come as a Table when the caller asks for one (kubectl get).
   */
  private collection(resource: StoredResource, namespace: string | undefined, url: URL, request: IncomingMessage, response: ServerResponse): void {
    const selects = labelMatcher(url.searchParams.get('labelSelector'));
    const table = resource === 'pods' && wantsTable(request.headers.accept);
    if (!['true', '1'].includes(url.searchParams.get('watch') ?? '')) {
      const items = this.store.list(resource, namespace).filter(selects);
      return sendJson(response, 200, table ? podTable(items, this.store.resourceVersion) : list(resource === 'pods' ? 'PodList' : 'SecretList', this.store.resourceVersion, items));
    }
    const events: WatchEvent[] = [];
    let send = (event: WatchEvent) => void events.push(event);
    const stop = this.store.watch(resource, namespace, url.searchParams.get('resourceVersion') ?? undefined, (event) => {
      if (selects(event.object)) send(event);
    });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.flushHeaders();
    send = (event) => void response.write(`${JSON.stringify(table ? { type: event.type, object: podTable([event.object]) } : event)}\n`);
    for (const event of events) send(event);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => response.end(), timeout * 1000) : undefined;
    response.once('close', () => {
      stop();
      clearTimeout(timer);
    });
    this.hold(response);
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    try {
      if (!this.admit(request)) throw new ApiError(401, 'Unauthorized');
      const url = new URL(request.url ?? '/', 'https://kubernetes');
      const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(url.pathname);
      if (!match) throw notFound();
      const [, namespace, name, action] = match as unknown as [string, string, string, string];
      this.store.get('pods', namespace, name);
      const websocket = String(request.headers.upgrade).toLowerCase() === 'websocket';
      if (action === 'portforward' && !websocket) {
        this.hold(socket);
        return echoUpgrade(request, socket, head);
      }
      if (!websocket) throw new ApiError(400, `this API server serves ${action} over WebSocket only (${EXEC_PROTOCOLS.join(', ')})`);
      if (action === 'portforward') throw new ApiError(400, 'port-forward over WebSocket is not served here: use another upgrade protocol');
      const offered = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((protocol) => protocol.trim());
      if (!EXEC_PROTOCOLS.some((protocol) => offered.includes(protocol))) throw new ApiError(400, `none of the offered subprotocols is served: ${EXEC_PROTOCOLS.join(', ')}`);
      const command = action === 'attach' ? ['cat'] : url.searchParams.getAll('command');
      this.sockets.handleUpgrade(request, socket, head, (connection: WebSocket) => {
        this.hold({ destroy: () => connection.terminate(), once: (event, listener) => connection.once(event, listener) });
        runExec(connection, command);
      });
    } catch (error) {
      refuseUpgrade(socket, error instanceof ApiError ? error : new ApiError(500, String(error)));
    }
  }
}

/** The verified client certificate's CN and O, as kube-apiserver reads the user and groups. */
function certificateSubject(socket: TLSSocket): { user: string; groups: string[] } | undefined {
  if (typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject as Record<string, string | string[] | undefined> | undefined;
  const user = subject?.['CN'];
  if (typeof user !== 'string') return undefined;
  const groups = subject?.['O'];
  return { user, groups: groups === undefined ? [] : Array.isArray(groups) ? groups : [groups] };
}

function notFound(): ApiError {
  return new ApiError(404, 'the server could not find the requested resource');
}

function list(kind: string, resourceVersion: string, items: KubeObject[]): object {
  return { kind, apiVersion: 'v1', metadata: { resourceVersion }, items };
}

function labelMatcher(selector: string | null): (object: KubeObject) => boolean {
  const terms = (selector ?? '')
    .split(',')
    .filter(Boolean)
    .map((term) => /^([^!=]+)(!=|==|=)(.*)$/.exec(term.trim()))
    .map((match) => {
      if (!match) throw new ApiError(400, `unable to parse requirement in labelSelector ${selector}`);
      return { label: match[1]!, equal: match[2] !== '!=', value: match[3]! };
    });
  return (object) => terms.every(({ label, equal, value }) => (object.metadata.labels?.[label] === value) === equal);
}

async function readJson<T = KubeObject>(request: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'the request body is too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString()) as T;
  } catch {
    throw new ApiError(400, 'the request body is not JSON');
  }
}
