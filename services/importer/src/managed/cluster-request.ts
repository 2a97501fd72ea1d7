import { canOnboard, parseKubernetesVersion, type Reason, type SupportMatrix } from '@flotilla/contracts';
import type { CloudProviderName } from '../clouds/cloud-provider.js';
import { OWNERSHIP_TAG, type CloudClusterSpec, type CloudNetworking, type CloudNodeGroupSpec, type CloudPlace } from '../clouds/lifecycle.js';
import type { CredentialMetadata, StoredCredential } from '../credentials/credential-store.js';

/** At most this many tags of the request's own (the clouds allow 50 and we add the ownership tag). */
export const MAX_CLOUD_TAGS = 50;

/** The `cloud` block of a ClusterRequested of model `public-cloud`, as far as the importer reads it. */
export interface PublicCloudBlock {
  provider: CloudProviderName;
  credentialRef: string;
  region: string;
  subscriptionId?: string | undefined;
  resourceGroup?: string | undefined;
  projectId?: string | undefined;
  networking?:
    | {
        subnetIds?: string[] | undefined;
        securityGroupIds?: string[] | undefined;
        clusterRoleArn?: string | undefined;
        nodeRoleArn?: string | undefined;
        vnetSubnetId?: string | undefined;
        network?: string | undefined;
        subnetwork?: string | undefined;
      }
    | undefined;
  endpointAccess?: 'public' | 'private' | undefined;
  tags?: Record<string, string> | undefined;
}

export interface PublicCloudPool {
  name: string;
  count: number;
  machineSize: string;
  minCount?: number | undefined;
  maxCount?: number | undefined;
  labels?: Record<string, string> | undefined;
  taints?: { key: string; value?: string | undefined; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }[] | undefined;
}

/** What of a ClusterRequested the importer needs: the contract's ClusterSpec with `cloud` is one. */
export interface PublicCloudRequest {
  name: string;
  kubernetesVersion: string;
  nodePools: PublicCloudPool[];
  cloud?: PublicCloudBlock | undefined;
}

/** The credential named by `cloud.credentialRef`, as the importer knows it without opening it. */
export type RequestCredential = (StoredCredential & { metadata: Pick<CredentialMetadata, 'provider'> }) | undefined;

export interface VersionPolicy {
  release: string;
  matrix: SupportMatrix;
}

/** A request's desired state, ready to record. */
export interface DesiredCluster {
  provider: CloudProviderName;
  credentialRef: string;
  place: CloudPlace;
  spec: CloudClusterSpec;
  nodeGroups: CloudNodeGroupSpec[];
}

export type RequestDecision = { kind: 'accepted'; desired: DesiredCluster; policyRevision: string } | { kind: 'refused'; reasons: Reason[]; policyRevision: string };

const reason = (code: string, message: string, field: string): Reason => ({ code, message, field });
const blank = (value: string | undefined) => value === undefined || value.trim() === '';

/**
 * Judges a request for a public cloud cluster, every problem at once, each naming its field:
 * the cloud account (it exists, is a cloud account, of that provider), what each cloud needs to
 * place the cluster, the pools' bounds, the tags, and the version against the policy in force
 * (a cloud's managed Kubernetes is third-party: the release's third-party range applies, as for
 * an import). Whether the cloud offers the version there is asked once the reconciler runs.
 */
export function decideClusterRequest(clusterId: string, request: PublicCloudRequest, credential: RequestCredential, policy: VersionPolicy): RequestDecision {
  const reasons: Reason[] = [];
  const cloud = request.cloud;
  const version = versionReasons(request.kubernetesVersion, policy);
  reasons.push(...version.reasons);
  if (cloud === undefined) {
    reasons.push(reason('cloud-required', 'a public-cloud cluster needs its cloud block: provider, credentialRef, region', 'cloud'));
    reasons.push(...poolReasons(request.nodePools));
    return { kind: 'refused', reasons, policyRevision: policy.matrix.revision };
  }
  reasons.push(...credentialReasons(cloud, credential));
  const place = placeOf(cloud, reasons);
  const networking = networkingOf(cloud, reasons);
  reasons.push(...poolReasons(request.nodePools));
  const tags = cloud.tags ?? {};
  if (Object.keys(tags).length > MAX_CLOUD_TAGS) reasons.push(reason('cloud-tags-too-many', `must have at most ${MAX_CLOUD_TAGS} tags, has ${Object.keys(tags).length}`, 'cloud.tags'));
  if (OWNERSHIP_TAG in tags) reasons.push(reason('cloud-tag-reserved', `${OWNERSHIP_TAG} is set by Flotilla to the cluster id`, `cloud.tags.${OWNERSHIP_TAG}`));
  if (reasons.length > 0 || place === undefined || networking === undefined || version.minor === undefined) {
    return { kind: 'refused', reasons, policyRevision: policy.matrix.revision };
  }
  return {
    kind: 'accepted',
    policyRevision: policy.matrix.revision,
    desired: {
      provider: cloud.provider,
      credentialRef: cloud.credentialRef,
      place,
      spec: { kubernetesVersion: version.minor, endpointAccess: cloud.endpointAccess ?? 'public', networking, tags: { ...tags, [OWNERSHIP_TAG]: clusterId } },
      nodeGroups: request.nodePools.map(nodeGroupOf).sort((a, b) => a.name.localeCompare(b.name)),
    },
  };
}

