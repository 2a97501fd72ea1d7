import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { ClusterEvent, ClusterState } from '../domain/cluster/index.js';
import { hostKey } from '../domain/cluster/machines.js';

/** A host a request names, and the request field that names it. */
export interface HostClaim {
  address: string;
  port: number;
  field: string;
}

/** A host of the request that another cluster holds. */
export interface TakenHost extends HostClaim {
  clusterId: string;
}

/**
 * Which cluster each user's host (address and SSH port) belongs to: at most one in the fleet.
 * Claims are made in the transaction that accepts a cluster or a scale-up, and the table's
 * primary key decides between two replicas taking one host at once: the second waits for the
 * first to commit and then sees the host taken. A host is freed when its machine is released
 * (scale-down, a replaced host) and every host of a cluster (its spares too) when it is deleted.
 */
@Injectable()
export class HostOwnership {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  /** Takes the hosts for the cluster; answers the ones another cluster holds (then none is taken). */
  async claim(clusterId: string, hosts: readonly HostClaim[]): Promise<TakenHost[]> {
    if (hosts.length === 0) return [];
    const manager = this.unitOfWork.manager;
    const rows = JSON.stringify(hosts.map((host) => ({ address: normalised(host.address), port: host.port })));
    await manager.query(
      `INSERT INTO host_owners (address, port, cluster_id)
       SELECT r.address, r.port, $1 FROM jsonb_to_recordset($2::jsonb) AS r(address text, port int)
       ON CONFLICT (address, port) DO NOTHING`,
      [clusterId, rows],
    );
    const owners = await manager.query<{ address: string; port: number; cluster_id: string }[]>(
      `SELECT o.address, o.port, o.cluster_id FROM host_owners o JOIN jsonb_to_recordset($1::jsonb) AS r(address text, port int) ON o.address = r.address AND o.port = r.port
        WHERE o.cluster_id <> $2`,
      [rows, clusterId],
    );
    const ownerOf = new Map(owners.map((row) => [hostKey(row), row.cluster_id]));
    const taken = hosts.flatMap((host) => {
      const owner = ownerOf.get(hostKey({ address: normalised(host.address), port: host.port }));
      return owner === undefined ? [] : [{ ...host, clusterId: owner }];
    });
    if (taken.length > 0) await this.free(clusterId, hosts);
    return taken;
  }

  /** Frees hosts the cluster holds (those it does not hold stay as they are). */
  async free(clusterId: string, hosts: readonly { address: string; port: number }[]): Promise<void> {
    if (hosts.length === 0) return;
    await this.unitOfWork.manager.query(
      `DELETE FROM host_owners o USING jsonb_to_recordset($2::jsonb) AS r(address text, port int)
        WHERE o.cluster_id = $1 AND o.address = r.address AND o.port = r.port`,
      [clusterId, JSON.stringify(hosts.map((host) => ({ address: normalised(host.address), port: host.port })))],
    );
  }

  async freeCluster(clusterId: string): Promise<void> {
    await this.unitOfWork.manager.query(`DELETE FROM host_owners WHERE cluster_id = $1`, [clusterId]);
  }

  /**
   * What a transaction's events give back: the host of a released machine (unless the cluster
   * keeps it as a spare), and every host of a deleted cluster.
   */
  async afterEvents(before: ReadonlyMap<string, ClusterState>, events: readonly ClusterEvent[]): Promise<void> {
    for (const event of events) {
      if (event.type === 'ClusterDeleted') await this.freeCluster(event.clusterId);
      if (event.type !== 'MachineDeleted') continue;
      const state = before.get(event.clusterId);
      const host = state?.machines.find((machine) => machine.name === event.machine)?.host;
      if (!state || !host) continue;
      const spare = (state.spec.spareHosts ?? []).some((candidate) => hostKey(candidate) === hostKey(host));
      if (!spare) await this.free(event.clusterId, [host]);
    }
  }
}

/** Addresses compare case-insensitively (DNS names). */
function normalised(address: string): string {
  return address.toLowerCase();
}

/** The hosts a cluster request names: its hosts and its spares. */
export function requestedHosts(spec: { hosts?: readonly { address: string; port: number }[] | undefined; spareHosts?: readonly { address: string; port: number }[] | undefined }): HostClaim[] {
  return [
    ...(spec.hosts ?? []).map((host, index) => ({ address: host.address, port: host.port, field: `hosts.${index}.address` })),
    ...(spec.spareHosts ?? []).map((host, index) => ({ address: host.address, port: host.port, field: `spareHosts.${index}.address` })),
  ];
}
