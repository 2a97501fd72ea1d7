import { createHash } from 'node:crypto';
import type { AgentPool, KubernetesVersionListResult, ManagedCluster, ManagedClusterAgentPoolProfile } from '@azure/arm-containerservice';
import type { CloudCluster, CloudNodeGroup } from '../cloud-provider.js';
import { CloudError, cloudErrorCodeFor, cloudFailureCode, type CloudErrorCode } from '../errors.js';
import { OWNERSHIP_TAG, type CloudResourceState, type CloudTaint, type ObservedCloudCluster, type ObservedCloudNodeGroup } from '../lifecycle.js';

/** The application id of the AKS Entra ID server: kubelogin asks tokens for `<it>/.default`. */
export const AKS_AAD_SERVER_APP_ID = '6dae42f8-4368-4678-94ff-3960e28e3630';

export function aksNodeGroup(pool: ManagedClusterAgentPoolProfile): CloudNodeGroup {
  return {
    name: pool.name,
    nodeCount: pool.count ?? 0,
    instanceType: pool.vmSize ?? null,
    version: pool.currentOrchestratorVersion ?? pool.orchestratorVersion ?? null,
  };
}

/** The resource group in an ARM id (`/subscriptions/s/resourceGroups/rg/providers/...`; ARM ids are case-insensitive). */
export function resourceGroupOf(id: string | undefined): string | undefined {
  return id === undefined ? undefined : /\/resourcegroups\/([^/]+)/i.exec(id)?.[1];
}

export function aksCluster(cluster: ManagedCluster): CloudCluster {
  if (!cluster.name) throw new CloudError('cloud-response-invalid', 'ARM answered a managed cluster without a name');
  const resourceGroup = resourceGroupOf(cluster.id);
  const fqdn = cluster.fqdn ?? cluster.privateFqdn;
  return {
    provider: 'aks',
    name: cluster.name,
    location: cluster.location,
    ...(resourceGroup === undefined ? {} : { resourceGroup }),
    version: cluster.currentKubernetesVersion ?? cluster.kubernetesVersion ?? '',
    // A stopped cluster still reads "Succeeded": the power state is what matters then.
    status: cluster.powerState?.code === 'Stopped' ? 'Stopped' : (cluster.provisioningState ?? 'Unknown'),
    endpoint: fqdn ? `https://${fqdn}:443` : null,
    nodeGroups: (cluster.agentPoolProfiles ?? []).map(aksNodeGroup),
  };
}

/** Reads an Azure SDK failure: RestError (ARM), AuthenticationError (Entra ID) or a network error. */
export function aksErrorCode(error: unknown): CloudErrorCode {
  if (typeof error !== 'object' || error === null) return 'cloud-failed';
  const facts = error as { name?: unknown; code?: unknown; statusCode?: unknown; errorResponse?: { error?: unknown } };
  const status = typeof facts.statusCode === 'number' && facts.statusCode > 0 ? facts.statusCode : undefined;
  if (facts.name === 'AuthenticationError') {
    const oauthError = typeof facts.errorResponse?.error === 'string' ? facts.errorResponse.error : undefined;
    // Entra ID answered: a bad tenant, client or secret. No answer at all: unreachable.
    if (status === undefined && (oauthError === undefined || /network|endpoints_resolution|unreachable/i.test(oauthError))) return 'cloud-unreachable';
    return status !== undefined && status >= 500 ? 'cloud-unreachable' : 'cloud-auth-failed';
  }
  // Entra ID refused the client (invalid_client, unauthorized_client...): the identity library names it so.
  if (facts.name === 'AuthenticationRequiredError') return 'cloud-auth-failed';
  // The authority could not be reached or read (MSAL's endpoints_resolution_error, network errors).
  if (facts.name === 'CredentialUnavailableError') return 'cloud-unreachable';
  const code = typeof facts.code === 'string' ? facts.code : undefined;
  return cloudErrorCodeFor({ ...(status === undefined ? {} : { status }), ...(code === undefined ? {} : { code, networkCode: code }) });
}

export function aksError(error: unknown, what: string): CloudError {
  if (error instanceof CloudError) return error;
  const code = aksErrorCode(error);
  const facts = typeof error === 'object' && error !== null ? (error as { name?: unknown; code?: unknown }) : {};
  const detail = typeof facts.code === 'string' ? facts.code : typeof facts.name === 'string' ? facts.name : 'Error';
  return new CloudError(code, `AKS ${what}: ${detail}`);
}

/** AKS names a Linux agent pool with 1-12 lower-case alphanumerics, starting with a letter. */
const AGENT_POOL_NAME = /^[a-z][a-z0-9]{0,11}$/;

