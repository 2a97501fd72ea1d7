import { Agent, type AgentOptions, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy, Watch, type KubernetesObject, type RequestContext } from '@kubernetes/client-node';

/** Who Flotilla is to the API servers it writes to (server-side apply's field manager). */
export const FIELD_MANAGER = 'flotilla';

/** Anything that gives its value only when asked (`Secret` of @flotilla/secrets). */
export interface Revealable {
  revealString(): string;
}

/** An API server and how to authenticate to it: all a client needs. */
export interface KubernetesTarget {
  /** `https://host:port`: the only server this authentication is ever sent to. */
  server: string;
  /** PEM of the CA that signed the API server's certificate. */
  caCertificatePem: string;
  auth: { kind: 'token'; token: Revealable } | { kind: 'client-certificate'; certificatePem: string; privateKey: Revealable };
  /** Names the credential in messages (never its value). */
  describe: string;
}

/** An object's identity, enough to read or delete it. */
export interface ObjectHeader {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** A refusal of the API server, with the reason and message of its Status. */
export class KubernetesApiError extends Error {
  override readonly name = 'KubernetesApiError';

  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  /** 4xx other than 404/409/429: asking again changes nothing. */
  get refused(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 404 && this.status !== 408 && this.status !== 409 && this.status !== 429;
  }
}

/** A credential was about to go to another server than its own: nothing was sent. */
export class ServerBindingError extends Error {
  override readonly name = 'ServerBindingError';
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/**
 * The one way Flotilla talks to a Kubernetes API server it holds credentials for (a management
 * cluster, or a hosted cluster through its admin kubeconfig): the official client, verified
 * against the given CA, and every connection, the watch's included, made by an agent that
 * connects to the target's host and port only, so neither a redirect nor a bug can take the
 * credential elsewhere. Close it when done.
 */
export class KubernetesClient {
  private constructor(
    private readonly config: BoundKubeConfig,
    private readonly objects: KubernetesObjectApi,
    private readonly agent: Agent,
    readonly server: string,
  ) {}

  static async open(target: KubernetesTarget): Promise<KubernetesClient> {
    const url = new URL(target.server);
    if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.search !== '') throw new ServerBindingError(`${target.describe}: ${target.server} is not a plain https:// address`);
    const server = url.origin;
    const config = new BoundKubeConfig();
    const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    const { auth } = target;
    config.loadFromClusterAndUser(
      { name: 'target', server, skipTLSVerify: false, caData: base64(target.caCertificatePem) },
      auth.kind === 'token'
        ? { name: FIELD_MANAGER, token: auth.token.revealString() }
        : { name: FIELD_MANAGER, certData: base64(auth.certificatePem), keyData: base64(auth.privateKey.revealString()) },
    );
    const tls: RequestOptions = {};
    await config.applyToHTTPSOptions(tls);
    const agent = new ServerBoundAgent(url, target.describe, { keepAlive: true, maxSockets: 4, ca: tls.ca, cert: tls.cert, key: tls.key });
    config.agent = agent;
    return new KubernetesClient(config, KubernetesObjectApi.makeApiClient(config), agent, server);
  }

  /** Server-side apply as `flotilla`, taking back fields another manager changed (Flotilla owns what it applies). */
  async apply<T extends KubernetesObject>(object: T): Promise<T> {
    return this.call(() => this.objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply));
  }

