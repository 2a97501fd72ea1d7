import { Clock } from '@flotilla/service-kit';
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { TunnelConnected, TunnelDisconnected } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { SESSION_TIMING, type SessionTiming } from '../config.js';
import {
  endSessions,
  expireClaimed,
  expireOverdue,
  heartbeat,
  isOverdue,
  openSession,
  type EndReason,
  type OpenRequest,
  type Outcome,
  type TunnelSession,
} from '../domain/tunnel-session.js';
import { TunnelSessionRepository } from '../repositories/tunnel-session.repository.js';

/** Why an agent's request about a session was refused. */
export type SessionRefusal = { code: 'session-not-found' } | { code: 'session-expired' | 'session-closed'; reason: EndReason | null };

/**
 * The broker's commands on sessions, for the HTTP API, the event handlers and the sweeper alike:
 * lock the cluster, read its active sessions, let the state machine decide, write the sessions
 * and emit the events in the same transaction.
 */
@Injectable()
export class TunnelSessions {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(TunnelSessionRepository) private readonly sessions: TunnelSessionRepository,
    @Inject(Clock) private readonly clock: Clock,
    @Inject(SESSION_TIMING) private readonly timing: SessionTiming,
  ) {}

  async open(request: Omit<OpenRequest, 'sessionId'>): Promise<TunnelSession> {
    return this.unitOfWork.run(async () => {
      await this.sessions.lockCluster(request.clusterId);
      const outcome = openSession(await this.sessions.activeForCluster(request.clusterId), { ...request, sessionId: randomUUID() }, this.clock.now(), this.timing.heartbeatTimeoutMs);
      await this.apply(outcome);
      return outcome.session;
    });
  }

  async heartbeat(clusterId: string, sessionId: string): Promise<{ ok: true; session: TunnelSession } | { ok: false; refusal: SessionRefusal }> {
    return this.unitOfWork.run(async () => {
      await this.sessions.lockCluster(clusterId);
      const session = await this.sessions.find(sessionId);
      if (!session || session.clusterId !== clusterId) return { ok: false, refusal: { code: 'session-not-found' } };
      const now = this.clock.now();
      const result = heartbeat(session, now, this.timing.heartbeatTimeoutMs);
      if (result.ok) {
        await this.sessions.save([result.session]);
        return { ok: true, session: result.session };
      }
      // This heartbeat is the first to notice: expire it now rather than wait for the sweeper.
      if (result.session.state === 'Active') await this.apply(expireOverdue(await this.sessions.activeForCluster(clusterId), now));
      return { ok: false, refusal: { code: result.code, reason: result.reason } };
    });
  }

  /** A session ends (its connection closed). Closing one already over is not an error. */
  async close(clusterId: string, sessionId: string, reason: EndReason = 'agent-closed'): Promise<'closed' | 'already-ended' | 'not-found'> {
    return this.unitOfWork.run(async () => {
      await this.sessions.lockCluster(clusterId);
      const session = await this.sessions.find(sessionId);
      if (!session || session.clusterId !== clusterId) return 'not-found';
      if (session.state !== 'Active') return 'already-ended';
      const now = this.clock.now();
      const active = await this.sessions.activeForCluster(clusterId);
      // Past its deadline it had already timed out; that stays the reason.
      await this.apply(isOverdue(session, now) ? expireOverdue(active, now) : endSessions(active, new Set([sessionId]), reason, now));
      return 'closed';
    });
  }

  /** Moves the deadline of every live session a replica holds: one statement, whatever their number. */
  async keepAlive(replicaId: string): Promise<number> {
    const now = this.clock.now();
    return this.unitOfWork.run(() => this.sessions.extendForReplica(replicaId, now, new Date(now.getTime() + this.timing.heartbeatTimeoutMs)));
  }

  /** Ends every session of a cluster (it was deleted); joins the handler's transaction. */
  async closeCluster(clusterId: string, reason: EndReason): Promise<number> {
    return this.unitOfWork.run(async () => {
      await this.sessions.lockCluster(clusterId);
      const active = await this.sessions.activeForCluster(clusterId);
      const outcome = endSessions(active, new Set(active.map((session) => session.id)), reason, this.clock.now());
      await this.apply(outcome);
      return outcome.changed.length;
    });
  }

  /**
   * One sweeper round: claims overdue sessions (SKIP LOCKED), and expires them cluster by
   * cluster under the cluster's lock, skipping clusters someone else holds right now.
   */
  async sweep(limit: number): Promise<number> {
    return this.unitOfWork.run(async () => {
      const now = this.clock.now();
      const byCluster = new Map<string, Set<string>>();
      for (const { id, clusterId } of await this.sessions.claimOverdue(now, limit)) {
        const ids = byCluster.get(clusterId) ?? new Set<string>();
        ids.add(id);
        byCluster.set(clusterId, ids);
      }
      let expired = 0;
      for (const [clusterId, claimed] of [...byCluster].sort(([a], [b]) => a.localeCompare(b))) {
        if (!(await this.sessions.tryLockCluster(clusterId))) continue;
        const outcome = expireClaimed(await this.sessions.activeForCluster(clusterId), claimed, now);
        await this.apply(outcome);
        expired += outcome.changed.length;
      }
      return expired;
    });
  }

  async prune(retentionMs: number): Promise<number> {
    return this.unitOfWork.run(() => this.sessions.pruneEnded(new Date(this.clock.now().getTime() - retentionMs)));
  }

  private async apply(outcome: Outcome): Promise<void> {
    await this.sessions.save(outcome.changed);
    for (const fact of outcome.facts) {
      const options = { time: new Date(fact.at) };
      switch (fact.type) {
        case 'connected':
          this.unitOfWork.emit(
            TunnelConnected,
            fact.clusterId,
            { agentId: fact.agentId, agentVersion: fact.agentVersion, ...(fact.remoteAddress === null ? {} : { remoteAddress: fact.remoteAddress }) },
            options,
          );
          break;
        case 'disconnected':
          this.unitOfWork.emit(TunnelDisconnected, fact.clusterId, { agentId: fact.agentId, reason: fact.reason }, options);
          break;
      }
    }
  }
}
