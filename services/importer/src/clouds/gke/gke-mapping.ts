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
const GRPC_STATUS: Record<number, string> = { 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED', 14: 'UNAVAILABLE', 16: 'UNAUTHENTICATED' };

/** Reads a google-gax GoogleError, a gaxios error from the token endpoint, or a network error. */
export function gkeErrorCode(error: unknown): CloudErrorCode {
  if (typeof error !== 'object' || error === null) return 'cloud-failed';
  const facts = error as { code?: unknown; status?: unknown; response?: { status?: unknown; data?: { error?: unknown } }; cause?: { code?: unknown } };
  // A token endpoint refusal (invalid_grant: unknown or disabled key, bad signature...).
  const oauthError = typeof facts.response?.data?.error === 'string' ? facts.response.data.error : undefined;
  const httpStatus = typeof facts.response?.status === 'number' ? facts.response.status : undefined;
  const code = typeof facts.code === 'number' ? GRPC_STATUS[facts.code] : typeof facts.code === 'string' ? facts.code : undefined;
  const networkCode = typeof facts.cause?.code === 'string' ? facts.cause.code : code;
  return cloudErrorCodeFor({
    ...(httpStatus === undefined ? {} : { status: httpStatus }),
    ...((oauthError ?? code) === undefined ? {} : { code: oauthError ?? code }),
    ...(networkCode === undefined ? {} : { networkCode }),
  });
}

export function gkeError(error: unknown, what: string): CloudError {
  if (error instanceof CloudError) return error;
  const code = gkeErrorCode(error);
  const facts = typeof error === 'object' && error !== null ? (error as { code?: unknown; name?: unknown; response?: { data?: { error?: unknown } } }) : {};
  const oauthError = facts.response?.data?.error;
  const detail =
    typeof oauthError === 'string' ? oauthError : typeof facts.code === 'number' ? (GRPC_STATUS[facts.code] ?? `status ${facts.code}`) : typeof facts.code === 'string' ? facts.code : typeof facts.name === 'string' ? facts.name : 'Error';
  return new CloudError(code, `GKE ${what}: ${detail}`);
}
