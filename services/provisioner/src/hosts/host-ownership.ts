import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { ClusterEvent, ClusterState } from '../domain/cluster/index.js';
import { hostKey } from '../domain/cluster/machines.js';

/** A host a request names, the request field that names it, and the host key it must present when the request gives one. */
export interface HostClaim {
  address: string;
  port: number;
  field: string;
  hostKey?: string | undefined;
}

/** A host of the request that another cluster holds: at this address, or (`sameAs`) under another address with the same host key. */
export interface TakenHost extends HostClaim {
  clusterId: string;
  sameAs?: { address: string; port: number };
}

/**
 * Which cluster each user's host belongs to: at most one in the fleet. A host is its address and
 * SSH port, and its host key: the request's fingerprint or the key pinned for the address when
 * known, otherwise the key it presents on its first connection (`HostRecords.ownerOfKey`).
 * Claims are made in the transaction that accepts a cluster or a scale-up, and the table's
 * unique indexes decide between two replicas taking one host at once: the second waits for the
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
    const rows = JSON.stringify(hosts.map((host) => ({ raw: host.address, address: normalised(host.address), port: host.port, host_key: host.hostKey ?? null })));
    // The claimed hosts with the key each is known by.
    const claimed = `SELECT r.address, r.port, COALESCE(r.host_key, k.fingerprint) AS host_key
        FROM jsonb_to_recordset($2::jsonb) AS r(raw text, address text, port int, host_key text)
        LEFT JOIN host_keys k ON k.address = r.raw AND k.port = r.port`;
    await manager.query(`INSERT INTO host_owners (address, port, cluster_id, host_key) SELECT address, port, $1, host_key FROM (${claimed}) c ON CONFLICT DO NOTHING`, [clusterId, rows]);
    const holders = await manager.query<{ address: string; port: number; cluster_id: string; owned_address: string; owned_port: number }[]>(
      `SELECT c.address, c.port, o.cluster_id, o.address AS owned_address, o.port AS owned_port
         FROM (${claimed}) c JOIN host_owners o ON (o.address = c.address AND o.port = c.port) OR o.host_key = c.host_key
        WHERE NOT (o.cluster_id = $1 AND o.address = c.address AND o.port = c.port)`,
      [clusterId, rows],
    );
    const holderOf = new Map(holders.map((row) => [hostKey(row), row]));
    const taken = hosts.flatMap((host): TakenHost[] => {
      const holder = holderOf.get(hostKey({ address: normalised(host.address), port: host.port }));
      if (!holder) return [];
      const elsewhere = holder.owned_address !== holder.address || holder.owned_port !== holder.port;
      return [{ ...host, clusterId: holder.cluster_id, ...(elsewhere ? { sameAs: { address: holder.owned_address, port: holder.owned_port } } : {}) }];
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

type RequestedHost = { address: string; port: number; hostKeyFingerprint?: string | undefined };

/** The hosts a cluster request names: its hosts and its spares. */
export function requestedHosts(spec: { hosts?: readonly RequestedHost[] | undefined; spareHosts?: readonly RequestedHost[] | undefined }): HostClaim[] {
  return [
    ...(spec.hosts ?? []).map((host, index) => ({ address: host.address, port: host.port, field: `hosts.${index}.address`, hostKey: host.hostKeyFingerprint })),
    ...(spec.spareHosts ?? []).map((host, index) => ({ address: host.address, port: host.port, field: `spareHosts.${index}.address`, hostKey: host.hostKeyFingerprint })),
  ];
}
