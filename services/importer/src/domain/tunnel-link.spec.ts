import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterDeleted, createEvent, TunnelConnected, TunnelDisconnected, type CloudEvent } from '@flotilla/contracts';
import { evolveTunnel, type TunnelLink } from './tunnel-link.js';

const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const meta = (second: number) => ({ subject: 'edge-1', source: '/flotilla/tunnel-broker', time: at(second) });
const connected = (second: number) => createEvent(TunnelConnected, meta(second), { agentId: 'agent-a', agentVersion: '0.3.1' });
const disconnected = (second: number, reason = 'heartbeat-timeout') => createEvent(TunnelDisconnected, meta(second), { agentId: 'agent-a', reason });

function replay(events: CloudEvent[]): TunnelLink | undefined {
  return events.reduce<TunnelLink | undefined>((link, event) => evolveTunnel(link, event) ?? link, undefined);
}

describe('tunnel link (evolve)', () => {
  it('connected, then disconnected with the broker\'s reason', () => {
    assert.equal(replay([connected(0)])?.state, 'connected');
    const down = replay([connected(0), disconnected(5)]);
    assert.equal(down?.state, 'disconnected');
    assert.equal(down?.reason, 'heartbeat-timeout');
    assert.equal(down?.agentVersion, '0.3.1');
  });

  it('a late, older event does not undo a newer one', () => {
    assert.equal(replay([disconnected(5), connected(0)])?.state, 'disconnected');
    assert.equal(replay([connected(9), disconnected(5)])?.state, 'connected');
  });

  it('reconnecting clears the reason', () => {
    const link = replay([connected(0), disconnected(5), connected(7)]);
    assert.equal(link?.state, 'connected');
    assert.equal(link?.reason, null);
  });

  it('other events change nothing', () => {
    assert.equal(evolveTunnel(undefined, createEvent(ClusterDeleted, meta(1), { model: 'connected' })), undefined);
  });
});