/**
 * The System-mode agent pool Flotilla creates with a cluster (AKS runs none without one); System
 * pools go with the control plane and are not node groups (see AksLifecycle).
 */
export const AKS_SYSTEM_POOL = 'flotillasys';

/** Tag on an agent pool holding the node group's own name when AKS had to be given another one. */
export const AKS_NODE_GROUP_TAG = 'flotilla-node-group';

/**
 * The AKS agent pool name of a node group. A name AKS accepts is kept; any other (a DNS label
 * with hyphens, longer than 12, or the system pool's) becomes its letters and digits cut to 6
 * plus 6 hex digits of its SHA-256, so two groups never share a pool and the same group always
 * gets the same one. Applying it to its own result changes nothing.
 */
export function aksAgentPoolName(nodeGroup: string): string {
  if (AGENT_POOL_NAME.test(nodeGroup) && nodeGroup !== AKS_SYSTEM_POOL) return nodeGroup;
  const letters = nodeGroup.toLowerCase().replace(/[^a-z0-9]/g, '').replace(/^[0-9]+/, '').slice(0, 6);
  return `${letters || 'pool'}${createHash('sha256').update(nodeGroup).digest('hex').slice(0, 12 - (letters || 'pool').length)}`;
}

/** The `major.minor` of a Kubernetes version (`1.31.4` -> `1.31`); the input when it has no minor. */
export function minorOf(version: string): string {
  return /^v?(\d+\.\d+)/.exec(version)?.[1] ?? version;
}

/** AKS provisioningState words to where the resource is in its life. */
export function aksResourceState(provisioningState: string | undefined): CloudResourceState {
  switch (provisioningState?.toLowerCase()) {
    case 'creating':
      return 'creating';
    case 'succeeded':
      return 'ready';
    case 'deleting':
      return 'deleting';
    case 'failed':
    case 'canceled':
      return 'failed';
    default:
      // Updating, Upgrading, Scaling, Starting, Stopping, Migrating, ... : busy, still there.
      return 'updating';
  }
}

/** The cloud's message for a resource in `failed` state: its provisioning error when it gives one. */
function failureOf(provisioningState: string | undefined, error: { code?: string; message?: string } | undefined): string | null {
  if (aksResourceState(provisioningState) !== 'failed') return null;
  if (error?.message) return error.code ? `${error.code}: ${error.message}` : error.message;
  return `provisioningState ${provisioningState ?? 'Failed'}`;
}

/** A failed resource's provisioning error, typed. */
function failureCodeOf(provisioningState: string | undefined, error: { code?: string; message?: string } | undefined): { failureCode?: CloudErrorCode } {
  return aksResourceState(provisioningState) === 'failed' ? { failureCode: cloudFailureCode(error?.code, error?.message) } : {};
}

export function observedAksCluster(cluster: ManagedCluster): ObservedCloudCluster {
  const fqdn = cluster.fqdn ?? cluster.privateFqdn;
  return {
    state: aksResourceState(cluster.provisioningState),
    version: cluster.currentKubernetesVersion ?? cluster.kubernetesVersion ?? '',
    endpoint: fqdn ? `https://${fqdn}:443` : null,
    owner: cluster.tags?.[OWNERSHIP_TAG] ?? null,
    failure: failureOf(cluster.provisioningState, cluster.status?.provisioningError),
    ...failureCodeOf(cluster.provisioningState, cluster.status?.provisioningError),
  };
}

/** An agent pool as its own API or its cluster's `agentPoolProfiles` gives it. */
export function observedAksNodeGroup(pool: AgentPool | ManagedClusterAgentPoolProfile): ObservedCloudNodeGroup {
  const count = pool.count ?? 0;
  return {
    name: pool.tags?.[AKS_NODE_GROUP_TAG] ?? pool.name ?? '',
    state: aksResourceState(pool.provisioningState),
    version: pool.currentOrchestratorVersion ?? pool.orchestratorVersion ?? null,
    instanceType: pool.vmSize ?? null,
    minSize: pool.enableAutoScaling ? (pool.minCount ?? count) : count,
    maxSize: pool.enableAutoScaling ? (pool.maxCount ?? count) : count,
    desiredSize: count,
    failure: failureOf(pool.provisioningState, pool.status?.provisioningError),
    ...failureCodeOf(pool.provisioningState, pool.status?.provisioningError),
  };
}

/** AKS taints are `key=value:Effect` strings. */
export function aksTaint(taint: CloudTaint): string {
  return `${taint.key}${taint.value === undefined ? '' : `=${taint.value}`}:${taint.effect}`;
}

