import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endSessions, expireClaimed, expireOverdue, heartbeat, openSession, type OpenRequest, type TunnelSession } from './tunnel-session.js';

const TIMEOUT = 30_000;
const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const request = (sessionId: string, agentId = 'agent-a'): OpenRequest => ({ sessionId, clusterId: 'edge-1', agentId, agentVersion: '0.3.1', remoteAddress: '10.1.2.3', replicaId: 'replica-1' });

/** Opens sessions one after the other, keeping the active set as a repository would. */
function openAll(opens: { request: OpenRequest; second: number }[]): TunnelSession[] {
  let active: TunnelSession[] = [];
  for (const { request: open, second } of opens) {
    const outcome = openSession(active, open, at(second), TIMEOUT);
    const byId = new Map(active.map((session) => [session.id, session]));
    for (const session of outcome.changed) byId.set(session.id, session);
    active = [...byId.values()].filter((session) => session.state === 'Active');
  }
  return active;
}

describe('tunnel sessions (state machine)', () => {
  it('the first session of a cluster connects it, with the agent and where it came from', () => {
    const outcome = openSession([], request('s1'), at(0), TIMEOUT);
    assert.equal(outcome.session.state, 'Active');
    assert.equal(outcome.session.expiresAt, at(30).toISOString());
    assert.deepEqual(outcome.facts, [{ type: 'connected', clusterId: 'edge-1', agentId: 'agent-a', agentVersion: '0.3.1', remoteAddress: '10.1.2.3', at: at(0).toISOString() }]);
  });

  it('a second agent joining a connected cluster says nothing', () => {
    const active = openAll([{ request: request('s1'), second: 0 }]);
    const outcome = openSession(active, request('s2', 'agent-b'), at(5), TIMEOUT);
    assert.deepEqual(outcome.facts, []);
    assert.deepEqual(outcome.changed.map((session) => session.id), ['s2']);
  });

  it('an agent that restarts supersedes its old session; the cluster never goes down', () => {
    const active = openAll([{ request: request('s1'), second: 0 }]);
    const outcome = openSession(active, request('s2'), at(5), TIMEOUT);
    assert.deepEqual(outcome.facts, []);
    const old = outcome.changed.find((session) => session.id === 's1');
    assert.equal(old?.state, 'Closed');
    assert.equal(old?.endReason, 'superseded');
  });

  it('opening after the only session timed out: disconnected at its deadline, then connected again', () => {
    const active = openAll([{ request: request('s1'), second: 0 }]);
    const outcome = openSession(active, request('s2'), at(45), TIMEOUT);
    assert.deepEqual(outcome.facts.map((fact) => [fact.type, fact.at]), [
      ['disconnected', at(30).toISOString()],
      ['connected', at(45).toISOString()],
    ]);
    assert.equal(outcome.changed.find((session) => session.id === 's1')?.state, 'Expired');
  });

  it('heartbeats move the deadline; a late one finds the session expired', () => {
    const [session] = openAll([{ request: request('s1'), second: 0 }]);
    const beat = heartbeat(session!, at(20), TIMEOUT);
    assert.ok(beat.ok);
    assert.equal(beat.session.expiresAt, at(50).toISOString());
    const late = heartbeat(beat.session, at(51), TIMEOUT);
    assert.deepEqual(late.ok ? undefined : [late.code, late.reason], ['session-expired', 'heartbeat-timeout']);
  });

  it('a heartbeat on a closed session is refused with why it was closed', () => {
    const [session] = openAll([{ request: request('s1'), second: 0 }]);
    const [closed] = endSessions([session!], new Set(['s1']), 'cluster-deleted', at(3)).changed;
    const beat = heartbeat(closed!, at(4), TIMEOUT);
    assert.deepEqual(beat.ok ? undefined : [beat.code, beat.reason], ['session-closed', 'cluster-deleted']);
  });

  it('closing the last session disconnects the cluster for that reason; closing one of two does not', () => {
    const active = openAll([
      { request: request('s1'), second: 0 },
      { request: request('s2', 'agent-b'), second: 1 },
    ]);
    assert.deepEqual(endSessions(active, new Set(['s1']), 'agent-closed', at(2)).facts, []);
    const both = endSessions(active, new Set(['s1', 's2']), 'agent-closed', at(2));
    assert.deepEqual(both.facts.map((fact) => fact.type === 'disconnected' && fact.reason), ['agent-closed']);
  });

  it('the sweeper expires only overdue sessions; the cluster goes down when the last one does, at its deadline', () => {
    const active = openAll([
      { request: request('s1'), second: 0 },
      { request: request('s2', 'agent-b'), second: 10 },
    ]);
    const first = expireOverdue(active, at(35));
    assert.deepEqual(first.changed.map((session) => session.id), ['s1']);
    assert.deepEqual(first.facts, []);
    const both = expireOverdue(active, at(41));
    assert.equal(both.changed.length, 2);
    assert.deepEqual(both.facts, [{ type: 'disconnected', clusterId: 'edge-1', agentId: 'agent-b', reason: 'heartbeat-timeout', at: at(40).toISOString() }]);
    assert.deepEqual(expireOverdue(active, at(29)), { changed: [], facts: [] });
  });

  it('a sweeper expires only what it claimed and is still overdue; the last expiry reports the cluster down once', () => {
    const active = openAll([
      { request: request('s1'), second: 0 },
      { request: request('s2', 'agent-b'), second: 0 },
    ]);
    // Another replica holds s2: this one expires s1 alone and says nothing.
    const mine = expireClaimed(active, new Set(['s1']), at(31));
    assert.deepEqual(mine.changed.map((session) => session.id), ['s1']);
    assert.deepEqual(mine.facts, []);
    // The other replica, seeing s1 already gone, expires s2 and reports the cluster down.
    const theirs = expireClaimed(active.filter((session) => session.id === 's2'), new Set(['s2']), at(31));
    assert.deepEqual(theirs.facts.map((fact) => fact.type), ['disconnected']);
    // A claimed session that got a heartbeat since is left alone.
    const renewed = active.map((session) => (session.id === 's1' ? { ...session, expiresAt: at(60).toISOString() } : session));
    assert.deepEqual(expireClaimed(renewed, new Set(['s1']), at(31)).changed, []);
  });
});
