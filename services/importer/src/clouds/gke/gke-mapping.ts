import { protos } from '@google-cloud/container';
import type { CloudCluster, CloudNodeGroup } from '../cloud-provider.js';
import { CloudError, cloudErrorCodeFor, type CloudErrorCode } from '../errors.js';

type Cluster = protos.google.container.v1.ICluster;
type NodePool = protos.google.container.v1.INodePool;

// The REST transport decodes with protobuf defaults: absent strings read '' and absent numbers 0.
const present = (value: string | null | undefined): string | null => (value === undefined || value === null || value === '' ? null : value);

/** A GKE node pool as ours: nodes per zone × zones, the machine type, the pool's version. */
export function gkeNodeGroup(pool: NodePool): CloudNodeGroup {
  const zones = pool.locations?.length ?? 0;
  return {
    name: pool.name ?? '',
    nodeCount: (pool.initialNodeCount ?? 0) * Math.max(1, zones),
    instanceType: present(pool.config?.machineType),
    version: present(pool.version),
  };
}

/** The status enum as its name whether the transport gave a name or a number. */
export function gkeStatus(status: Cluster['status']): string {
  if (typeof status === 'number') return protos.google.container.v1.Cluster.Status[status] ?? 'STATUS_UNSPECIFIED';
  return status ?? 'STATUS_UNSPECIFIED';
}

export function gkeCluster(cluster: Cluster): CloudCluster {
  const name = present(cluster.name);
  if (name === null) throw new CloudError('cloud-response-invalid', 'GKE answered a cluster without a name');
  const endpoint = present(cluster.endpoint);
  return {
    provider: 'gke',
    name,
    location: present(cluster.location) ?? present(cluster.zone) ?? '',
    version: present(cluster.currentMasterVersion) ?? present(cluster.initialClusterVersion) ?? '',
    status: gkeStatus(cluster.status),
    // The API gives the control plane's IP (or DNS name) without scheme.
    endpoint: endpoint === null ? null : `https://${endpoint}`,
    nodeGroups: (cluster.nodePools ?? []).map(gkeNodeGroup),
  };
}

