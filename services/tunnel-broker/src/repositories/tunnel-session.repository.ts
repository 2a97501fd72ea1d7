import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { SessionState, TunnelSession } from '../domain/tunnel-session.js';
import { TunnelSessionEntity } from '../entities/tunnel-session.entity.js';

export interface SessionFilter {
  clusterId?: string;
  state?: SessionState;
}

export interface SessionPage {
  items: TunnelSession[];
  total: number;
  nextCursor: string | null;
}

const LOCK_SQL = `hashtext('tunnel-broker.cluster'), hashtext($1)`;

/**
 * Tunnel sessions in PostgreSQL. Every change to a cluster's sessions happens under that
 * cluster's advisory lock, taken first: that is what makes "was it the first / the last session"
 * true across replicas.
 */
@Injectable()
export class TunnelSessionRepository {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  private get sessions() {
    return this.unitOfWork.manager.getRepository(TunnelSessionEntity);
  }

  /** Waits for the cluster's lock (held until the transaction ends). */
  async lockCluster(clusterId: string): Promise<void> {
    await this.unitOfWork.manager.query(`SELECT pg_advisory_xact_lock(${LOCK_SQL})`, [clusterId]);
  }

  /** Takes the cluster's lock only if it is free: the sweeper never waits (so never deadlocks). */
  async tryLockCluster(clusterId: string): Promise<boolean> {
    const rows = await this.unitOfWork.manager.query<{ locked: boolean }[]>(`SELECT pg_try_advisory_xact_lock(${LOCK_SQL}) AS locked`, [clusterId]);
    return rows[0]?.locked === true;
  }

  /**
   * The cluster's active sessions. Call with the cluster's lock held: every writer holds it, so
   * this plain read is current, and it never waits on a sweeper's claimed rows.
   */
  async activeForCluster(clusterId: string): Promise<TunnelSession[]> {
    const entities = await this.sessions
      .createQueryBuilder('s')
      .where('s.cluster_id = :clusterId', { clusterId })
      .andWhere(`s.state = 'Active'`)
      .orderBy('s.opened_at', 'ASC')
      .getMany();
    return entities.map(toSession);
  }

  async find(id: string): Promise<TunnelSession | undefined> {
    const entity = await this.sessions.findOneBy({ id });
    return entity ? toSession(entity) : undefined;
  }

  /** Writes sessions in order (an old session is superseded before its replacement is inserted). */
  async save(sessions: TunnelSession[]): Promise<void> {
    for (const session of sessions) await this.sessions.upsert(toEntity(session), ['id']);
  }

  /**
   * The heartbeat of every live session a replica holds, in one statement: its connections are
   * up (their keepalive says so). Sessions that ended meanwhile are left alone.
   */
  async extendForReplica(replicaId: string, now: Date, expiresAt: Date): Promise<number> {
    const [, count] = await this.unitOfWork.manager.query<[unknown, number]>(
      `UPDATE tunnel_sessions SET last_heartbeat_at = $2, expires_at = $3 WHERE replica_id = $1 AND state = 'Active'`,
      [replicaId, now, expiresAt],
    );
    return count;
  }

  /**
   * Claims active sessions past their deadline. SKIP LOCKED: replicas sweeping at the same time
   * take disjoint sets and never wait on each other or on an agent's request.
   */
  async claimOverdue(now: Date, limit: number): Promise<{ id: string; clusterId: string }[]> {
    const entities = await this.sessions
      .createQueryBuilder('s')
      .select(['s.id', 's.clusterId'])
      .setLock('pessimistic_write')
      .setOnLocked('skip_locked')
      .where(`s.state = 'Active'`)
      .andWhere('s.expires_at < :now', { now })
      .orderBy('s.expires_at', 'ASC')
      .limit(limit)
      .getMany();
    return entities.map((entity) => ({ id: entity.id, clusterId: entity.clusterId }));
  }

  /** Deletes sessions that ended before `before`; returns how many. */
  async pruneEnded(before: Date): Promise<number> {
    const result = await this.sessions.createQueryBuilder().delete().where(`state <> 'Active'`).andWhere('ended_at < :before', { before }).execute();
    return result.affected ?? 0;
  }

  /** Keyset pagination by id. */
  async list(filter: SessionFilter, limit: number, after: string | undefined): Promise<SessionPage> {
    const query = this.sessions.createQueryBuilder('s');
    if (filter.clusterId) query.andWhere('s.cluster_id = :clusterId', { clusterId: filter.clusterId });
    if (filter.state) query.andWhere('s.state = :state', { state: filter.state });
    const total = await query.clone().getCount();
    if (after) query.andWhere('s.id > :after', { after });
    const entities = await query.orderBy('s.id', 'ASC').limit(limit + 1).getMany();
    const items = entities.slice(0, limit).map(toSession);
    return { items, total, nextCursor: entities.length > limit ? (items.at(-1)?.id ?? null) : null };
  }
}

function toSession(entity: TunnelSessionEntity): TunnelSession {
  return {
    id: entity.id,
    clusterId: entity.clusterId,
    agentId: entity.agentId,
    agentVersion: entity.agentVersion,
    remoteAddress: entity.remoteAddress,
    replicaId: entity.replicaId,
    state: entity.state,
    openedAt: entity.openedAt.toISOString(),
    lastHeartbeatAt: entity.lastHeartbeatAt.toISOString(),
    expiresAt: entity.expiresAt.toISOString(),
    endedAt: entity.endedAt?.toISOString() ?? null,
    endReason: entity.endReason,
  };
}

function toEntity(session: TunnelSession): TunnelSessionEntity {
  return {
    ...session,
    openedAt: new Date(session.openedAt),
    lastHeartbeatAt: new Date(session.lastHeartbeatAt),
    expiresAt: new Date(session.expiresAt),
    endedAt: session.endedAt === null ? null : new Date(session.endedAt),
  };
}
