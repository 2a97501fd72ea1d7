import { z } from 'zod';
import { atMost } from './common.js';

/**
 * The `cloud` block of a public-cloud cluster request (model `public-cloud`): where the importer
 * creates the cluster at EKS, AKS or GKE, with which of its sealed cloud accounts. The account is
 * named, never carried: no secret crosses the bus.
 *
 * The fields each provider needs are optional in the JSON Schema (one block for the three clouds)
 * and checked by validation (`publicCloudProblems`), every problem at once, each at its field path.
 */
export const CLOUD_LIMITS = {
  /** Tags of a cluster: AWS allows 50 user tags per resource, the tightest of the three. */
  tags: 50,
  /** AWS tag keys: at most 128 characters. */
  tagKey: 128,
  /** AWS and Azure tag values: at most 256 characters. */
  tagValue: 256,
  /** GKE labels (what tags become there): keys and values at most 63 characters. */
  gkeLabel: 63,
  /** EKS needs subnets in two availability zones at least. */
  eksSubnets: 2,
} as const;

/** The tag every cloud resource Flotilla creates carries, with the cluster id as value. */
export const CLOUD_OWNERSHIP_TAG = 'flotilla-cluster-id';

export const PublicCloudProvider = z.enum(['eks', 'aks', 'gke']).describe('The public cloud: eks (Amazon EKS), aks (Azure AKS), gke (Google GKE)');
export type PublicCloudProvider = z.infer<typeof PublicCloudProvider>;

const Id = z.string().min(1).max(1024);

export const PublicCloudNetworking = z.object({
  subnetIds: z.array(Id).optional().describe(`eks, required: subnet ids of the control plane and node groups, at least ${CLOUD_LIMITS.eksSubnets} (two availability zones)`),
  securityGroupIds: z.array(Id).optional().describe('eks: extra security groups of the control plane'),
  clusterRoleArn: Id.optional().describe('eks, required: ARN of the IAM role EKS assumes for the control plane'),
  nodeRoleArn: Id.optional().describe("eks, required: ARN of the IAM role of the node groups' instances"),
  vnetSubnetId: Id.optional().describe('aks: resource id of the subnet the nodes join (Azure CNI); without it AKS makes its own network'),
  network: Id.optional().describe('gke, required: the VPC network'),
  subnetwork: Id.optional().describe('gke, required: the subnetwork of the nodes'),
});
export type PublicCloudNetworking = z.infer<typeof PublicCloudNetworking>;

export const PublicCloudSpec = z
  .object({
    provider: PublicCloudProvider,
    credentialRef: z.string().min(1).max(253).describe('A cloud-account credential held by the importer (its name, never the secret)'),
    region: z.string().min(1).max(64).describe('AWS region, Azure location, or GCP region or zone, e.g. eu-west-1, westeurope, europe-west1-b'),
    subscriptionId: Id.optional().describe('aks, required: the Azure subscription'),
    resourceGroup: Id.optional().describe('aks, required: the resource group the cluster is created in'),
    projectId: Id.optional().describe('gke, required: the GCP project'),
    networking: PublicCloudNetworking.default({}),
    endpointAccess: z.enum(['public', 'private']).default('public').describe("The API server's endpoint: reachable from the internet (public) or from the cluster's network only (private)"),
    tags: z
      .record(z.string(), z.string())
      .default({})
      .describe(
        `Tags of every cloud resource created (labels on GKE), at most ${CLOUD_LIMITS.tags}: keys 1 to ${CLOUD_LIMITS.tagKey} characters, values at most ${CLOUD_LIMITS.tagValue}; on GKE both lower-case letters, digits, "-" and "_", at most ${CLOUD_LIMITS.gkeLabel}, keys starting with a letter. ${CLOUD_OWNERSHIP_TAG} is Flotilla's own`,
      ),
  })
  .describe('Public cloud (model public-cloud, required there and refused for the other models): where and with which cloud account the importer creates the cluster');
export type PublicCloudSpec = z.infer<typeof PublicCloudSpec>;

