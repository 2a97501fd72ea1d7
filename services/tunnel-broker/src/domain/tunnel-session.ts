/**
 * Tunnel sessions: an agent's connection to a broker replica, kept alive by that replica while the
 * connection lasts (one heartbeat for all of its sessions).
 * A cluster is connected while it has at least one live session; the first one to open says
 * TunnelConnected, the last one to end says TunnelDisconnected with why. Pure: callers pass the
 * cluster's active sessions (read under a lock) and the time.
 */

export const SESSION_STATES = ['Active', 'Closed', 'Expired'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** Why a session ended; the last one's reason is the TunnelDisconnected reason. */
export const END_REASONS = ['agent-closed', 'superseded', 'cluster-deleted', 'heartbeat-timeout', 'connection-lost'] as const;
export type EndReason = (typeof END_REASONS)[number];

export interface TunnelSession {
  id: string;
  clusterId: string;
  agentId: string;
  agentVersion: string;
  remoteAddress: string | null;
  /** The broker replica holding the connection; null for sessions of before. */
  replicaId: string | null;
  state: SessionState;
  openedAt: string;
  lastHeartbeatAt: string;
  /** No heartbeat by then and the session is over. */
  expiresAt: string;
  endedAt: string | null;
  endReason: EndReason | null;
}

/** What the bus must hear about a cluster's tunnel. */
export type TunnelFact =
  | { type: 'connected'; clusterId: string; agentId: string; agentVersion: string; remoteAddress: string | null; at: string }
  | { type: 'disconnected'; clusterId: string; agentId: string; reason: EndReason; at: string };

/** Sessions to write (in this order) and facts to emit, in one transaction. */
export interface Outcome {
  changed: TunnelSession[];
  facts: TunnelFact[];
}

export interface OpenRequest {
  sessionId: string;
  clusterId: string;
  agentId: string;
  agentVersion: string;
  remoteAddress: string | null;
  replicaId: string | null;
}

const plus = (time: Date, ms: number) => new Date(time.getTime() + ms).toISOString();

/** Past its deadline: over, whether or not the sweeper has come by yet. */
export function isOverdue(session: TunnelSession, now: Date): boolean {
  return session.state === 'Active' && Date.parse(session.expiresAt) < now.getTime();
}

function end(session: TunnelSession, reason: EndReason, now: Date): TunnelSession {
  // A timed-out session ended at its deadline, not when someone noticed.
  const endedAt = reason === 'heartbeat-timeout' ? session.expiresAt : now.toISOString();
  return { ...session, state: reason === 'heartbeat-timeout' ? 'Expired' : 'Closed', endedAt, endReason: reason };
}

/**
 * Ends some of a cluster's active sessions. When none is left, the cluster is disconnected at the
 * moment the last of them ended, for that one's reason.
 */
export function endSessions(active: TunnelSession[], ending: ReadonlySet<string>, reason: EndReason, now: Date): Outcome {
  const ended = active.filter((session) => ending.has(session.id)).map((session) => end(session, reason, now));
  const remaining = active.filter((session) => !ending.has(session.id));
  if (ended.length === 0 || remaining.length > 0) return { changed: ended, facts: [] };
  const last = ended.reduce((latest, session) => ((session.endedAt ?? '') > (latest.endedAt ?? '') ? session : latest));
  return { changed: ended, facts: [{ type: 'disconnected', clusterId: last.clusterId, agentId: last.agentId, reason, at: last.endedAt ?? now.toISOString() }] };
}

/** Every active session of the cluster past its deadline expires. */
export function expireOverdue(active: TunnelSession[], now: Date): Outcome {
  return expireClaimed(active, new Set(active.map((session) => session.id)), now);
}

/**
 * The sweeper's verdict: of the sessions it claimed, those still past their deadline (a
 * heartbeat may have come since) expire. Overdue sessions another replica claimed still count
 * as active here; whoever expires the last one reports the cluster down, exactly once.
 */
export function expireClaimed(active: TunnelSession[], claimed: ReadonlySet<string>, now: Date): Outcome {
  const overdue = active.filter((session) => claimed.has(session.id) && isOverdue(session, now)).map((session) => session.id);
  return endSessions(active, new Set(overdue), 'heartbeat-timeout', now);
}

/**
 * An agent opens a session. Overdue sessions are expired first (so a cluster whose only session
 * timed out is reported down, then up again); an older live session of the same agent (it
 * restarted) is superseded without the cluster ever going down.
 */
export function openSession(active: TunnelSession[], request: OpenRequest, now: Date, heartbeatTimeoutMs: number): Outcome & { session: TunnelSession } {
  const expired = expireOverdue(active, now);
  const live = active.filter((session) => !isOverdue(session, now));
  const superseded = live.filter((session) => session.agentId === request.agentId).map((session) => end(session, 'superseded', now));
  const session: TunnelSession = {
    id: request.sessionId,
    clusterId: request.clusterId,
    agentId: request.agentId,
    agentVersion: request.agentVersion,
    remoteAddress: request.remoteAddress,
    replicaId: request.replicaId,
    state: 'Active',
    openedAt: now.toISOString(),
    lastHeartbeatAt: now.toISOString(),
    expiresAt: plus(now, heartbeatTimeoutMs),
    endedAt: null,
    endReason: null,
  };
  const facts: TunnelFact[] = [...expired.facts];
  if (live.length === 0) {
    facts.push({ type: 'connected', clusterId: request.clusterId, agentId: request.agentId, agentVersion: request.agentVersion, remoteAddress: request.remoteAddress, at: session.openedAt });
  }
  return { session, changed: [...expired.changed, ...superseded, session], facts };
}

export type HeartbeatResult =
  | { ok: true; session: TunnelSession }
  /** The session is over and the agent must open a new one. An overdue session may still read Active: the caller expires it. */
  | { ok: false; code: 'session-expired' | 'session-closed'; session: TunnelSession; reason: EndReason | null };

/** A heartbeat moves the deadline on; one that comes too late finds the session over. */
export function heartbeat(session: TunnelSession, now: Date, heartbeatTimeoutMs: number): HeartbeatResult {
  if (session.state === 'Expired' || isOverdue(session, now)) return { ok: false, code: 'session-expired', session, reason: 'heartbeat-timeout' };
  if (session.state === 'Closed') return { ok: false, code: 'session-closed', session, reason: session.endReason };
  return { ok: true, session: { ...session, lastHeartbeatAt: now.toISOString(), expiresAt: plus(now, heartbeatTimeoutMs) } };
}
