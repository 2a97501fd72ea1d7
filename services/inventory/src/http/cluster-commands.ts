import type { ClusterStatus, ClusterView } from '../domain/cluster-view.js';

/** Why the inventory refuses an operator's command about a cluster it knows. */
export type CommandRefusal = 'cluster-deleted' | 'deletion-requested';

/**
 * The only checks the read model can make: a cluster that is gone, or on its way out, takes no
 * further commands. Everything else (a pool that does not exist, a busy cluster, the version
 * policy) is for the provisioner to decide; it answers on the bus.
 */
export function refuseCommand(status: ClusterStatus, deletionRequested: boolean): CommandRefusal | undefined {
  if (status === 'Deleted') return 'cluster-deleted';
  if (deletionRequested) return 'deletion-requested';
  return undefined;
}

export function refusalMessage(clusterId: string, refusal: CommandRefusal): string {
  switch (refusal) {
    case 'cluster-deleted':
      return `cluster "${clusterId}" is deleted`;
    case 'deletion-requested':
      return `cluster "${clusterId}" is being deleted`;
  }
}

/** The 409 of POST /api/v1/clusters for an id that is taken: why, and what to do instead. */
export interface IdTaken {
  statusCode: 409;
  error: 'Conflict';
  code: 'cluster-exists' | 'cluster-id-deleted';
  clusterId: string;
  status: ClusterStatus | null;
  message: string;
}

/**
 * Ids are never reused for a new platform-managed cluster, not even a deleted cluster's: the
 * provisioner keeps the deleted cluster's record (and its machines') under the id and refuses a
 * request that differs from it, and the history here stays the deleted cluster's. There is no
 * purge: the id stays taken, the new cluster takes another. A deleted connected cluster is
 * different: the importer forgets it, and importing it again under the same id is how it comes
 * back (its history kept).
 */
export function idTaken(clusterId: string, existing: Pick<ClusterView, 'status' | 'model' | 'factTimes'> | undefined): IdTaken {
  const base = { statusCode: 409 as const, error: 'Conflict' as const, clusterId, status: existing?.status ?? null };
  if (existing?.status !== 'Deleted') return { ...base, code: 'cluster-exists', message: `cluster "${clusterId}" already exists${existing ? ` (${existing.status})` : ''}: request the new cluster under another id` };
  const when = existing.factTimes.status ? ` at ${existing.factTimes.status}` : '';
  const connected = existing.model === 'connected';
  return {
    ...base,
    code: 'cluster-id-deleted',
    message: connected
      ? `cluster "${clusterId}" was a connected cluster, deleted${when}: its id is kept for it. To bring it back, import it again under this id (POST /api/v1/imports on the importer, with "id": "${clusterId}"); a new platform-managed cluster takes another id`
      : `cluster "${clusterId}" was deleted${when} and ids are never reused: the provisioner keeps the deleted cluster's record under it, and its history stays here. There is nothing to purge: request the new cluster under another id`,
  };
}