  /** The object, or undefined when there is none. */
  async read<T extends KubernetesObject>(header: ObjectHeader): Promise<T | undefined> {
    try {
      return await this.call(() => this.objects.read<T>(header as KubernetesObject & { metadata: { name: string } }));
    } catch (error) {
      if (error instanceof KubernetesApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Creates an object; false when one of that name exists already. */
  async create(object: KubernetesObject): Promise<boolean> {
    try {
      await this.call(() => this.objects.create(object));
      return true;
    } catch (error) {
      if (error instanceof KubernetesApiError && error.status === 409) return false;
      throw error;
    }
  }

  /** Deletes an object (its dependents in the background); false when it was gone already. */
  async delete(header: ObjectHeader): Promise<boolean> {
    try {
      await this.call(() => this.objects.delete(header, undefined, undefined, undefined, undefined, 'Background'));
      return true;
    } catch (error) {
      if (error instanceof KubernetesApiError && error.status === 404) return false;
      throw error;
    }
  }

  /**
   * Watches `path` (a collection, narrowed by `fieldSelector`) from `resourceVersion` until the
   * server ends the watch (`timeoutSeconds`), the connection drops, `signal` aborts, or
   * `onEvent` returns true. Resolves with the error the watch ended with, if any.
   */
  async watch(path: string, query: { resourceVersion?: string; fieldSelector?: string; timeoutSeconds: number }, onEvent: (type: WatchEventType, object: KubernetesObject) => boolean, signal: AbortSignal): Promise<Error | undefined> {
    return new Promise<Error | undefined>((resolve) => {
      let controller: AbortController | undefined;
      let ended = false;
      const end = (error: Error | undefined) => {
        if (ended) return;
        ended = true;
        signal.removeEventListener('abort', abort);
        controller?.abort();
        resolve(error);
      };
      const abort = () => end(undefined);
      signal.addEventListener('abort', abort, { once: true });
      const params = { allowWatchBookmarks: true, timeoutSeconds: query.timeoutSeconds, resourceVersion: query.resourceVersion, fieldSelector: query.fieldSelector };
      new Watch(this.config)
        .watch(
          path,
          params,
          (type, object) => {
            if (!ended && onEvent(type as WatchEventType, object as KubernetesObject)) end(undefined);
          },
          (error: unknown) => end(error ? watchError(error) : undefined),
        )
        .then((started) => {
          controller = started;
          if (ended) started.abort();
        })
        .catch((error: unknown) => end(watchError(error)));
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw apiError(error);
    }
  }
}

/** The client's errors as KubernetesApiError when the server answered, unchanged otherwise. */
function apiError(error: unknown): unknown {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth += 1) {
    if (current instanceof ServerBindingError) return current;
  }
  if (!(error instanceof ApiException)) return error;
  const body = statusBody((error as ApiException<unknown>).body);
  return new KubernetesApiError(error.code, body.reason ?? 'Unknown', body.message ?? `the API server answered ${error.code}`);
}

function watchError(error: unknown): Error {
  if (error instanceof Error) {
    const status = (error as Error & { statusCode?: number }).statusCode;
    return status === undefined ? error : new KubernetesApiError(status, status === 410 ? 'Expired' : 'Unknown', `the watch was refused: ${status} ${error.message}`);
  }
  return new Error(String(error));
}

/** A v1 Status's reason and message, from the body as the client hands it over (parsed or text). */
function statusBody(body: unknown): { reason?: string; message?: string } {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { message: body.slice(0, 500) };
    }
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const { reason, message } = parsed as { reason?: unknown; message?: unknown };
  return { ...(typeof reason === 'string' ? { reason } : {}), ...(typeof message === 'string' ? { message } : {}) };
}

/**
 * A KubeConfig whose every request (typed calls and the watch alike) goes through the bound
 * agent, whatever agent the client would have made itself. Both are the client's public hooks.
 */
class BoundKubeConfig extends KubeConfig {
  agent: Agent | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    if (this.agent) context.setAgent(this.agent);
  }

  override async applyToFetchOptions(opts: RequestOptions): Promise<Awaited<ReturnType<KubeConfig['applyToFetchOptions']>>> {
    const init = await super.applyToFetchOptions(opts);
    return { ...init, agent: this.agent };
  }
}

/** Connects to one host and port only: a credential it carries reaches nothing else. */
class ServerBoundAgent extends Agent {
  private readonly host: string;
  private readonly port: string;

  constructor(
    server: URL,
    private readonly describe: string,
    options: AgentOptions,
  ) {
    super(options);
    this.host = server.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    this.port = server.port || '443';
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const host = String(options.host ?? options.hostname ?? '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
    const port = String(options.port ?? '443');
    if (host !== this.host || port !== this.port || options.socketPath !== undefined) {
      throw new ServerBindingError(`${this.describe} is bound to ${this.host}:${this.port}: no connection to ${options.socketPath ?? `${host}:${port}`} is made with it`);
    }
    return super.createConnection(options, callback);
  }
}