export function nodeGroupOf(pool: PublicCloudPool): CloudNodeGroupSpec {
  return {
    name: pool.name,
    instanceType: pool.machineSize,
    minSize: pool.minCount ?? pool.count,
    maxSize: pool.maxCount ?? pool.count,
    desiredSize: pool.count,
    labels: pool.labels ?? {},
    taints: (pool.taints ?? []).map((taint) => (taint.value === undefined ? { key: taint.key, effect: taint.effect } : { key: taint.key, value: taint.value, effect: taint.effect })),
  };
}

function versionReasons(version: string, policy: VersionPolicy): { reasons: Reason[]; minor?: string } {
  const parsed = parseKubernetesVersion(version);
  if (!parsed.ok) return { reasons: [reason('version-invalid', parsed.reason, 'kubernetesVersion')] };
  const minor = `${parsed.version.major}.${parsed.version.minor}`;
  // The cloud picks the patch: the policy is asked about the whole minor.
  const decision = canOnboard(minor, policy.release, policy.matrix);
  if (!decision.allowed) return { reasons: [reason(decision.code, decision.reason, 'kubernetesVersion')] };
  return { reasons: [], minor };
}

function credentialReasons(cloud: PublicCloudBlock, credential: RequestCredential): Reason[] {
  if (credential === undefined) return [reason('credential-not-found', `credentialRef "${cloud.credentialRef}" names no credential held by the importer`, 'cloud.credentialRef')];
  if (credential.kind !== 'cloud-account') {
    return [reason('credential-kind-mismatch', `credential "${cloud.credentialRef}" is a ${credential.kind}, not a cloud account`, 'cloud.credentialRef')];
  }
  if (credential.metadata.provider !== cloud.provider) {
    return [reason('credential-kind-mismatch', `credential "${cloud.credentialRef}" is a ${credential.metadata.provider ?? 'unknown'} account, not ${cloud.provider}`, 'cloud.credentialRef')];
  }
  return [];
}

function placeOf(cloud: PublicCloudBlock, reasons: Reason[]): CloudPlace | undefined {
  const before = reasons.length;
  const need = (value: string | undefined, field: string): string => {
    if (blank(value)) reasons.push(reason('cloud-location-required', `${field} is required for ${cloud.provider}`, `cloud.${field}`));
    return value ?? '';
  };
  const region = need(cloud.region, 'region');
  switch (cloud.provider) {
    case 'eks':
      return reasons.length === before ? { provider: 'eks', region } : undefined;
    case 'aks': {
      const subscriptionId = need(cloud.subscriptionId, 'subscriptionId');
      const resourceGroup = need(cloud.resourceGroup, 'resourceGroup');
      return reasons.length === before ? { provider: 'aks', subscriptionId, resourceGroup, location: region } : undefined;
    }
    case 'gke': {
      const projectId = need(cloud.projectId, 'projectId');
      return reasons.length === before ? { provider: 'gke', projectId, location: region } : undefined;
    }
  }
}

function networkingOf(cloud: PublicCloudBlock, reasons: Reason[]): CloudNetworking | undefined {
  const before = reasons.length;
  const networking = cloud.networking ?? {};
  const need = (value: string | undefined, field: string, why: string): string => {
    if (blank(value)) reasons.push(reason('cloud-networking-required', `${field} is required for ${cloud.provider}: ${why}`, `cloud.networking.${field}`));
    return value ?? '';
  };
  switch (cloud.provider) {
    case 'eks': {
      const subnetIds = networking.subnetIds ?? [];
      if (subnetIds.length < 2) {
        reasons.push(reason('cloud-networking-required', `subnetIds must name at least 2 subnets (two availability zones) for eks, has ${subnetIds.length}`, 'cloud.networking.subnetIds'));
      }
      const clusterRoleArn = need(networking.clusterRoleArn, 'clusterRoleArn', 'the IAM role EKS assumes for the control plane');
      const nodeRoleArn = need(networking.nodeRoleArn, 'nodeRoleArn', 'the IAM role of the nodes');
      return reasons.length === before ? { provider: 'eks', subnetIds, securityGroupIds: networking.securityGroupIds ?? [], clusterRoleArn, nodeRoleArn } : undefined;
    }
    case 'aks':
      return networking.vnetSubnetId === undefined ? { provider: 'aks' } : { provider: 'aks', vnetSubnetId: networking.vnetSubnetId };
    case 'gke': {
      const network = need(networking.network, 'network', 'the VPC network of the nodes');
      const subnetwork = need(networking.subnetwork, 'subnetwork', 'the subnetwork of the nodes');
      return reasons.length === before ? { provider: 'gke', network, subnetwork } : undefined;
    }
  }
}

function poolReasons(pools: PublicCloudPool[]): Reason[] {
  const reasons: Reason[] = [];
  const seen = new Set<string>();
  pools.forEach((pool, index) => {
    const field = `nodePools[${index}]`;
    if (seen.has(pool.name)) reasons.push(reason('node-pool-duplicate', `node pool ${pool.name} is named twice`, `${field}.name`));
    seen.add(pool.name);
    const min = pool.minCount ?? pool.count;
    const max = pool.maxCount ?? pool.count;
    if (min > pool.count) reasons.push(reason('node-pool-bounds', `minCount ${min} is above count ${pool.count}`, `${field}.minCount`));
    if (max < pool.count) reasons.push(reason('node-pool-bounds', `maxCount ${max} is below count ${pool.count}`, `${field}.maxCount`));
    if (max < 1) reasons.push(reason('node-pool-bounds', 'maxCount must be at least 1: the clouds need room for one node', `${field}.maxCount`));
  });
  return reasons;
}