/** Size of an agent pool: the autoscaler bounds it when min and max differ, otherwise it is fixed. */
export function aksPoolSize(size: { minSize: number; maxSize: number; desiredSize: number }): Pick<AgentPool, 'count' | 'enableAutoScaling' | 'minCount' | 'maxCount'> {
  return size.minSize === size.maxSize
    ? { count: size.desiredSize, enableAutoScaling: false, minCount: undefined, maxCount: undefined }
    : { count: size.desiredSize, enableAutoScaling: true, minCount: size.minSize, maxCount: size.maxSize };
}

/**
 * The one change of an agent pool a scale makes next, or null when the pool is at `size` already.
 * AKS takes no count for a pool its cluster autoscaler runs (nor a count with turning it on), so
 * a new count comes first, on its own with the autoscaler off; then, the count right, the
 * autoscaler is set as asked (on with its bounds when min < max, off for a fixed count). The
 * reconciler asks again until the pool matches. Only count and autoscaling change.
 */
export function aksScaleChange(pool: AgentPool, size: { minSize: number; maxSize: number; desiredSize: number }): Pick<AgentPool, 'count' | 'enableAutoScaling' | 'minCount' | 'maxCount'> | null {
  const failed = aksResourceState(pool.provisioningState) === 'failed';
  if ((pool.count ?? 0) !== size.desiredSize) return aksPoolSize({ minSize: size.desiredSize, maxSize: size.desiredSize, desiredSize: size.desiredSize });
  const wanted = aksPoolSize(size);
  const autoscaled = pool.enableAutoScaling === true;
  const asAsked = autoscaled === wanted.enableAutoScaling && (!autoscaled || (pool.minCount === wanted.minCount && pool.maxCount === wanted.maxCount));
  return asAsked && !failed ? null : wanted;
}

/** `major.minor` versions AKS offers for new clusters, oldest first; previews left out. */
export function offeredMinors(result: KubernetesVersionListResult): string[] {
  const minors = (result.values ?? []).filter((version) => version.isPreview !== true && version.version !== undefined).map((version) => minorOf(version.version ?? ''));
  return [...new Set(minors)].sort((a, b) => {
    const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
    const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
    return aMajor - bMajor || aMinor - bMinor;
  });
}

/** Retry-After in milliseconds: delta-seconds (fractions accepted) or an HTTP date. */
export function retryAfterMs(header: string | undefined | null, now = Date.now()): number | undefined {
  if (header === undefined || header === null || header.trim() === '') return undefined;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** ARM error codes of AKS's create, upgrade and scale calls that the generic reading does not know. */
export function aksLifecycleErrorCode(error: unknown): CloudErrorCode {
  const code = typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : '';
  if (/^(QuotaExceeded|InsufficientVCPUQuota|ErrCode_InsufficientVCPUQuota|PublicIPCountLimitReached)$/.test(code)) return 'cloud-quota-exceeded';
  if (/^(AgentPoolK8sVersionNotSupported|K8sVersionNotSupported|UpgradeNotAllowed|NodePoolMcVersionIncompatible)$/.test(code)) return 'cloud-version-not-offered';
  if (/^(LocationNotAvailableForResourceType|NoRegisteredProviderFound|InvalidLocation)$/.test(code)) return 'cloud-location-invalid';
  if (code === 'SubscriptionRequestsThrottled') return 'cloud-throttled';
  return aksErrorCode(error);
}

/**
 * A lifecycle call's failure: typed, with ARM's own message (it names the resource and the rule,
 * never a credential) and, when throttled, the wait ARM asked for.
 */
export function aksLifecycleError(error: unknown, what: string): CloudError {
  if (error instanceof CloudError) return error;
  const code = aksLifecycleErrorCode(error);
  const facts = typeof error === 'object' && error !== null ? (error as { name?: unknown; code?: unknown; message?: unknown; response?: { headers?: { get?: (name: string) => string | undefined } } }) : {};
  const armCode = typeof facts.code === 'string' ? facts.code : typeof facts.name === 'string' ? facts.name : 'Error';
  // Identity errors carry the authority's text, which may quote the request: only ARM's is kept.
  const message = facts.name === 'RestError' && typeof facts.message === 'string' && facts.message !== '' ? ` (${facts.message})` : '';
  const wait = code === 'cloud-throttled' ? retryAfterMs(facts.response?.headers?.get?.('retry-after')) : undefined;
  return new CloudError(code, `AKS ${what}: ${armCode}${message}`, undefined, wait);
}