/** Fields of the block (and of its networking) each provider takes; the rest belong to another cloud. */
const PROVIDER_FIELDS: Record<PublicCloudProvider, { required: readonly string[]; networking: readonly string[]; requiredNetworking: readonly string[]; own: readonly string[] }> = {
  eks: { own: [], required: [], networking: ['subnetIds', 'securityGroupIds', 'clusterRoleArn', 'nodeRoleArn'], requiredNetworking: ['subnetIds', 'clusterRoleArn', 'nodeRoleArn'] },
  aks: { own: ['subscriptionId', 'resourceGroup'], required: ['subscriptionId', 'resourceGroup'], networking: ['vnetSubnetId'], requiredNetworking: [] },
  gke: { own: ['projectId'], required: ['projectId'], networking: ['network', 'subnetwork'], requiredNetworking: ['network', 'subnetwork'] },
};
const PROVIDER_SPECIFIC = ['subscriptionId', 'resourceGroup', 'projectId'] as const;
const NETWORKING_FIELDS = Object.keys(PublicCloudNetworking.shape);

/** Request fields that describe machines Flotilla runs itself: none of them means anything at a public cloud. */
const NOT_FOR_PUBLIC_CLOUD = ['controlPlane', 'hosts', 'spareHosts', 'hostRemediation', 'hosted', 'nodeOs', 'infrastructure'] as const;

/** The models whose control plane Flotilla runs: they need `controlPlane`. */
const CONTROL_PLANE_MODELS = new Set(['platform-provisioned', 'user-provisioned', 'hosted-control-plane']);

export interface SpecProblem {
  path: (string | number)[];
  message: string;
}

type Loose = Record<string, unknown>;
const isRecord = (value: unknown): value is Loose => typeof value === 'object' && value !== null && !Array.isArray(value);
const present = (record: Loose, key: string) => record[key] !== undefined;

/**
 * What is wrong with a cluster request across its fields, by model: `cloud` required for
 * public-cloud and refused for the others, each provider's required fields, node pools'
 * autoscaling bounds, tags. Runs on input that may be invalid elsewhere (so that every problem is
 * listed at once), hence the loose reading.
 */
export function modelProblems(spec: unknown): SpecProblem[] {
  if (!isRecord(spec) || typeof spec['model'] !== 'string') return [];
  const problems: SpecProblem[] = [];
  const model = spec['model'];
  const publicCloud = model === 'public-cloud';
  if (publicCloud) {
    if (!present(spec, 'cloud')) problems.push({ path: ['cloud'], message: 'required for model public-cloud' });
    for (const field of NOT_FOR_PUBLIC_CLOUD) {
      if (present(spec, field)) problems.push({ path: [field], message: 'must be absent for model public-cloud (the cloud runs the control plane and the machines)' });
    }
  } else {
    if (present(spec, 'cloud')) problems.push({ path: ['cloud'], message: `only for model public-cloud, not ${model}` });
    if (CONTROL_PLANE_MODELS.has(model) && !present(spec, 'controlPlane')) problems.push({ path: ['controlPlane'], message: `required for model ${model}` });
  }
  const pools = Array.isArray(spec['nodePools']) ? (spec['nodePools'] as unknown[]) : [];
  pools.forEach((pool, index) => problems.push(...poolBoundsProblems(pool, publicCloud).map((p) => ({ ...p, path: ['nodePools', index, ...p.path] }))));
  if (publicCloud && isRecord(spec['cloud'])) problems.push(...cloudProblems(spec['cloud']).map((p) => ({ ...p, path: ['cloud', ...p.path] })));
  return problems;
}

/** minCount <= count <= maxCount, public-cloud pools only (elsewhere nothing autoscales). */
function poolBoundsProblems(pool: unknown, publicCloud: boolean): SpecProblem[] {
  if (!isRecord(pool)) return [];
  const problems: SpecProblem[] = [];
  if (!publicCloud) {
    for (const field of ['minCount', 'maxCount']) {
      if (present(pool, field)) problems.push({ path: [field], message: 'only node pools of model public-cloud autoscale' });
    }
    return problems;
  }
  // Absent bounds are count itself, so only a bound given can be out of order.
  const count = integer(pool['count']);
  const min = integer(pool['minCount']);
  const max = integer(pool['maxCount']);
  if (count !== undefined) {
    if (min !== undefined && min > count) problems.push({ path: ['minCount'], message: `must be at most count (${count}), is ${min}` });
    if (max !== undefined && max < count) problems.push({ path: ['maxCount'], message: `must be at least count (${count}), is ${max}` });
  } else if (min !== undefined && max !== undefined && max < min) {
    problems.push({ path: ['maxCount'], message: `must be at least minCount (${min}), is ${max}` });
  }
  return problems;
}

