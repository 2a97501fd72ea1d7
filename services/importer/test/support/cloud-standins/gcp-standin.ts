import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { GkeLifecycleStandin, type GkeLifecycleOptions } from './gke-standin-lifecycle.js';
import { HttpsStandin, type StandinReply, type StandinRequest } from './https-standin.js';

export { DEFAULT_GKE_DURATIONS, DEFAULT_GKE_VERSIONS, gkeCreateCriticalPathMs, type GkeOperationDurations, type GkeOperationType } from './gke-standin-lifecycle.js';

export interface GcpStandinOptions extends GkeLifecycleOptions {
  /** API requests each service account may make per window; beyond it 429 RESOURCE_EXHAUSTED with Retry-After. */
  rateLimit?: { requests: number; windowMs: number };
}

/** What a run did to the stand-in, for tests and benchmarks. */
export interface GcpStandinCounts {
  /** Resources created, by path: more than one for a path is a duplicate create. */
  creates: Record<string, number>;
  duplicateCreates: number;
  /** Requests answered 429 (rate limit and `throttleNext`). */
  throttledRequests: number;
  apiRequests: number;
  /** Requests to Compute Engine (node pools' instance groups), which GKE's rate limit does not cover. */
  computeRequests: number;
}

/** A service account the stand-in knows: its key file and the projects it may read. */
export interface ServiceAccountFixture {
  keyFile: { type: 'service_account'; project_id: string; private_key_id: string; private_key: string; client_email: string; client_id: string; token_uri: string };
  projects: string[];
}

export function newServiceAccount(email: string, projects: string[]): ServiceAccountFixture {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    keyFile: {
      type: 'service_account',
      project_id: projects[0] ?? 'project',
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: email,
      client_id: '10' + randomBytes(9).readBigUInt64BE().toString(),
      token_uri: 'https://oauth2.googleapis.com/token',
    },
    projects,
  };
}

export interface GkeFixture {
  projectId: string;
  /** The cluster as the GKE REST API answers it (proto3 JSON, camelCase). */
  body: Record<string, unknown> & { name: string; location: string };
}

export function gkeClusterBody(options: { projectId: string; name: string; location: string; version: string; caPem: string; pools: { name: string; perZone: number; machineType: string; zones: string[]; version: string }[]; status?: string }): GkeFixture['body'] {
  const { projectId, name, location, version } = options;
  return {
    name,
    loggingService: 'logging.googleapis.com/kubernetes',
    monitoringService: 'monitoring.googleapis.com/kubernetes',
    network: 'default',
    clusterIpv4Cidr: '10.4.0.0/14',
    masterAuth: { clusterCaCertificate: Buffer.from(options.caPem).toString('base64') },
    nodePools: options.pools.map((pool) => ({
      name: pool.name,
      config: { machineType: pool.machineType, diskSizeGb: 100, oauthScopes: ['https://www.googleapis.com/auth/cloud-platform'], imageType: 'COS_CONTAINERD', diskType: 'pd-balanced' },
      initialNodeCount: pool.perZone,
      locations: pool.zones,
      selfLink: `https://container.googleapis.com/v1/projects/${projectId}/locations/${location}/clusters/${name}/nodePools/${pool.name}`,
      version: pool.version,
      status: 'RUNNING',
      management: { autoUpgrade: true, autoRepair: true },
      podIpv4CidrSize: 24,
      upgradeSettings: { maxSurge: 1, strategy: 'SURGE' },
    })),
    locations: options.pools[0]?.zones ?? [],
    selfLink: `https://container.googleapis.com/v1/projects/${projectId}/locations/${location}/clusters/${name}`,
    zone: location,
    endpoint: '34.76.12.34',
    initialClusterVersion: '1.29.8-gke.1031000',
    currentMasterVersion: version,
    currentNodeVersion: version,
    createTime: '2024-11-01T10:00:00+00:00',
    status: options.status ?? 'RUNNING',
    servicesIpv4Cidr: '34.118.224.0/20',
    currentNodeCount: options.pools.reduce((sum, pool) => sum + pool.perZone * pool.zones.length, 0),
    location,
    id: randomBytes(16).toString('hex'),
    releaseChannel: { channel: 'REGULAR' },
  };
}

