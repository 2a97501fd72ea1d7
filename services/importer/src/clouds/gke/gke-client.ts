import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import { createSecureContext } from 'node:tls';
import { ClusterManagerClient } from '@google-cloud/container';
import { JWT } from 'google-auth-library';
import type { GcpAccount } from '../accounts.js';
import { CloudError } from '../errors.js';
import type { RequestBudget, RequestBudgets } from '../request-budget.js';
import { trustedCas, type CloudSettings } from '../settings.js';
import { gkeError } from './gke-mapping.js';
import { setAtMost } from '../bounded-map.js';

/** The scope gke-gcloud-auth-plugin asks for: the API server accepts these tokens. */
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Where google-auth-library sends every service-account assertion. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
/** Signed-in service accounts kept (their access tokens reused until they expire). */
const MAX_CACHED_ACCOUNTS = 64;

export interface GkeCallOptions {
  timeout: number;
}

/** The GKE API's methods the importer calls: each is one request, paced by the account's budget. */
const PACED_METHODS: ReadonlySet<string | symbol> = new Set([
  'getServerConfig',
  'listClusters',
  'getCluster',
  'createCluster',
  'updateMaster',
  'setLabels',
  'deleteCluster',
  'listNodePools',
  'getNodePool',
  'createNodePool',
  'setNodePoolAutoscaling',
  'setNodePoolSize',
  'updateNodePool',
  'deleteNodePool',
  'listOperations',
  'getOperation',
]);

/**
 * The client with each API method first taking a token of the budget; a throttled answer holds the
 * budget for the delay Google gives.
 */
function paced(client: ClusterManagerClient, budget: RequestBudget): ClusterManagerClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || !PACED_METHODS.has(property)) return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]): Promise<unknown> => {
        await budget.take();
        try {
          return await method.apply(target, args);
        } catch (error) {
          const typed = error instanceof CloudError ? error : gkeError(error, String(property));
          if (typed.code === 'cloud-throttled' && typed.retryAfterMs !== undefined) budget.hold(typed.retryAfterMs);
          throw error;
        }
      };
    },
  });
}

/**
 * GKE clients for the import side and the lifecycle side alike: @google-cloud/container over its
 * HTTP/JSON transport, signed in with the service-account key through google-auth-library's JWT
 * client, at the configured endpoints, over the configured trust, with the configured timeout.
 */
export class GkeClients {
  private readonly agent: Agent | undefined;
  private readonly api: URL;
  /**
   * Per service-account key, one JWT client (its access token serves every call until it expires
   * instead of one token request per call) and the API client signed in with it. Keyed by a hash,
   * never the key itself.
   */
  private readonly jwts = new Map<string, { jwt: JWT; client: ClusterManagerClient }>();

  /** With `budgets`, every API call of an account is paced by its budget (one per service account: Google counts requests per user). */
  constructor(
    private readonly settings: CloudSettings,
    private readonly budgets?: RequestBudgets,
  ) {
    const ca = trustedCas(settings);
    // One secure context for every connection: given `ca` instead, Node parses the whole CA list
    // again for each TLS connection (milliseconds of CPU each).
    this.agent = ca === undefined ? undefined : new Agent({ keepAlive: true, secureContext: createSecureContext({ ca }) });
    this.api = new URL(settings.gke.apiEndpoint);
  }

  /** The account's shared JWT client (see `jwts`). */
  jwt(account: GcpAccount): JWT {
    return this.cached(account).jwt;
  }

  /**
   * The account's JWT client and a ClusterManagerClient signed in with it, made once: building a
   * client loads the API's protos (about 90 ms of CPU), far more than a call.
   */
  private cached(account: GcpAccount): { jwt: JWT; client: ClusterManagerClient } {
    const key = accountKey(account);
    const found = this.jwts.get(key);
    if (found !== undefined) return found;
    const jwt = this.newJwt(account);
    const client = new ClusterManagerClient({
      authClient: jwt,
      apiEndpoint: this.api.hostname,
      port: this.api.port === '' ? 443 : Number(this.api.port),
      protocol: this.api.protocol.replace(':', ''),
      fallback: true,
    });
    // Dropped, not closed: a call may still be about to use it (a REST client holds no sockets of its own).
    const made = { jwt, client: this.budgets === undefined ? client : paced(client, this.budgets.for(account.client_email, 'gke')) };
    setAtMost(this.jwts, key, made, MAX_CACHED_ACCOUNTS);
    return made;
  }

  /**
   * A JWT client of its own (a token of its own, e.g. one handed out for a cluster's API). Its
   * token requests go to the configured token URI (the library always addresses Google's), over
   * the configured trust.
   */
  newJwt(account: GcpAccount): JWT {
    const jwt = new JWT({ email: account.client_email, key: account.private_key, ...(account.private_key_id ? { keyId: account.private_key_id } : {}), scopes: [CLOUD_PLATFORM_SCOPE] });
    const { tokenUri } = this.settings.gke;
    const agent = this.agent;
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (config.url.href === GOOGLE_TOKEN_URL && tokenUri !== GOOGLE_TOKEN_URL) config.url = new URL(tokenUri);
        if (agent !== undefined && config.url.protocol === 'https:') config.agent = agent;
        return config;
      },
    });
    return jwt;
  }

  /**
   * Runs `use` with a client of that account. A refusal of the credentials is tried once more with
   * a new access token: the cached one may have been revoked before it expired (a 401 means the
   * call was not carried out, so repeating it is safe).
   */
  async withClient<T>(account: GcpAccount, signal: AbortSignal | undefined, use: (client: ClusterManagerClient, options: GkeCallOptions) => Promise<T>): Promise<T> {
    try {
      return await this.once(this.cached(account).client, signal, use);
    } catch (error) {
      if (!isCredentialRefusal(error)) throw error;
      this.forget(account);
      return await this.once(this.cached(account).client, signal, use);
    }
  }

  /** Closes the API clients; calls made later make new ones. */
  async close(): Promise<void> {
    const all = [...this.jwts.values()];
    this.jwts.clear();
    await Promise.all(all.map(({ client }) => client.close()));
  }

  private forget(account: GcpAccount): void {
    this.jwts.delete(accountKey(account));
  }

  /** The REST transport takes no AbortSignal: on abort stop waiting for the answer. */
  private async once<T>(client: ClusterManagerClient, signal: AbortSignal | undefined, use: (client: ClusterManagerClient, options: GkeCallOptions) => Promise<T>): Promise<T> {
    let onAbort: (() => void) | undefined;
    try {
      signal?.throwIfAborted();
      const call = use(client, { timeout: this.settings.requestTimeoutMs });
      if (signal === undefined) return await call;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new CloudError('cloud-unreachable', 'GKE call aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      return await Promise.race([call, aborted]);
    } finally {
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    }
  }
}

function accountKey(account: GcpAccount): string {
  return createHash('sha256').update(account.client_email).update('\0').update(account.private_key).digest('hex');
}

/** The API refused the access token (401), whether or not `use` already made it a CloudError. */
function isCredentialRefusal(error: unknown): boolean {
  if (error instanceof CloudError) return error.code === 'cloud-auth-failed';
  const status = typeof error === 'object' && error !== null ? (error as { response?: { status?: unknown } }).response?.status : undefined;
  return status === 401;
}
