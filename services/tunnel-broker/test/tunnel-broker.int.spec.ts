import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterDeleted, createEvent, eventsSubject, TunnelConnected, TunnelDisconnected } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import type { Role } from '@flotilla/auth';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import type { TunnelSession } from '../src/domain/tunnel-session.js';
import type { OpenedSession } from '../src/http/tunnels.controller.js';
import { tunnelBrokerService } from '../src/service.js';

// Short enough to watch a session time out, long enough for a loaded CI machine to keep one alive.
const TIMING = { TUNNEL_HEARTBEAT_TIMEOUT_MS: '1000', TUNNEL_HEARTBEAT_INTERVAL_MS: '200', TUNNEL_SWEEP_INTERVAL_MS: '50' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An agent (operator token, until agents get their own certificates) and a viewer listing sessions. */
function agent(service: TestService) {
  const api = async (path: string, init: RequestInit = {}, role: Role = 'operator') =>
    fetch(`${service.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...(await service.auth(role)) } });
  const json = { 'content-type': 'application/json' };
  return {
    api,
    open: (clusterId: string, body: unknown = { agentId: `${clusterId}-agent`, agentVersion: '0.1.0' }) =>
      api(`/api/v1/tunnels/${clusterId}/sessions`, { method: 'POST', headers: json, body: JSON.stringify(body) }),
    opened: async (clusterId: string, agentId = `${clusterId}-agent`) => {
      const response = await api(`/api/v1/tunnels/${clusterId}/sessions`, { method: 'POST', headers: json, body: JSON.stringify({ agentId, agentVersion: '0.1.0' }) });
      assert.equal(response.status, 201);
      return (await response.json()) as OpenedSession;
    },
    beat: (session: OpenedSession) => api(session.heartbeatUrl, { method: 'POST' }),
    close: (clusterId: string, sessionId: string) => api(`/api/v1/tunnels/${clusterId}/sessions/${sessionId}`, { method: 'DELETE' }),
    sessions: async (clusterId: string) => ((await (await api(`/api/v1/tunnels?clusterId=${clusterId}`, {}, 'viewer')).json()) as { items: TunnelSession[] }).items,
  };
}

describe('tunnel broker on real NATS and PostgreSQL', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let client: ReturnType<typeof agent>;

  before(async () => {
    service = await startTestService(tunnelBrokerService, TIMING);
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'tunnel-broker-int-test');
    client = agent(service);
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const seen = async <D extends typeof TunnelConnected | typeof TunnelDisconnected>(definition: D, clusterId: string, count = 1) =>
    eventually(async () => {
      const events = await eventsOf(bus, prefix, definition, clusterId);
      return events.length >= count ? events : undefined;
    }, 10_000, `${count} ${definition.name} for ${clusterId}`);

  it('register: a session with its heartbeat interval, and TunnelConnected on the bus', async () => {
    const session = await client.opened('edge-register');
    assert.match(session.sessionId, /^[0-9a-f-]{36}$/);
    assert.equal(session.heartbeatIntervalMs, 200);
    assert.equal(session.heartbeatTimeoutMs, 1000);
    const [connected] = await seen(TunnelConnected, 'edge-register');
    assert.equal(connected?.source, '/flotilla/tunnel-broker');
    assert.equal(connected?.data.agentId, 'edge-register-agent');
    assert.equal(connected?.data.agentVersion, '0.1.0');
    assert.ok(connected?.data.remoteAddress);
  });

  it('heartbeats keep a session alive past the timeout; once they stop, TunnelDisconnected with heartbeat-timeout', async () => {
    const session = await client.opened('edge-heartbeat');
    await seen(TunnelConnected, 'edge-heartbeat');
    for (const started = Date.now(); Date.now() - started < 2_000; await sleep(200)) {
      assert.equal((await client.beat(session)).status, 200);
    }
    assert.deepEqual(await eventsOf(bus, prefix, TunnelDisconnected, 'edge-heartbeat'), [], 'no disconnect while heartbeating');
    assert.equal((await client.sessions('edge-heartbeat'))[0]?.state, 'Active');

    const [disconnected] = await seen(TunnelDisconnected, 'edge-heartbeat');
    assert.equal(disconnected?.data.reason, 'heartbeat-timeout');
    assert.equal(disconnected?.data.agentId, 'edge-heartbeat-agent');
    const [expired] = await client.sessions('edge-heartbeat');
    assert.equal(expired?.state, 'Expired');
    assert.equal(expired?.endReason, 'heartbeat-timeout');

    const late = await client.beat(session);
    assert.equal(late.status, 410);
    assert.equal(((await late.json()) as { code: string }).code, 'session-expired');
  });

  it('closing the last session disconnects the cluster (agent-closed); closing again is fine; unknown sessions are 404', async () => {
    const first = await client.opened('edge-close', 'agent-a');
    const second = await client.opened('edge-close', 'agent-b');
    assert.equal((await client.close('edge-close', first.sessionId)).status, 204);
    assert.deepEqual(await eventsOf(bus, prefix, TunnelDisconnected, 'edge-close'), [], 'agent-b still holds the tunnel');
    assert.equal((await client.close('edge-close', second.sessionId)).status, 204);
    const [disconnected] = await seen(TunnelDisconnected, 'edge-close');
    assert.equal(disconnected?.data.reason, 'agent-closed');
    assert.equal((await seen(TunnelConnected, 'edge-close')).length, 1, 'one TunnelConnected for the two sessions');

    assert.equal((await client.close('edge-close', second.sessionId)).status, 204);
    assert.equal((await client.close('edge-close', '00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await client.close('edge-other', first.sessionId)).status, 404, 'a session belongs to its cluster');
  });

  it('ClusterDeleted closes the cluster\'s sessions (cluster-deleted) and the agent is told why', async () => {
    const session = await client.opened('edge-deleted');
    await seen(TunnelConnected, 'edge-deleted');
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterDeleted.channel), createEvent(ClusterDeleted, { subject: 'edge-deleted', source: '/flotilla/importer' }, { model: 'connected' }));
    const [disconnected] = await seen(TunnelDisconnected, 'edge-deleted');
    assert.equal(disconnected?.data.reason, 'cluster-deleted');
    const refused = await client.beat(session);
    assert.equal(refused.status, 410);
    assert.deepEqual(await refused.json(), {
      statusCode: 410,
      error: 'Gone',
      code: 'session-closed',
      reason: 'cluster-deleted',
      message: `session ${session.sessionId} was closed (cluster-deleted)`,
    });
  });

  it('answers 400 naming every bad field', async () => {
    const body = await client.open('edge-1', { agentId: '' });
    assert.equal(body.status, 400);
    assert.deepEqual(((await body.json()) as { errors: { field: string }[] }).errors.map((error) => error.field).sort(), ['agentId', 'agentVersion']);
    const path = await client.open('Not_A_Label');
    assert.deepEqual(((await path.json()) as { errors: { field: string }[] }).errors.map((error) => error.field), ['clusterId']);
    const sessionId = await client.api('/api/v1/tunnels/edge-1/sessions/not-a-uuid/heartbeat', { method: 'POST' });
    assert.equal(sessionId.status, 400);
    assert.deepEqual(((await sessionId.json()) as { errors: { field: string }[] }).errors.map((error) => error.field), ['sessionId']);
    assert.equal((await client.api('/api/v1/tunnels?state=Sleeping', {}, 'viewer')).status, 400);
  });

  it('lists sessions by state, and serves its OpenAPI document', async () => {
    const session = await client.opened('edge-listed');
    const active = (await (await client.api('/api/v1/tunnels?state=Active', {}, 'viewer')).json()) as { items: TunnelSession[]; total: number };
    assert.ok(active.items.every((item) => item.state === 'Active'));
    assert.ok(active.items.some((item) => item.id === session.sessionId));
    const expired = (await (await client.api('/api/v1/tunnels?state=Expired', {}, 'viewer')).json()) as { items: TunnelSession[] };
    assert.ok(expired.items.some((item) => item.clusterId === 'edge-heartbeat'));
    const openapi = (await (await client.api('/api/docs/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const path of ['/api/v1/tunnels', '/api/v1/tunnels/{clusterId}/sessions', '/api/v1/tunnels/{clusterId}/sessions/{sessionId}/heartbeat']) assert.ok(openapi.paths[path], path);
  });
});

describe('tunnel broker: two replicas sweeping the same sessions', () => {
  let first: TestService;
  let second: TestService;
  let bus: BusConnection;
  let prefix: string;

  before(async () => {
    first = await startTestService(tunnelBrokerService, { ...TIMING, TUNNEL_SWEEP_INTERVAL_MS: '10', TUNNEL_SWEEP_BATCH: '1' });
    second = await startTestService(tunnelBrokerService, { ...first.env });
    prefix = first.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'tunnel-broker-int-test-replicas');
  });

  after(async () => {
    await second.dispose({ keepSchema: true });
    await first.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('every cluster whose agents went silent is disconnected exactly once', async () => {
    const clusters = Array.from({ length: 12 }, (_, index) => `fleet-${index}`);
    // Two agents per cluster, opened through either replica. One session per sweeper round: the
    // replicas keep taking the two sessions of one cluster at the same moment.
    for (const [index, clusterId] of clusters.entries()) {
      await agent(index % 2 === 0 ? first : second).opened(clusterId, 'agent-a');
      await agent(index % 2 === 0 ? second : first).opened(clusterId, 'agent-b');
    }
    for (const clusterId of clusters) {
      await eventually(async () => ((await eventsOf(bus, prefix, TunnelDisconnected, clusterId)).length > 0 ? true : undefined), 10_000, `disconnect of ${clusterId}`);
    }
    await sleep(500); // time for a duplicate to show up, if there were one
    for (const clusterId of clusters) {
      assert.equal((await eventsOf(bus, prefix, TunnelConnected, clusterId)).length, 1, `${clusterId} connected once`);
      const disconnected = await eventsOf(bus, prefix, TunnelDisconnected, clusterId);
      assert.deepEqual(disconnected.map((event) => event.data.reason), ['heartbeat-timeout'], `${clusterId} disconnected once`);
    }
  });
});
