import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { AzureLifecycleModel, DEFAULT_AZURE_DURATIONS, type AzureDurations } from './azure-lifecycle.js';
import { HttpsStandin, type StandinReply, type StandinRequest } from './https-standin.js';
import { testTls } from './test-tls.js';

export { DEFAULT_AZURE_DURATIONS, type AzureAction, type AzureDurations } from './azure-lifecycle.js';

/** An Entra ID service principal the stand-in knows, and the subscriptions it may read. */
export interface ServicePrincipal {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  subscriptions: string[];
}

export interface AksFixture {
  subscriptionId: string;
  resourceGroup: string;
  /** The managed cluster as ARM answers it (GET .../managedClusters/{name}). */
  body: Record<string, unknown> & { name: string };
  /** The kubeconfig listClusterUserCredential returns. */
  kubeconfig: string;
}

/** A managed cluster body as ARM returns it (2025 API versions, trimmed to what real answers always carry). */
export function managedClusterBody(options: {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  version: string;
  pools: { name: string; count: number; vmSize: string; version: string }[];
  entraId?: boolean;
  powerState?: 'Running' | 'Stopped';
}): AksFixture['body'] {
  const { subscriptionId, resourceGroup, name, location, version } = options;
  return {
    id: `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${name}`,
    location,
    name,
    type: 'Microsoft.ContainerService/ManagedClusters',
    tags: {},
    sku: { name: 'Base', tier: 'Free' },
    identity: { type: 'SystemAssigned', principalId: '00000000-0000-0000-0000-00000000a1b2', tenantId: '00000000-0000-0000-0000-0000000000aa' },
    properties: {
      provisioningState: 'Succeeded',
      powerState: { code: options.powerState ?? 'Running' },
      kubernetesVersion: version.split('.').slice(0, 2).join('.'),
      currentKubernetesVersion: version,
      dnsPrefix: `${name}-dns`,
      fqdn: `${name}-dns-a1b2c3d4.hcp.${location}.azmk8s.io`,
      azurePortalFQDN: `${name}-dns-a1b2c3d4.portal.hcp.${location}.azmk8s.io`,
      agentPoolProfiles: options.pools.map((pool, index) => ({
        name: pool.name,
        count: pool.count,
        vmSize: pool.vmSize,
        osDiskSizeGB: 128,
        osDiskType: 'Managed',
        kubeletDiskType: 'OS',
        maxPods: 110,
        type: 'VirtualMachineScaleSets',
        provisioningState: 'Succeeded',
        powerState: { code: 'Running' },
        orchestratorVersion: pool.version,
        currentOrchestratorVersion: pool.version,
        mode: index === 0 ? 'System' : 'User',
        osType: 'Linux',
        osSKU: 'Ubuntu',
        nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202410.15.0',
        enableFIPS: false,
      })),
      nodeResourceGroup: `MC_${resourceGroup}_${name}_${location}`,
      enableRBAC: true,
      ...(options.entraId ? { aadProfile: { managed: true, enableAzureRBAC: true, tenantID: '00000000-0000-0000-0000-0000000000aa' }, disableLocalAccounts: true } : {}),
      supportPlan: 'KubernetesOfficial',
      networkProfile: { networkPlugin: 'azure', networkPluginMode: 'overlay', serviceCidr: '10.0.0.0/16', dnsServiceIP: '10.0.0.10', outboundType: 'loadBalancer', loadBalancerSku: 'Standard' },
      maxAgentPools: 100,
    },
  };
}

/** The kubeconfig AKS hands out: local accounts carry a token and client certificate, Entra ID ones name kubelogin. */
export function aksKubeconfig(options: { name: string; resourceGroup: string; server: string; caPem: string; user: { token: string; certPem: string; keyPem: string } | { kubeloginTenant: string } }): string {
  const userName = `clusterUser_${options.resourceGroup}_${options.name}`;
  const user =
    'token' in options.user
      ? { 'client-certificate-data': Buffer.from(options.user.certPem).toString('base64'), 'client-key-data': Buffer.from(options.user.keyPem).toString('base64'), token: options.user.token }
      : {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'kubelogin',
            args: ['get-token', '--environment', 'AzurePublicCloud', '--server-id', '6dae42f8-4368-4678-94ff-3960e28e3630', '--client-id', '80faf920-1908-4b52-b5ef-a8e7bedfc67a', '--tenant-id', options.user.kubeloginTenant, '--login', 'devicecode'],
            env: null,
            provideClusterInfo: false,
          },
        };
  return stringify({
    apiVersion: 'v1',
    clusters: [{ cluster: { 'certificate-authority-data': Buffer.from(options.caPem).toString('base64'), server: options.server }, name: options.name }],
    contexts: [{ context: { cluster: options.name, user: userName }, name: options.name }],
    'current-context': options.name,
    kind: 'Config',
    preferences: {},
    users: [{ name: userName, user }],
  });
}