export function gkeCaCertificatePem(cluster: Cluster): string {
  const data = present(cluster.masterAuth?.clusterCaCertificate);
  const pem = data === null ? '' : Buffer.from(data, 'base64').toString('utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CloudError('cloud-response-invalid', `GKE cluster "${cluster.name ?? '?'}" has no cluster CA certificate`);
  return pem;
}

/** gRPC status codes google-gax reports, by number. */
const GRPC_STATUS: Record<number, string> = { 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 6: 'ALREADY_EXISTS', 7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED', 9: 'FAILED_PRECONDITION', 14: 'UNAVAILABLE', 16: 'UNAUTHENTICATED' };

/** The Google API error body (`{ error: { code, message, status } }`) as far as the error carries it. */
export interface GoogleErrorBody {
  code?: number;
  message?: string;
  status?: string;
  details?: unknown[];
}

type ErrorFacts = {
  code?: unknown;
  status?: unknown;
  name?: unknown;
  message?: unknown;
  details?: unknown;
  response?: { status?: unknown; headers?: unknown; data?: { error?: unknown } };
  cause?: { code?: unknown };
};

const factsOf = (error: unknown): ErrorFacts => (typeof error === 'object' && error !== null ? error : {});

/**
 * The API's error body: the REST transport's GaxiosError carries it as its message (the JSON as
 * answered), a google-gax GoogleError as its own fields.
 */
export function googleErrorBody(error: unknown): GoogleErrorBody | undefined {
  const facts = factsOf(error);
  if (typeof facts.message === 'string' && facts.message.startsWith('{')) {
    try {
      const parsed = JSON.parse(facts.message) as { error?: unknown };
      if (typeof parsed.error === 'object' && parsed.error !== null) return parsed.error;
    } catch {
      // Not JSON after all: no body.
    }
  }
  if (typeof facts.code === 'number' && typeof facts.message === 'string' && facts.response === undefined) {
    return { code: facts.code, message: facts.message, ...(Array.isArray(facts.details) ? { details: facts.details as unknown[] } : {}) };
  }
  return undefined;
}

// GKE's words for what has no status of its own (all answered 400 or 403).
const QUOTA = /insufficient (regional |zonal )?quota|quota .*exceeded|exceeded .*quota/i;
const VERSION = /version .*(unsupported|not supported|not available|is not valid|must not be newer|newer than)|cannot be upgraded|one minor version|not a valid (master|node) version/i;

/** Reads a google-gax GoogleError, a gaxios error from the API or the token endpoint, or a network error. */
export function gkeErrorCode(error: unknown): CloudErrorCode {
  if (typeof error !== 'object' || error === null) return 'cloud-failed';
  const facts = factsOf(error);
  const body = googleErrorBody(error);
  // A token endpoint refusal (invalid_grant: unknown or disabled key, bad signature...).
  const oauthError = typeof facts.response?.data?.error === 'string' ? facts.response.data.error : undefined;
  const httpStatus = typeof facts.response?.status === 'number' ? facts.response.status : undefined;
  const message = body?.message ?? '';
  const status = body?.status ?? (typeof facts.code === 'number' ? GRPC_STATUS[facts.code] : undefined);
  // A resource quota (GKE answers 403) is not throttling (429): waiting does not help, raising the quota does.
  const rateLimited = httpStatus === 429 || body?.code === 429 || /per minute|per second|per 100 seconds|rate/i.test(message);
  if (QUOTA.test(message) && !rateLimited) return 'cloud-quota-exceeded';
  if (VERSION.test(message)) return 'cloud-version-not-offered';
  if (status === 'ALREADY_EXISTS' || httpStatus === 409) return 'cloud-name-taken';
  const code = status ?? (typeof facts.code === 'string' ? facts.code : undefined);
  const networkCode = typeof facts.cause?.code === 'string' ? facts.cause.code : typeof facts.code === 'string' ? facts.code : undefined;
  return cloudErrorCodeFor({
    ...(httpStatus === undefined ? {} : { status: httpStatus }),
    ...((oauthError ?? code) === undefined ? {} : { code: oauthError ?? code }),
    ...(networkCode === undefined ? {} : { networkCode }),
  });
}

/**
 * How long the API asked to wait: the `google.rpc.RetryInfo` detail Google APIs put in the body
 * (`retryDelay: "0.35s"`), their own answer to the millisecond, else a Retry-After header (seconds
 * or an HTTP date; whole seconds: taken first, a throttle a few ms past the quota would hold the
 * account a second).
 */
export function gkeRetryAfterMs(error: unknown, now = Date.now()): number | undefined {
  for (const detail of googleErrorBody(error)?.details ?? []) {
    const delay = typeof detail === 'object' && detail !== null ? (detail as { retryDelay?: unknown }).retryDelay : undefined;
    if (typeof delay === 'string' && /^\d+(\.\d+)?s$/.test(delay)) return Math.round(Number(delay.slice(0, -1)) * 1000);
    if (typeof delay === 'object' && delay !== null) {
      const { seconds, nanos } = delay as { seconds?: unknown; nanos?: unknown };
      return Math.round(Number(seconds ?? 0) * 1000 + Number(nanos ?? 0) / 1e6);
    }
  }
  const headers = factsOf(error).response?.headers;
  const header = headers instanceof Headers ? headers.get('retry-after') : undefined;
  if (header !== undefined && header !== null && header.trim() !== '') {
    const value = header.trim();
    if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
    const date = Date.parse(value);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return undefined;
}

export function gkeError(error: unknown, what: string): CloudError {
  if (error instanceof CloudError) return error;
  const code = gkeErrorCode(error);
  const facts = factsOf(error);
  const body = googleErrorBody(error);
  const oauthError = facts.response?.data?.error;
  // The API's own message says which quota, version or name; it never holds a credential.
  const detail =
    typeof oauthError === 'string'
      ? oauthError
      : body?.message !== undefined && body.message !== ''
        ? `${body.status ?? (typeof facts.code === 'number' ? (GRPC_STATUS[facts.code] ?? `status ${facts.code}`) : 'error')}: ${body.message}`
        : typeof facts.code === 'number'
          ? (GRPC_STATUS[facts.code] ?? `status ${facts.code}`)
          : typeof facts.code === 'string'
            ? facts.code
            : typeof facts.name === 'string'
              ? facts.name
              : 'Error';
  return new CloudError(code, `GKE ${what}: ${detail}`, undefined, code === 'cloud-throttled' ? gkeRetryAfterMs(error) : undefined);
}

/** GKE refused a call because another operation runs on the cluster: worth trying again once it is over. */
export function isGkeConflict(error: CloudError): boolean {
  return error.code === 'cloud-failed' && /incompatible operation|operation .* (is )?(in progress|running)/i.test(error.message);
}
