import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serverSideApply } from './apply.js';
import { ApiError, ObjectStore, type KubeObject, type WatchEvent } from './store.js';

/** How the stand-in's Kamaji treats a TenantControlPlane. */
export type KamajiMode = { kind: 'ready'; afterMs: number } | { kind: 'never' } | { kind: 'refuse'; message: string };

export interface KamajiOptions {
  mode: KamajiMode;
  /** `host:port` a Ready control plane reports (status.controlPlaneEndpoint). */
  endpoint: () => string;
  /** The admin kubeconfig Kamaji writes for a Ready control plane (`<name>-admin-kubeconfig`, key admin.conf). */
  adminKubeconfig: () => string;
  /** How long a deleted TenantControlPlane takes to go (Kamaji's finalizer cleans up first). */
  deletionMs?: number;
}

export interface StandInOptions {
  cert: string;
  key: string;
  /** Bearer tokens it accepts; anything else is a 401. */
  tokens: string[];
  /** Set: this is a management cluster running Kamaji. */
  kamaji?: KamajiOptions;
  /** Told of each object created (what a test's other stand-ins need to know, e.g. a new bootstrap token). */
  onCreate?: (object: KubeObject) => void;
}

/** A request as the stand-in saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  authenticated: boolean;
}

interface Resource {
  group: string;
  version: string;
  name: string;
  kind: string;
  namespaced: boolean;
}

const RESOURCES: Resource[] = [
  { group: '', version: 'v1', name: 'namespaces', kind: 'Namespace', namespaced: false },
  { group: '', version: 'v1', name: 'nodes', kind: 'Node', namespaced: false },
  { group: '', version: 'v1', name: 'secrets', kind: 'Secret', namespaced: true },
  { group: 'kamaji.clastix.io', version: 'v1alpha1', name: 'tenantcontrolplanes', kind: 'TenantControlPlane', namespaced: true },
];
const MAX_BODY = 1024 * 1024;

/**
 * A stand-in Kubernetes API server over real HTTPS, stateful: discovery for the official
 * client's KubernetesObjectApi, namespaces, nodes, secrets and (for a management cluster)
 * Kamaji's TenantControlPlanes; server-side apply (PATCH application/apply-patch+yaml, field
 * manager required, ownership and conflicts), create, get, list, delete, and watch
 * (`?watch=true` as JSON lines from a resourceVersion). Its Kamaji moves a TenantControlPlane to
 * Ready after a delay (writing the admin kubeconfig Secret), never, or refuses it with a 422.
 * As a hosted cluster it checks the bootstrap tokens a kubelet joins with (`registerKubelet`).
 */
export class StandInKubernetes {
  readonly requests: SeenRequest[] = [];
  /** Set: every watch ends right after its first events, as a misbehaving server or proxy would. */
  endWatchesAtOnce = false;
  private readonly server: Server;
  private readonly store = new ObjectStore();
  private readonly held = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private port = 0;