const armError = (status: number, code: string, message: string): StandinReply => ({ status, json: { error: { code, message } } });

/** What a test or benchmark can set when starting the stand-in (all of it can be changed later through the fields). */
export interface AzureStandinOptions {
  /** Operation durations (ms) of the managed-cluster lifecycle. */
  durations?: Partial<AzureDurations>;
  /** `major.minor` versions offered per location; by default westeurope and northeurope offer 1.29-1.32. */
  versions?: Record<string, string[]>;
  /** ARM's request limit per service principal: a token bucket; beyond it 429 with Retry-After. Null: none. */
  rateLimit?: AzureRateLimit | null;
  /** vCPUs a subscription may use per location. */
  coreQuota?: number;
  /** Milliseconds now, for operation times and the rate limit; by default the wall clock. */
  clock?: () => number;
}

export interface AzureRateLimit {
  /** Requests the bucket regains per second. */
  perSecond: number;
  /** Requests it holds when full. */
  burst: number;
  /** Retry-After as ARM writes it (whole seconds, rounded up) or with milliseconds, for time-scaled benchmarks. */
  retryAfter?: 'seconds' | 'fractional';
}

/** What a benchmark reads after a run. */
export interface AzureStandinCounts {
  /** Creates per resource (`rg/cluster`, `rg/cluster/pool`, lower case). */
  creates: Record<string, number>;
  duplicateCreates: number;
  throttledRequests: number;
  armRequests: number;
}

/**
 * Entra ID (the token endpoint and the OpenID metadata MSAL reads) and Azure Resource Manager's
 * managed-cluster API on one HTTPS server. ARM only answers tokens the stand-in issued for the
 * ARM scope, to principals allowed on the subscription.
 */
export class AzureStandin {
  readonly principals = new Map<string, ServicePrincipal>();
  readonly fixtures: AksFixture[] = [];
  /** Access tokens issued: token -> principal and scope. */
  readonly issued = new Map<string, { clientId: string; scope: string }>();
  /** The next n ARM calls answer 429. */
  throttleNext = 0;
  /** List pages this long (small to make the SDK follow nextLink). */
  pageSize = 100;
  rateLimit: AzureRateLimit | null;
  /** ARM requests answered 429, by throttleNext or the rate limit. */
  throttledRequests = 0;
  armRequests = 0;
  /** Managed clusters and agent pools made through ARM's PUT, and their operations. */
  readonly managed: AzureLifecycleModel;
  private readonly clock: () => number;
  private readonly buckets = new Map<string, { tokens: number; at: number; limit: AzureRateLimit }>();

  private constructor(
    readonly server: HttpsStandin,
    options: AzureStandinOptions,
  ) {
    this.rateLimit = options.rateLimit ?? null;
    this.clock = options.clock ?? Date.now;
    this.managed = new AzureLifecycleModel(
      {
        durations: { ...DEFAULT_AZURE_DURATIONS, ...options.durations },
        versions: options.versions ?? { westeurope: ['1.29', '1.30', '1.31', '1.32'], northeurope: ['1.29', '1.30', '1.31', '1.32'] },
        coreQuota: options.coreQuota ?? 10_000,
      },
      () => this.url,
      ({ name, resourceGroup, server }) => aksKubeconfig({ name, resourceGroup, server, caPem: testTls().caPem, user: { token: randomBytes(32).toString('hex'), certPem: testTls().certPem, keyPem: '-----BEGIN RSA PRIVATE KEY-----\nstand-in\n-----END RSA PRIVATE KEY-----\n' } }),
      this.clock,
    );
  }

  static async start(options: AzureStandinOptions = {}): Promise<AzureStandin> {
    // The server starts first; its handler reaches the stand-in once it exists.
    const started: { standin?: AzureStandin } = {};
    const server = await HttpsStandin.start((request) => started.standin?.handle(request) ?? { status: 503 });
    started.standin = new AzureStandin(server, options);
    return started.standin;
  }

  counts(): AzureStandinCounts {
    return { creates: Object.fromEntries(this.managed.creates), duplicateCreates: this.managed.duplicateCreates(), throttledRequests: this.throttledRequests, armRequests: this.armRequests };
  }

  get url(): string {
    return this.server.url;
  }