const googleError = (code: number, status: string, message: string): StandinReply => ({ status: code, json: { error: { code, message, status } } });

interface JwtParts {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signed: string;
  signature: Buffer;
}

function splitJwt(jwt: string): JwtParts | undefined {
  const [header, claims, signature] = jwt.split('.');
  if (header === undefined || claims === undefined || signature === undefined) return undefined;
  try {
    return {
      header: JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>,
      claims: JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as Record<string, unknown>,
      signed: `${header}.${claims}`,
      signature: Buffer.from(signature, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

/**
 * Google's OAuth 2.0 token endpoint (the JWT-bearer grant of service accounts), the GKE REST
 * API v1 and Compute Engine's listing of node pools' instance groups on one HTTPS server. Assertions and self-signed JWTs are checked against the service
 * account's public key, as Google does.
 */
export class GcpStandin {
  readonly accounts = new Map<string, { fixture: ServiceAccountFixture; publicKey: KeyObject }>();
  readonly fixtures: GkeFixture[] = [];
  /** Access tokens issued: token -> service account email and scope. */
  readonly issued = new Map<string, { email: string; scope: string }>();
  /** How API calls were authenticated, in order. */
  readonly apiAuth: ('access-token' | 'self-signed-jwt')[] = [];
  throttleNext = 0;
  /** The token endpoint refuses every assertion, as for a disabled service account. */
  refuseTokens = false;
  /** Clusters and node pools created, changed and deleted through the API. */
  readonly lifecycle: GkeLifecycleStandin;
  rateLimit: { requests: number; windowMs: number } | undefined;
  /** API requests of each service account in the current window (email -> request times). */
  private readonly recent = new Map<string, number[]>();
  private throttled = 0;
  private apiRequests = 0;
  private computeRequests = 0;

  private constructor(
    readonly server: HttpsStandin,
    options: GcpStandinOptions,
  ) {
    this.lifecycle = new GkeLifecycleStandin(options);
    this.rateLimit = options.rateLimit;
  }

  static async start(options: GcpStandinOptions = {}): Promise<GcpStandin> {
    // The server starts first; its handler reaches the stand-in once it exists.
    const started: { standin?: GcpStandin } = {};
    const server = await HttpsStandin.start((request) => started.standin?.handle(request) ?? { status: 503 });
    started.standin = new GcpStandin(server, options);
    return started.standin;
  }

  counts(): GcpStandinCounts {
    return { creates: Object.fromEntries(this.lifecycle.creates), duplicateCreates: this.lifecycle.duplicateCreates(), throttledRequests: this.throttled, apiRequests: this.apiRequests, computeRequests: this.computeRequests };
  }

  /** Over the account's rate: how long until a request would be taken again (ms). */
  private overRate(email: string, now: number): number | undefined {
    if (this.rateLimit === undefined) return undefined;
    const { requests, windowMs } = this.rateLimit;
    const times = (this.recent.get(email) ?? []).filter((time) => time > now - windowMs);
    this.recent.set(email, times);
    if (times.length >= requests) return (times[0] ?? now) + windowMs - now;
    times.push(now);
    return undefined;
  }

  get url(): string {
    return this.server.url;
  }

  addAccount(fixture: ServiceAccountFixture): void {
    this.accounts.set(fixture.keyFile.client_email, { fixture, publicKey: createPublicKey(fixture.keyFile.private_key) });
  }

  private verifiedJwt(jwt: string): { email: string; claims: Record<string, unknown> } | undefined {
    const parts = splitJwt(jwt);
    const email = typeof parts?.claims['iss'] === 'string' ? parts.claims['iss'] : undefined;
    const account = email === undefined ? undefined : this.accounts.get(email);
    if (!parts || !account || email === undefined || parts.header['alg'] !== 'RS256') return undefined;
    if (!verify('RSA-SHA256', Buffer.from(parts.signed), account.publicKey, parts.signature)) return undefined;
    const exp = Number(parts.claims['exp']);
    if (!(exp * 1000 > Date.now())) return undefined;
    return { email, claims: parts.claims };
  }

  private handle(request: StandinRequest): StandinReply {
    if (request.method === 'POST' && request.url.pathname === '/token') return this.token(new URLSearchParams(request.body));
    if (request.url.pathname.startsWith('/v1/') || request.url.pathname.startsWith('/compute/v1/')) return this.api(request);
    return googleError(404, 'NOT_FOUND', 'Not found');
  }

  private token(form: URLSearchParams): StandinReply {
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return { status: 400, json: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
    if (this.refuseTokens) return { status: 400, json: { error: 'invalid_grant', error_description: 'Invalid grant: account not found' } };
    const verified = this.verifiedJwt(form.get('assertion') ?? '');
    if (!verified) return { status: 400, json: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } };
    if (verified.claims['aud'] !== 'https://oauth2.googleapis.com/token') return { status: 400, json: { error: 'invalid_grant', error_description: 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.' } };
    const scope = typeof verified.claims['scope'] === 'string' ? verified.claims['scope'] : '';
    if (scope === '') return { status: 400, json: { error: 'invalid_scope', error_description: 'Invalid OAuth scope or ID token audience provided.' } };
    const token = `ya29.c.${randomBytes(32).toString('base64url')}`;
    this.issued.set(token, { email: verified.email, scope });
    return { status: 200, json: { access_token: token, expires_in: 3599, token_type: 'Bearer' } };
  }

  private api(request: StandinRequest): StandinReply {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    let email = this.issued.get(bearer)?.email;
    if (email !== undefined) this.apiAuth.push('access-token');
    else {
      const verified = this.verifiedJwt(bearer);
      // A self-signed JWT must name the API scope (google-auth-library's JWT access with scopes).
      if (verified && (typeof verified.claims['scope'] === 'string' ? verified.claims['scope'] : '').includes('https://www.googleapis.com/auth/cloud-platform')) {
        email = verified.email;
        this.apiAuth.push('self-signed-jwt');
      }
    }
    if (email === undefined) return googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
    // Compute Engine is another API, with quotas of its own: GKE's rate limit and count are not its.
    const compute = request.url.pathname.startsWith('/compute/');
    if (compute) this.computeRequests += 1;
    else this.apiRequests += 1;
    const projectId = /^\/(?:compute\/)?v1\/projects\/([^/]+)\//.exec(request.url.pathname)?.[1] ?? '';
    if (!this.accounts.get(email)?.fixture.projects.includes(projectId)) {
      return googleError(403, 'PERMISSION_DENIED', `Required "container.clusters.list" permission(s) for "projects/${projectId}".`);
    }
    if (!compute && this.throttleNext > 0) {
      this.throttleNext -= 1;
      this.throttled += 1;
      return googleError(429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'.");
    }
    const waitMs = compute ? undefined : this.overRate(email, Date.now());
    if (waitMs !== undefined) {
      this.throttled += 1;
      return {
        status: 429,
        headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) },
        json: {
          error: {
            code: 429,
            message: "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per user' of service 'container.googleapis.com'.",
            status: 'RESOURCE_EXHAUSTED',
            details: [
              { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'RATE_LIMIT_EXCEEDED', domain: 'googleapis.com', metadata: { service: 'container.googleapis.com' } },
              { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${(waitMs / 1000).toFixed(3)}s` },
            ],
          },
        },
      };
    }
    const handled = this.lifecycle.handle(request, projectId);
    if (handled !== undefined) return handled;
    const match = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/clusters(?:\/([^/]+))?$/.exec(request.url.pathname);
    if (!match || request.method !== 'GET') return googleError(404, 'NOT_FOUND', 'Not found');
    const [, , location = '', clusterName] = match;
    const inProject = this.fixtures.filter((fixture) => fixture.projectId === projectId && (location === '-' || fixture.body.location === location));
    if (clusterName === undefined) return { status: 200, json: { clusters: [...inProject.map((fixture) => fixture.body), ...this.lifecycle.clusterBodies(projectId, location)] } };
    const fixture = inProject.find((candidate) => candidate.body.name === clusterName);
    if (!fixture) return googleError(404, 'NOT_FOUND', `Not found: projects/${projectId}/locations/${location}/clusters/${clusterName}.`);
    return { status: 200, json: fixture.body };
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}