  constructor(private readonly options: StandInOptions) {
    this.server = createServer({ cert: options.cert, key: options.key }, (request, response) => void this.handle(request, response));
    for (const namespace of ['default', 'kube-system']) this.store.put('namespaces', '', namespaceObject(namespace));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Changes how Kamaji treats TenantControlPlanes from now on (already Ready ones stay). */
  setKamajiMode(mode: KamajiMode): void {
    if (this.options.kamaji) this.options.kamaji.mode = mode;
  }

  find(resource: string, namespace: string, name: string): KubeObject | undefined {
    return this.store.find(resource, namespace, name);
  }

  list(resource: string, namespace?: string): KubeObject[] {
    return this.store.list(resource, namespace);
  }

  /** Ends every open watch, as a dropped connection would. */
  dropWatches(): void {
    for (const response of this.held) response.destroy();
    this.held.clear();
  }

  /**
   * A kubelet's join, as the API server checks it: the endpoint it was configured with is this
   * server's, and its bootstrap token is a Secret `kube-system/bootstrap-token-<id>` whose
   * `<id>.<secret>` has the SHA-256 the machine booted with, for authentication, not expired.
   * Then its Node registers (Ready). Returns why it was refused, or undefined.
   */
  registerKubelet(name: string, join: { endpoint: string | null; tokenId: string; tokenSha256: string; kubeletVersion: string }): string | undefined {
    if (join.endpoint !== this.endpoint) return `configured for ${join.endpoint ?? 'no endpoint'}, not ${this.endpoint}`;
    const secret = this.store.find('secrets', 'kube-system', `bootstrap-token-${join.tokenId}`);
    if (!secret || secret['type'] !== 'bootstrap.kubernetes.io/token') return `no bootstrap token ${join.tokenId}`;
    const data = decode(secret);
    if (createHash('sha256').update(`${data['token-id']}.${data['token-secret']}`).digest('hex') !== join.tokenSha256) return `token ${join.tokenId} does not match`;
    if (data['usage-bootstrap-authentication'] !== 'true') return `token ${join.tokenId} is not for authentication`;
    if (!data['expiration'] || Date.parse(data['expiration']) <= Date.now()) return `token ${join.tokenId} expired`;
    if (!this.store.find('nodes', '', name)) {
      this.store.put('nodes', '', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name } },
        status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }], nodeInfo: { kubeletVersion: join.kubeletVersion } },
      });
    }
    return undefined;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.dropWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private later(ms: number, work: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      work();
    }, ms);
    this.timers.add(timer);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const authorization = request.headers.authorization ?? '';
    const authenticated = authorization.startsWith('Bearer ') && this.options.tokens.includes(authorization.slice('Bearer '.length));
    this.requests.push({ method: request.method ?? 'GET', path: request.url ?? '/', contentType: request.headers['content-type'], authenticated });
    try {
      if (!authenticated) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      await this.route(request, response, new URL(request.url ?? '/', 'https://kubernetes'));
    } catch (error) {
      if (response.headersSent) return void response.destroy();
      const failure = error instanceof ApiError ? error : new ApiError(500, 'InternalError', error instanceof Error ? error.message : String(error));
      send(response, failure.code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: failure.message, reason: failure.reason, code: failure.code });
    }
  }

  private async route(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.replace(/\/$/, '');
    if (path === '/api') return send(response, 200, { kind: 'APIVersions', versions: ['v1'] });
    if (path === '/apis') {
      return send(response, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: this.options.kamaji ? [{ name: 'kamaji.clastix.io', versions: [{ groupVersion: 'kamaji.clastix.io/v1alpha1', version: 'v1alpha1' }], preferredVersion: { groupVersion: 'kamaji.clastix.io/v1alpha1', version: 'v1alpha1' } }] : [] });
    }
    const discovery = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
    if (discovery) {
      const [group, version] = discovery[1] ? ['', 'v1'] : [discovery[2]!, discovery[3]!];
      const resources = this.resources().filter((resource) => resource.group === group && resource.version === version);
      if (resources.length === 0) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return send(response, 200, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: group === '' ? 'v1' : `${group}/${version}`,
        resources: resources.map((resource) => ({ name: resource.name, singularName: resource.kind.toLowerCase(), namespaced: resource.namespaced, kind: resource.kind, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] })),
      });
    }
    const match = /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (!match) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const [, group = '', version = 'v1', namespaceSegment, resourceKey, objectName] = match;
    const namespace = namespaceSegment ?? '';
    const resource = this.resource(group, version, resourceKey!);
    if (!resource) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (resource.namespaced && namespace !== '' && !this.store.find('namespaces', '', namespace)) {
      if (request.method !== 'GET' || objectName !== undefined) throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`);
    }
    const method = request.method ?? 'GET';
    if (objectName === undefined) {
      if (method === 'GET') return ['true', '1'].includes(url.searchParams.get('watch') ?? '') ? this.watch(resource, namespace, url, response) : this.listObjects(resource, namespace, url, response);
      if (method === 'POST') return send(response, 201, this.create(resource, namespace, await readJson(request)));
      throw new ApiError(405, 'MethodNotAllowed', `${method} is not allowed here`);
    }
    switch (method) {
      case 'GET': {
        const found = this.store.find(resource.name, namespace, objectName);
        if (!found) throw notFound(resource, objectName);
        return send(response, 200, found);
      }
      case 'PATCH':
        return this.apply(request, response, resource, namespace, objectName, url);
      case 'DELETE':
        return send(response, 200, this.remove(resource, namespace, objectName));
      default:
        throw new ApiError(405, 'MethodNotAllowed', `${method} is not allowed here`);
    }
  }

  private resources(): Resource[] {
    return RESOURCES.filter((resource) => resource.group === '' || this.options.kamaji);
  }

  private resource(group: string, version: string, name: string): Resource | undefined {
    return this.resources().find((resource) => resource.group === group && resource.version === version && resource.name === name);
  }

  private create(resource: Resource, namespace: string, body: KubeObject): KubeObject {
    const name = body.metadata?.name;
    if (!name) throw new ApiError(422, 'Invalid', `${resource.kind} is invalid: metadata.name: Required value`);
    if (this.store.find(resource.name, namespace, name)) throw new ApiError(409, 'AlreadyExists', `${resource.name} "${name}" already exists`);
    const created = this.store.put(resource.name, namespace, normalise(resource, body));
    this.options.onCreate?.(created);
    return created;
  }

  private async apply(request: IncomingMessage, response: ServerResponse, resource: Resource, namespace: string, name: string, url: URL): Promise<void> {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type !== 'application/apply-patch+yaml') throw new ApiError(415, 'UnsupportedMediaType', `this stand-in takes server-side apply only, not ${type}`);
    const manager = url.searchParams.get('fieldManager');
    if (!manager) throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    const body = await readJson(request);
    if (body.kind !== resource.kind || body.metadata?.name !== name) throw new ApiError(400, 'BadRequest', `the body names ${body.kind}/${body.metadata?.name}, the URL ${resource.kind}/${name}`);
    const kamaji = this.options.kamaji;
    if (resource.kind === 'TenantControlPlane' && kamaji?.mode.kind === 'refuse') throw new ApiError(422, 'Invalid', `TenantControlPlane.kamaji.clastix.io "${name}" is invalid: ${kamaji.mode.message}`);
    const current = this.store.find(resource.name, namespace, name);
    const applied = serverSideApply(current, normalise(resource, body), manager, url.searchParams.get('force') === 'true');
    const stored = this.store.put(resource.name, namespace, applied);
    if (resource.kind === 'TenantControlPlane' && !current) this.provision(namespace, name);
    send(response, current ? 200 : 201, stored);
  }

  /** Kamaji's controller: Provisioning at once, then Ready with the endpoint and admin kubeconfig (or never). */
  private provision(namespace: string, name: string): void {
    const kamaji = this.options.kamaji!;
    this.setStatus(namespace, name, { kubernetesResources: { version: { status: 'Provisioning' } } });
    const mode = kamaji.mode;
    if (mode.kind !== 'ready') return;
    this.later(mode.afterMs, () => {
      const tcp = this.store.find('tenantcontrolplanes', namespace, name);
      if (!tcp || tcp.metadata.deletionTimestamp) return;
      const secretName = `${name}-admin-kubeconfig`;
      this.store.put('secrets', namespace, { apiVersion: 'v1', kind: 'Secret', metadata: { name: secretName, labels: { 'kamaji.clastix.io/name': name } }, type: 'Opaque', data: { 'admin.conf': Buffer.from(kamaji.adminKubeconfig()).toString('base64') } });
      const version = ((tcp['spec'] as { kubernetes?: { version?: string } } | undefined)?.kubernetes?.version) ?? 'v1.34.0';
      this.setStatus(namespace, name, { kubernetesResources: { version: { status: 'Ready', version } }, controlPlaneEndpoint: kamaji.endpoint(), kubeconfig: { admin: { secretName } } });
    });
  }

  private setStatus(namespace: string, name: string, status: Record<string, unknown>): void {
    const tcp = this.store.find('tenantcontrolplanes', namespace, name);
    if (tcp) this.store.put('tenantcontrolplanes', namespace, { ...tcp, status });
  }

  private remove(resource: Resource, namespace: string, name: string): unknown {
    const found = this.store.find(resource.name, namespace, name);
    if (!found) throw notFound(resource, name);
    if (resource.kind === 'TenantControlPlane' || resource.kind === 'Namespace') {
      // Gone after its finalizer ran (a namespace: once its objects are), as the real ones.
      if (!found.metadata.deletionTimestamp) this.store.put(resource.name, namespace, { ...found, metadata: { ...found.metadata, deletionTimestamp: new Date().toISOString() } });
      this.later(this.options.kamaji?.deletionMs ?? 100, () => {
        if (resource.kind === 'Namespace') {
          for (const kind of ['secrets', 'tenantcontrolplanes']) for (const object of this.store.list(kind, name)) this.store.remove(kind, name, object.metadata.name);
        } else {
          this.store.remove('secrets', namespace, `${name}-admin-kubeconfig`);
        }
        this.store.remove(resource.name, namespace, name);
      });
      return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: resource.name } };
    }
    this.store.remove(resource.name, namespace, name);
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: resource.name } };
  }

  private listObjects(resource: Resource, namespace: string, url: URL, response: ServerResponse): void {
    const named = fieldName(url);
    const items = this.store.list(resource.name, resource.namespaced && namespace !== '' ? namespace : undefined).filter((object) => named === undefined || object.metadata.name === named);
    send(response, 200, { kind: `${resource.kind}List`, apiVersion: resource.group === '' ? 'v1' : `${resource.group}/${resource.version}`, metadata: { resourceVersion: this.store.resourceVersion }, items });
  }

  private watch(resource: Resource, namespace: string, url: URL, response: ServerResponse): void {
    const named = fieldName(url);
    const pending: WatchEvent[] = [];
    let write = (event: WatchEvent) => void pending.push(event);
    const stop = this.store.watch(resource.name, resource.namespaced && namespace !== '' ? namespace : undefined, url.searchParams.get('resourceVersion') ?? undefined, (event) => {
      if (named === undefined || event.object.metadata.name === named) write(event);
    });
    response.writeHead(200, { 'content-type': 'application/json' });
    response.flushHeaders();
    write = (event) => void response.write(`${JSON.stringify(event)}\n`);
    for (const event of pending) write(event);
    if (this.endWatchesAtOnce) {
      stop();
      return void response.end();
    }
    const seconds = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const timer = seconds > 0 ? setTimeout(() => response.end(), seconds * 1000) : undefined;
    this.held.add(response);
    response.once('close', () => {
      stop();
      clearTimeout(timer);
      this.held.delete(response);
    });
  }
}

function namespaceObject(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } };
}

/** What the API server does to a written object: its kind, and a Secret's stringData folded into data. */
function normalise(resource: Resource, body: KubeObject): KubeObject {
  const object: KubeObject = { ...structuredClone(body), apiVersion: resource.group === '' ? 'v1' : `${resource.group}/${resource.version}`, kind: resource.kind };
  if (resource.kind === 'Secret') {
    const data = { ...((object['data'] ?? {}) as Record<string, string>) };
    for (const [key, value] of Object.entries((object['stringData'] ?? {}) as Record<string, string>)) data[key] = Buffer.from(value).toString('base64');
    delete object['stringData'];
    object['data'] = data;
  }
  if (resource.kind === 'Namespace') object['status'] = { phase: 'Active' };
  return object;
}

function decode(secret: KubeObject): Record<string, string> {
  return Object.fromEntries(Object.entries((secret['data'] ?? {}) as Record<string, string>).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
}

/** `fieldSelector=metadata.name=<name>`, the only selector the stand-in reads. */
function fieldName(url: URL): string | undefined {
  const selector = url.searchParams.get('fieldSelector');
  return selector?.startsWith('metadata.name=') ? selector.slice('metadata.name='.length) : undefined;
}

function notFound(resource: Resource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${resource.name}${resource.group ? `.${resource.group}` : ''} "${name}" not found`);
}

function send(response: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

async function readJson(request: IncomingMessage): Promise<KubeObject> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubeObject;
  } catch {
    throw new ApiError(400, 'BadRequest', 'the body is not JSON');
  }
}