function integer(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function cloudProblems(cloud: Loose): SpecProblem[] {
  const provider = PublicCloudProvider.safeParse(cloud['provider']);
  if (!provider.success) return [];
  const fields = PROVIDER_FIELDS[provider.data];
  const problems: SpecProblem[] = [];
  for (const field of fields.required) {
    if (!present(cloud, field)) problems.push({ path: [field], message: `required for provider ${provider.data}` });
  }
  for (const field of PROVIDER_SPECIFIC) {
    if (present(cloud, field) && !fields.own.includes(field)) problems.push({ path: [field], message: `not for provider ${provider.data}` });
  }
  const networking = isRecord(cloud['networking']) ? cloud['networking'] : {};
  for (const field of fields.requiredNetworking) {
    if (!present(networking, field)) problems.push({ path: ['networking', field], message: `required for provider ${provider.data}` });
  }
  for (const field of NETWORKING_FIELDS) {
    if (present(networking, field) && !fields.networking.includes(field)) problems.push({ path: ['networking', field], message: `not for provider ${provider.data}` });
  }
  const subnets = networking['subnetIds'];
  if (provider.data === 'eks' && Array.isArray(subnets) && subnets.length < CLOUD_LIMITS.eksSubnets) {
    problems.push({ path: ['networking', 'subnetIds'], message: `must list at least ${CLOUD_LIMITS.eksSubnets} subnets (two availability zones), has ${subnets.length}` });
  }
  if (isRecord(cloud['tags'])) problems.push(...tagProblems(cloud['tags'], provider.data).map((p) => ({ ...p, path: ['tags', ...p.path] })));
  return problems;
}

const GKE_LABEL_KEY = /^[a-z][a-z0-9_-]*$/;
const GKE_LABEL_VALUE = /^[a-z0-9_-]*$/;

function tagProblems(tags: Loose, provider: PublicCloudProvider): SpecProblem[] {
  const entries = Object.entries(tags);
  const problems: SpecProblem[] = [];
  if (entries.length > CLOUD_LIMITS.tags) problems.push({ path: [], message: atMost(CLOUD_LIMITS.tags, 'tags', entries.length) });
  for (const [key, value] of entries) {
    // A key too long to be a tag is not echoed back as a field path.
    const at = key.length > CLOUD_LIMITS.tagKey ? [] : [key];
    if (key === CLOUD_OWNERSHIP_TAG) problems.push({ path: at, message: `${CLOUD_OWNERSHIP_TAG} is set by Flotilla (the cluster id) and cannot be given` });
    else if (key.length === 0 || key.length > CLOUD_LIMITS.tagKey) problems.push({ path: at, message: `a key must be 1 to ${CLOUD_LIMITS.tagKey} characters, is ${key.length}` });
    else if (provider === 'gke' && (key.length > CLOUD_LIMITS.gkeLabel || !GKE_LABEL_KEY.test(key))) {
      problems.push({ path: at, message: `key: a GKE label key is a lower-case letter then lower-case letters, digits, "-" or "_", at most ${CLOUD_LIMITS.gkeLabel} characters` });
    }
    if (typeof value !== 'string') continue;
    if (value.length > CLOUD_LIMITS.tagValue) problems.push({ path: at, message: `value: must be at most ${CLOUD_LIMITS.tagValue} characters, is ${value.length}` });
    else if (provider === 'gke' && (value.length > CLOUD_LIMITS.gkeLabel || !GKE_LABEL_VALUE.test(value))) {
      problems.push({ path: at, message: `value: a GKE label value is lower-case letters, digits, "-" or "_", at most ${CLOUD_LIMITS.gkeLabel} characters` });
    }
  }
  return problems;
}
