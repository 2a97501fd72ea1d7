import type { ClusterAdopted, EventData } from '@flotilla/contracts';
import type { CloudCluster, CloudProviderName } from '../clouds/cloud-provider.js';
import type { CloudNetworking, CloudPlace, ObservedCloudNodeGroup } from '../clouds/lifecycle.js';
import type { ConnectedCluster } from '../domain/connected-cluster.js';
import { minorOf, type ManagedCluster } from './managed-cluster.js';
import { newManagedCluster } from './requests.js';

/** Why a connected cluster cannot be adopted, each with the HTTP status it answers. */
export type AdoptionRefusal = { status: 404 | 409 | 422; code: string; message: string };

/** May this connected cluster be adopted? A cloud cluster, imported, not managed already. */
export function adoptionRefusal(cluster: ConnectedCluster | undefined, id: string, managed: ManagedCluster | undefined): AdoptionRefusal | undefined {
  if (cluster === undefined || cluster.deletedAt !== null) return { status: 404, code: 'cluster-not-found', message: `connected cluster "${id}" not found` };
  if (managed !== undefined && managed.phase !== 'Deleted') return { status: 409, code: 'cluster-managed', message: `cluster "${id}" is managed already (${managed.adopted ? 'adopted' : 'created by Flotilla'})` };
  if (cluster.provider === 'cncf' || cluster.cloud === null) {
    return { status: 422, code: 'cluster-not-cloud', message: `cluster "${id}" was not imported through a cloud account (provider ${cluster.provider}): only EKS, AKS and GKE clusters can be adopted` };
  }
  if (cluster.state !== 'Imported' && cluster.state !== 'Unreachable') return { status: 409, code: 'cluster-not-imported', message: `cluster "${id}" is ${cluster.state}: only an imported cluster can be adopted` };
  return undefined;
}

/** Where the adopted cluster lives, from its import's `cloud` and what the cloud says of it. */
export function placeOfImport(provider: CloudProviderName, cloud: NonNullable<ConnectedCluster['cloud']>, described: CloudCluster): CloudPlace {
  switch (provider) {
    case 'eks':
      return { provider, region: cloud.region ?? described.location };
    case 'aks':
      return { provider, subscriptionId: cloud.subscriptionId ?? '', resourceGroup: cloud.resourceGroup ?? described.resourceGroup ?? '', location: described.location };
    case 'gke':
      return { provider, projectId: cloud.projectId ?? '', location: cloud.location ?? described.location };
  }
}

/**
 * The networking of a cluster Flotilla did not create is not known to it. Adopted clusters are
 * scaled, upgraded and deleted, never created again nor given new node groups, and those calls
 * do not read it.
 */
function unknownNetworking(provider: CloudProviderName): CloudNetworking {
  switch (provider) {
    case 'eks':
      return { provider, subnetIds: [], securityGroupIds: [], clusterRoleArn: '', nodeRoleArn: '' };
    case 'aks':
      return { provider };
    case 'gke':
      return { provider, network: '', subnetwork: '' };
  }
}

/** The managed cluster an adoption makes: Running, no work, its node groups as the cloud has them now. */
export function adoptedCluster(cluster: ConnectedCluster, place: CloudPlace, described: CloudCluster, groups: ObservedCloudNodeGroup[], now: Date): ManagedCluster {
  const nodeGroups = groups
    .map((group) => ({ name: group.name, instanceType: group.instanceType ?? 'unknown', minSize: group.minSize, maxSize: group.maxSize, desiredSize: group.desiredSize, labels: {}, taints: [] }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const spec = { kubernetesVersion: minorOf(described.version) ?? described.version, endpointAccess: 'public' as const, networking: unknownNetworking(place.provider), tags: {} };
  const desired = { provider: place.provider, credentialRef: cluster.credentialRef, place, spec, nodeGroups };
  const base = newManagedCluster(cluster.id, cluster.name, desired, `adoption/${cluster.id}/${now.toISOString()}`, { release: null, policyRevision: cluster.policyRevision }, now);
  return {
    ...base,
    cloudName: cluster.cloud?.clusterName ?? described.name,
    phase: 'Running',
    work: null,
    versionOffered: true,
    observedVersion: described.version,
    endpoint: described.endpoint,
    adopted: true,
  };
}

export function adoptedEvent(cluster: ManagedCluster, described: CloudCluster): EventData<typeof ClusterAdopted> {
  return {
    model: 'public-cloud',
    provider: cluster.provider,
    region: 'region' in cluster.place ? cluster.place.region : cluster.place.location,
    kubernetesVersion: described.version,
    nodePools: cluster.nodeGroups.map((group) => ({ name: group.name, count: group.desiredSize, machineSize: group.instanceType, minCount: group.minSize, maxCount: group.maxSize })),
  };
}
