import type { ClusterStatus } from '../domain/cluster-view.js';

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
