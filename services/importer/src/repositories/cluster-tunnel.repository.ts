import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import { In } from 'typeorm';
import type { TunnelLink } from '../domain/tunnel-link.js';
import { ClusterTunnelEntity } from '../entities/cluster-tunnel.entity.js';

/** The tunnel state of each cluster, as last reported by the tunnel broker. */
@Injectable()
export class ClusterTunnelRepository {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  private get tunnels() {
    return this.unitOfWork.manager.getRepository(ClusterTunnelEntity);
  }

  /** Reads a cluster's tunnel and serialises changes to it until the transaction ends (row or not). */
  async findForUpdate(clusterId: string): Promise<TunnelLink | undefined> {
    await this.unitOfWork.manager.query(`SELECT pg_advisory_xact_lock(hashtext('importer.tunnel'), hashtext($1))`, [clusterId]);
    const entity = await this.tunnels.findOneBy({ clusterId });
    return entity ? toLink(entity) : undefined;
  }

  async findMany(clusterIds: string[]): Promise<Map<string, TunnelLink>> {
    if (clusterIds.length === 0) return new Map();
    const entities = await this.tunnels.findBy({ clusterId: In(clusterIds) });
    return new Map(entities.map((entity) => [entity.clusterId, toLink(entity)]));
  }

  async save(link: TunnelLink): Promise<void> {
    await this.tunnels.upsert({ ...link, since: new Date(link.since) }, ['clusterId']);
  }
}

function toLink(entity: ClusterTunnelEntity): TunnelLink {
  return {
    clusterId: entity.clusterId,
    state: entity.state,
    agentId: entity.agentId,
    agentVersion: entity.agentVersion,
    reason: entity.reason,
    since: entity.since.toISOString(),
  };
}
