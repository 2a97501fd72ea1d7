import type { Registration } from '../registration/registration.js';
import type { ConnectedCluster } from './connected-cluster.js';
import { TUNNEL_CREDENTIAL_REF } from './tunnel-cluster.js';

/**
 * What a deletion request (ClusterDeletionRequested) does here. Every request about a connected
 * cluster is answered, so none waits forever in the inventory: the cluster is removed (one
 * ClusterDeleted), or the request is moot, or it is refused with a reason the inventory shows.
 */
export type RemovalDecision =
  /** A cluster the importer holds (imported, importing, rejected): tombstoned, ClusterDeleted. */
  | { kind: 'remove'; cluster: ConnectedCluster }
  /**
   * A cluster registered for the tunnel whose agent never enrolled (no import yet): its open
   * registrations are revoked (the broker refuses their tokens) and ClusterDeleted removes it.
   */
  | { kind: 'withdraw-registrations'; name: string; revoke: Registration[] }
  /** Removed already, and the request was made before that: the ClusterDeleted emitted then answers it. */
  | { kind: 'answered' }
  /** Dead-lettered with an EventRejected naming the request: the inventory shows the refusal. */
  | { kind: 'refused'; code: 'cluster-deleted' | 'cluster-not-held'; message: string };

export function decideRemoval(
  clusterId: string,
  current: ConnectedCluster | undefined,
  registrations: readonly Registration[],
  request: { time: string },
): RemovalDecision {
  if (current && current.deletedAt === null) return { kind: 'remove', cluster: current };
  if (current && current.deletedAt !== null) {
    // A second request sent before the removal is answered by its ClusterDeleted (exactly one);
    // one made after it asks about a cluster that is gone, and says so.
    if (Date.parse(request.time) <= Date.parse(current.deletedAt)) return { kind: 'answered' };
    return {
      kind: 'refused',
      code: 'cluster-deleted',
      message: `connected cluster "${clusterId}" was removed at ${current.deletedAt}; import it (or register it) again to manage it`,
    };
  }
  const latest = registrations.at(-1);
  if (latest) {
    return { kind: 'withdraw-registrations', name: latest.clusterName, revoke: registrations.filter((registration) => registration.revokedAt === null && registration.usedAt === null) };
  }
  return {
    kind: 'refused',
    code: 'cluster-not-held',
    message: `the importer holds no connected cluster "${clusterId}" (never imported or registered here, or its record is lost): nothing to remove; a platform-managed cluster is the provisioner's to delete`,
  };
}

/**
 * The tombstone of a cluster removed while it only waited for its agent: a deletion request made
 * before it is answered, and an import through the tunnel counts only registrations redeemed after it.
 */
export function removedRegistration(clusterId: string, name: string, requestEventId: string, requestedAt: string, deletedAt: string): ConnectedCluster {
  return {
    id: clusterId,
    name,
    provider: 'cncf',
    apiServer: null,
    cloud: null,
    credentialRef: TUNNEL_CREDENTIAL_REF,
    state: 'Rejected',
    attempt: 0,
    requestEventId,
    kubernetesVersion: null,
    distribution: null,
    nodeCount: null,
    reasons: [],
    warnings: [],
    policyRevision: null,
    requestedAt,
    checkStartedAt: null,
    importedAt: null,
    deletedAt,
    lastEventTime: deletedAt,
  };
}