  private handle(request: StandinRequest): StandinReply {
    const segments = request.url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (segments[0] === 'subscriptions') return this.arm(request, segments);
    if (segments[1] === 'v2.0' && segments[2] === '.well-known' && segments[3] === 'openid-configuration') return this.openIdConfiguration(segments[0] ?? '');
    if (request.method === 'POST' && segments[1] === 'oauth2' && segments[2] === 'v2.0' && segments[3] === 'token') return this.token(segments[0] ?? '', new URLSearchParams(request.body));
    return { status: 404, json: { error: 'not_found' } };
  }

  private openIdConfiguration(tenant: string): StandinReply {
    const base = `${this.url}/${tenant}`;
    return {
      status: 200,
      json: {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${this.url}/${tenant}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${this.url}/${tenant}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${this.url}/oidc/userinfo`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
        kerberos_endpoint: `${base}/kerberos`,
        tenant_region_scope: 'EU',
        cloud_instance_name: 'microsoftonline.com',
        cloud_graph_host_name: 'graph.windows.net',
        msgraph_host: 'graph.microsoft.com',
        rbac_url: 'https://pas.windows.net',
      },
    };
  }

  private token(tenant: string, form: URLSearchParams): StandinReply {
    const principal = this.principals.get(form.get('client_id') ?? '');
    if (form.get('grant_type') !== 'client_credentials') return { status: 400, json: { error: 'unsupported_grant_type', error_description: 'AADSTS70003: unsupported grant type' } };
    if (!principal || principal.tenantId !== tenant) {
      return { status: 400, json: { error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory '${tenant}'.`, error_codes: [700016] } };
    }
    if (form.get('client_secret') !== principal.clientSecret) {
      return { status: 401, json: { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215] } };
    }
    const scope = form.get('scope') ?? '';
    const token = `eyJ0eXAiOiJKV1Qi.${randomBytes(24).toString('base64url')}.sig`;
    this.issued.set(token, { clientId: principal.clientId, scope });
    return { status: 200, json: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token } };
  }

  private arm(request: StandinRequest, segments: string[]): StandinReply {
    if (!request.url.searchParams.get('api-version')) return armError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const grant = bearer === undefined ? undefined : this.issued.get(bearer);
    if (!grant) return armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    if (grant.scope !== `${this.url}/.default`) return armError(401, 'InvalidAuthenticationTokenAudience', 'The access token has been obtained for wrong audience or resource.');
    const [, subscriptionId = ''] = segments;
    const principal = this.principals.get(grant.clientId);
    if (!principal?.subscriptions.includes(subscriptionId)) {
      return armError(403, 'AuthorizationFailed', `The client '${grant.clientId}' does not have authorization to perform action 'Microsoft.ContainerService/managedClusters/read' over scope '/subscriptions/${subscriptionId}' or the scope is invalid.`);
    }
    this.armRequests += 1;
    if (this.throttleNext > 0) {
      this.throttleNext -= 1;
      this.throttledRequests += 1;
      return { ...armError(429, 'TooManyRequests', 'Too many requests, retry later.'), headers: { 'retry-after': '0' } };
    }
    const limited = this.limit(grant.clientId, subscriptionId, request.method);
    if (limited) return limited;
    this.managed.tick();
    const provider = segments.findIndex((segment) => segment.toLowerCase() === 'microsoft.containerservice');
    const resourceGroup = segments[2]?.toLowerCase() === 'resourcegroups' ? segments[3] : undefined;
    const [kind, name, action, poolName] = segments.slice(provider + 1);
    if (provider >= 0 && kind === 'locations' && name !== undefined && request.method === 'GET') {
      if (action === 'kubernetesVersions' && poolName === undefined) return this.managed.kubernetesVersions(name);
      const operationId = segments[provider + 4];
      if (action === 'operations' && operationId !== undefined) return this.managed.operationStatus(subscriptionId, operationId);
      if (action === 'operationresults' && operationId !== undefined) return this.managed.operationResult(subscriptionId, operationId);
    }
    if (provider < 0 || kind !== 'managedClusters') return armError(404, 'InvalidResourceType', 'The resource type could not be found.');
    const inSubscription = this.fixtures.filter((fixture) => fixture.subscriptionId === subscriptionId);
    const managed = [...this.managed.clusters.values()].filter((cluster) => cluster.subscriptionId === subscriptionId);
    if (name === undefined) {
      const bodies = [
        ...inSubscription.filter((fixture) => resourceGroup === undefined || fixture.resourceGroup.toLowerCase() === resourceGroup.toLowerCase()).map((fixture) => fixture.body),
        ...managed.filter((cluster) => resourceGroup === undefined || cluster.resourceGroup.toLowerCase() === resourceGroup.toLowerCase()).map((cluster) => this.managed.clusterBody(cluster)),
      ];
      const start = Number(request.url.searchParams.get('$skiptoken') ?? '0');
      const next = new URL(request.url.pathname, this.url);
      next.searchParams.set('api-version', request.url.searchParams.get('api-version') ?? '');
      next.searchParams.set('$skiptoken', String(start + this.pageSize));
      return {
        status: 200,
        json: { value: bodies.slice(start, start + this.pageSize), ...(start + this.pageSize < bodies.length ? { nextLink: next.toString() } : {}) },
      };
    }
    const notFound = armError(404, 'ResourceNotFound', `The Resource 'Microsoft.ContainerService/managedClusters/${name}' under resource group '${resourceGroup ?? ''}' was not found.`);
    const fixture = inSubscription.find((candidate) => candidate.body.name === name && candidate.resourceGroup.toLowerCase() === resourceGroup?.toLowerCase());
    if (fixture) {
      if (action === undefined && request.method === 'GET') return { status: 200, json: fixture.body };
      if (action === undefined && request.method === 'PUT' && request.headers['if-none-match'] === '*') return armError(412, 'PreconditionFailed', `The managed cluster '${name}' already exists and If-None-Match: * was given.`);
      if (action === 'listClusterUserCredential' && request.method === 'POST') {
        return { status: 200, json: { kubeconfigs: [{ name: 'clusterUser', value: Buffer.from(fixture.kubeconfig).toString('base64') }] } };
      }
      return armError(409, 'OperationNotAllowed', `Managed cluster '${name}' is read-only in this stand-in.`);
    }
    if (resourceGroup === undefined) return notFound;
    const ifNoneMatch = typeof request.headers['if-none-match'] === 'string' ? { ifNoneMatch: request.headers['if-none-match'] } : {};
    if (action === undefined && request.method === 'PUT') return this.managed.putCluster(subscriptionId, resourceGroup, name, ifNoneMatch, parseJson(request.body));
    if (action === undefined && request.method === 'DELETE') return this.managed.deleteCluster(subscriptionId, resourceGroup, name);
    const cluster = this.managed.find(subscriptionId, resourceGroup, name);
    if (!cluster) return notFound;
    if (action === undefined && request.method === 'GET') return { status: 200, json: this.managed.clusterBody(cluster) };
    if (action === undefined && request.method === 'PATCH') return this.managed.patchTags(cluster, parseJson(request.body));
    if (action === 'listClusterUserCredential' && request.method === 'POST') {
      if (cluster.provisioningState === 'Creating') return armError(409, 'OperationNotAllowed', `Managed cluster '${name}' is being created.`);
      return { status: 200, json: { kubeconfigs: [{ name: 'clusterUser', value: Buffer.from(cluster.kubeconfig).toString('base64') }] } };
    }
    if (action === 'agentPools' && poolName === undefined && request.method === 'GET') return { status: 200, json: { value: [...cluster.pools.values()].map((pool) => this.managed.poolBody(cluster, pool)) } };
    if (action === 'agentPools' && poolName !== undefined) {
      if (request.method === 'PUT') return this.managed.putPool(cluster, poolName, ifNoneMatch, parseJson(request.body));
      if (request.method === 'DELETE') return this.managed.deletePool(cluster, poolName);
      const pool = cluster.pools.get(poolName);
      if (request.method === 'GET') return pool ? { status: 200, json: this.managed.poolBody(cluster, pool) } : armError(404, 'NotFound', `Agent pool '${poolName}' of managed cluster '${name}' was not found.`);
    }
    return armError(404, 'InvalidResourceType', 'The resource type could not be found.');
  }

  /**
   * ARM's per-principal token bucket. Its 429 names the subscription and the kind of request and
   * says in Retry-After when a token is back.
   */
  private limit(clientId: string, subscriptionId: string, method: string): StandinReply | undefined {
    const limit = this.rateLimit;
    if (limit === null) return undefined;
    const now = this.clock();
    // A new limit starts with a full bucket.
    const known = this.buckets.get(clientId);
    const bucket = known?.limit === limit ? known : { tokens: limit.burst, at: now, limit };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    this.buckets.set(clientId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    this.throttledRequests += 1;
    const waitSeconds = (1 - bucket.tokens) / limit.perSecond;
    const retryAfter = limit.retryAfter === 'fractional' ? waitSeconds.toFixed(3) : String(Math.max(1, Math.ceil(waitSeconds)));
    const kind = method === 'GET' ? 'read' : method === 'DELETE' ? 'delete' : 'write';
    return {
      ...armError(429, 'SubscriptionRequestsThrottled', `Number of '${kind}' requests for subscription '${subscriptionId}' actor '${clientId}' exceeded. Please try again after '${retryAfter}' seconds after additional tokens are available.`),
      headers: { 'retry-after': retryAfter },
    };
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}

function parseJson(body: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
