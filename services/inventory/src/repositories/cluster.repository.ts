import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { ClusterModel } from '@flotilla/contracts';
import type { ClusterStatus, ClusterView } from '../domain/cluster-view.js';
import { ClusterEventEntity } from '../entities/cluster-event.entity.js';
import { ClusterEntity } from '../entities/cluster.entity.js';

export interface ClusterFilter {
  model?: ClusterModel;
  status?: ClusterStatus;
}

export interface ClusterPage {
  items: ClusterView[];
  total: number;
  nextCursor: string | null;
}

/** The fleet read model in PostgreSQL. Joins the caller's transaction when there is one. */
@Injectable()
export class ClusterRepository {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  private get clusters() {
    return this.unitOfWork.manager.getRepository(ClusterEntity);
  }

  /** Reads a cluster and locks its row until the transaction ends: projections of one cluster serialise. */
  async findForUpdate(id: string): Promise<ClusterView | undefined> {
    const entity = await this.clusters.createQueryBuilder('c').setLock('pessimistic_write').where('c.id = :id', { id }).getOne();
    return entity ? toView(entity) : undefined;
  }

  async find(id: string): Promise<ClusterView | undefined> {
    const entity = await this.clusters.findOneBy({ id });
    return entity ? toView(entity) : undefined;
  }

  /** Inserts only if the id is free; false when it is taken. */
  async insertIfAbsent(view: ClusterView): Promise<boolean> {
    const result = await this.clusters.createQueryBuilder().insert().values(toEntity(view)).orIgnore().returning('id').execute();
    return (result.raw as unknown[]).length > 0;
  }

  async save(view: ClusterView): Promise<void> {
    await this.clusters.upsert({ ...toEntity(view), updatedAt: new Date() }, ['id']);
  }

  async appendHistory(entry: Omit<ClusterEventEntity, never>): Promise<void> {
    await this.unitOfWork.manager.getRepository(ClusterEventEntity).createQueryBuilder().insert().values(entry).orIgnore().execute();
  }

  async history(clusterId: string, limit = 200): Promise<ClusterEventEntity[]> {
    return this.unitOfWork.manager.getRepository(ClusterEventEntity).find({ where: { clusterId }, order: { time: 'ASC' }, take: limit });
  }

  /** Keyset pagination by id: stable and cheap however large the fleet. */
  async list(filter: ClusterFilter, limit: number, after: string | undefined): Promise<ClusterPage> {
    const query = this.clusters.createQueryBuilder('c');
    if (filter.model) query.andWhere('c.model = :model', { model: filter.model });
    if (filter.status) query.andWhere('c.status = :status', { status: filter.status });
    const total = await query.clone().getCount();
    if (after) query.andWhere('c.id > :after', { after });
    const entities = await query.orderBy('c.id', 'ASC').take(limit + 1).getMany();
    const items = entities.slice(0, limit).map(toView);
    return { items, total, nextCursor: entities.length > limit ? (items.at(-1)?.id ?? null) : null };
  }
}

function toView(entity: ClusterEntity): ClusterView {
  return {
    id: entity.id,
    name: entity.name,
    model: entity.model,
    status: entity.status,
    kubernetesVersion: entity.kubernetesVersion,
    distribution: entity.distribution,
    nodes: entity.nodes,
    reasons: entity.reasons,
    warnings: entity.warnings,
    reachable: entity.reachable,
    tunnel: entity.tunnel,
    lastEventTime: entity.lastEventTime.toISOString(),
  };
}

function toEntity(view: ClusterView): Partial<ClusterEntity> {
  return {
    id: view.id,
    name: view.name,
    model: view.model,
    status: view.status,
    kubernetesVersion: view.kubernetesVersion,
    distribution: view.distribution,
    nodes: view.nodes,
    nodeCount: view.nodes.length,
    reasons: view.reasons,
    warnings: view.warnings,
    reachable: view.reachable,
    tunnel: view.tunnel,
    lastEventTime: new Date(view.lastEventTime),
  };
}
