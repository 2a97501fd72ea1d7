import type { ClusterView } from '../domain/cluster-view.js';

export type KubeconfigRedirect = { ok: true; location: string } | { ok: false; code: 'cluster-deleted' | 'model-unknown'; message: string };

/**
 * Where a cluster's kubeconfig is answered: by the service that holds what it is made of (the
 * provisioner keeps the CAs of the clusters it built, the importer the credentials of connected
 * ones, the cloud accounts of public-cloud ones and the way through the tunnel broker). The inventory holds no credential; it sends the
 * caller there, on the same origin, with the query (`ttl`) as asked.
 */
export function kubeconfigRedirect(cluster: Pick<ClusterView, 'id' | 'model' | 'status'>, query: string): KubeconfigRedirect {
  if (cluster.status === 'Deleted') return { ok: false, code: 'cluster-deleted', message: `cluster "${cluster.id}" is deleted` };
  if (cluster.model === null) return { ok: false, code: 'model-unknown', message: `cluster "${cluster.id}" is not known well enough yet to say who gives its kubeconfig: ask again once its owner has answered` };
  const id = encodeURIComponent(cluster.id);
  // The importer holds the credentials of connected clusters and the cloud accounts of public-cloud ones.
  const importer = cluster.model === 'connected' || cluster.model === 'public-cloud';
  const path = importer ? `/api/v1/connected-clusters/${id}/kubeconfig` : `/api/v1/provisioner/clusters/${id}/kubeconfig`;
  return { ok: true, location: `${path}${query}` };
}
