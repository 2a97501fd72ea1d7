import type { CloudLocation } from '../connectivity/cluster-probe.js';
import type { ConnectedCluster } from '../domain/connected-cluster.js';
import type { ManagedCluster } from './managed-cluster.js';

/** Where the import code finds the cluster at its cloud: the `cloud` of a connected cluster. */
export function cloudLocationOf(cluster: Pick<ManagedCluster, 'place' | 'cloudName'>): CloudLocation {
  const place = cluster.place;
  switch (place.provider) {
    case 'eks':
      return { clusterName: cluster.cloudName, region: place.region };
    case 'aks':
      return { clusterName: cluster.cloudName, subscriptionId: place.subscriptionId, resourceGroup: place.resourceGroup };
    case 'gke':
      return { clusterName: cluster.cloudName, projectId: place.projectId, location: place.location };
  }
}

/**
 * A cluster the importer created, kept from ClusterReady on as a connected cluster with the same
 * cloud account: the sync worker re-checks it like any import, and kubeconfigs and the proxy
 * serve it.
 */
export function connectedRecordOf(cluster: ManagedCluster, ready: { version: string; nodeCount: number }, now: Date): ConnectedCluster {
  const at = now.toISOString();
  return {
    id: cluster.id,
    name: cluster.name,
    provider: cluster.provider,
    apiServer: null,
    cloud: cloudLocationOf(cluster),
    credentialRef: cluster.credentialRef,
    state: 'Imported',
    attempt: 1,
    requestEventId: cluster.requestEventId,
    kubernetesVersion: ready.version,
    distribution: cluster.provider,
    nodeCount: ready.nodeCount,
    reasons: [],
    warnings: [],
    policyRevision: cluster.policyRevision,
    requestedAt: cluster.createdAt,
    checkStartedAt: null,
    importedAt: at,
    deletedAt: null,
    lastEventTime: at,
  };
}
