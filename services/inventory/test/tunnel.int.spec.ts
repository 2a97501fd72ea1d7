import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ClusterImported,
  ClusterImportRequested,
  createEvent,
  eventsSubject,
  findDefinition,
  TunnelConnected,
  TunnelDisconnected,
  TunnelRegistrationIssued,
  TunnelRegistrationRedeemed,
  TunnelRegistrationRevoked,
  type CloudEvent,
} from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { inventoryService } from '../src/service.js';

/** What GET /api/v1/clusters/{id} answers, as far as these tests look. */
interface ClusterBody {
  id: string;
  name: string | null;
  model: string | null;
  labels: Record<string, string>;
  status: string;
  access: string | null;
  tunnel: string | null;
  reasons: { code: string; message: string }[];
  pendingRequests: { eventId: string; type: string; summary: string; registrationId?: string }[];
  lastRefusal: { eventId: string; type: string; requestEventId: string | null; requestType: string | null; reasons: { code: string }[] } | null;
  history: { eventId: string; type: string; summary: string }[];
}

const IMPORTER = '/flotilla/importer';
const BROKER = '/flotilla/tunnel-broker';
const LABELS = { team: 'edge' };
const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const registrationIdOf = (index: number) => `6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a${String(index).padStart(2, '0')}`;

/** One registered cluster's facts, a second apart, in the order they happen. */
function registered(id: string, index: number) {
  const meta = (second: number, source = IMPORTER) => ({ subject: id, source, time: at(second) });
  const registrationId = registrationIdOf(index);
  return {
    issued: createEvent(TunnelRegistrationIssued, meta(0), { registrationId, clusterName: id, tokenHash: 'c'.repeat(64), expiresAt: at(3600).toISOString(), labels: LABELS }),
    redeemed: createEvent(TunnelRegistrationRedeemed, meta(1, BROKER), { registrationId, agentId: `agent-${id}`, certificateSerial: '0a1b', certificateExpiresAt: at(86_400).toISOString() }),
    asked: createEvent(ClusterImportRequested, meta(2), { name: id, credentialRef: 'flotilla:tunnel', provider: 'cncf', labels: LABELS }),
    connected: createEvent(TunnelConnected, meta(3, BROKER), { agentId: `agent-${id}`, agentVersion: '0.4.0' }),
    imported: createEvent(ClusterImported, meta(4), { name: id, distribution: 'k3s', kubernetesVersion: 'v1.33.4+k3s1', nodeCount: 1, capacity: { cpuCores: 2, memoryBytes: 4e9 }, warnings: [] }),
    revoked: createEvent(TunnelRegistrationRevoked, meta(5), { registrationId }),
    disconnected: (second: number) => createEvent(TunnelDisconnected, meta(second, BROKER), { agentId: `agent-${id}`, reason: 'agent closed the connection' }),
    reconnected: (second: number) => createEvent(TunnelConnected, meta(second, BROKER), { agentId: `agent-${id}` }),
  };
}

describe('inventory: clusters registered for the tunnel, through its consumers and HTTP API', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let admin: Record<string, string>;

  before(async () => {
    // Batches of one: every delivery is its own transaction, so the order of arrival is the order published.
    service = await startTestService(inventoryService, { BUS_BATCH_SIZE: '1' });
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'inventory-tunnel-test');
    admin = await service.auth('admin');
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const publish = async (...events: CloudEvent[]) => {
    for (const event of events) await publishEvent(bus.js, eventsSubject({ prefix }, findDefinition(event.type)!.channel), event);
  };
  const get = async <T>(path: string, headers = admin): Promise<{ status: number; body: T }> => {
    const response = await fetch(`${service.url}${path}`, { headers });
    return { status: response.status, body: (await response.json()) as T };
  };
  /** The cluster once its history holds every one of these events. */
  const clusterWith = (id: string, events: readonly CloudEvent[]) =>
    eventually(
      async () => {
        const { status, body } = await get<ClusterBody>(`/api/v1/clusters/${id}`);
        return status === 200 && events.every((event) => body.history.some((line) => line.eventId === event.id)) ? body : undefined;
      },
      15_000,
      `${id} with ${events.length} events in its history`,
    );

  it('a registration shows a connected cluster, Importing, reached through the tunnel and waiting for its agent', async () => {
    const edge = registered('edge-wait', 1);
    await publish(edge.issued);
    const cluster = await clusterWith('edge-wait', [edge.issued]);
    assert.deepEqual(
      { name: cluster.name, model: cluster.model, labels: cluster.labels, status: cluster.status, access: cluster.access, tunnel: cluster.tunnel },
      { name: 'edge-wait', model: 'connected', labels: LABELS, status: 'Importing', access: 'tunnel', tunnel: null },
    );
    assert.deepEqual(
      cluster.pendingRequests.map((request) => [request.eventId, request.type, request.registrationId]),
      [[edge.issued.id, 'TunnelRegistrationIssued', registrationIdOf(1)]],
    );
    assert.match(cluster.pendingRequests[0]!.summary, /waiting for its tunnel agent to enroll and connect/);
    assert.match(cluster.history[0]!.summary, /^TunnelRegistrationIssued: "edge-wait", registration 6f1c2a8e-/);
  });

  it('TunnelConnected first, then the rest in reverse: imported, named, labelled, connected', async () => {
    const edge = registered('edge-reverse', 2);
    await publish(edge.connected);
    const first = await clusterWith('edge-reverse', [edge.connected]);
    assert.deepEqual([first.name, first.status, first.tunnel, first.access], [null, 'Importing', 'connected', 'tunnel'], 'known at once, not dropped');
    const rest = [edge.imported, edge.asked, edge.redeemed, edge.issued];
    await publish(...rest);
    const cluster = await clusterWith('edge-reverse', rest);
    assert.deepEqual(
      { name: cluster.name, labels: cluster.labels, status: cluster.status, access: cluster.access, tunnel: cluster.tunnel, pending: cluster.pendingRequests },
      { name: 'edge-reverse', labels: LABELS, status: 'Running', access: 'tunnel', tunnel: 'connected', pending: [] },
    );
  });

  it('ClusterImported before TunnelConnected, and the tunnel facts in the order they happened', async () => {
    const edge = registered('edge-late', 3);
    await publish(edge.issued, edge.redeemed, edge.asked, edge.imported);
    const imported = await clusterWith('edge-late', [edge.imported]);
    assert.deepEqual([imported.status, imported.tunnel, imported.access], ['Running', null, 'tunnel']);
    await publish(edge.connected);
    assert.equal((await clusterWith('edge-late', [edge.connected])).tunnel, 'connected');
    // Down at 6 s, up at 5 s reported after it: the tunnel is down.
    const down = edge.disconnected(6);
    const lateUp = edge.reconnected(5);
    await publish(down, lateUp);
    const cluster = await clusterWith('edge-late', [down, lateUp]);
    assert.equal(cluster.tunnel, 'disconnected');
    assert.equal(cluster.status, 'Running');
  });

  it('a registration revoked before its agent enrolled leaves its cluster Rejected, whichever arrives first', async () => {
    for (const [id, index, order] of [
      ['edge-revoked', 4, 'in order'],
      ['edge-revoked-first', 5, 'revocation first'],
    ] as const) {
      const edge = registered(id, index);
      const events = order === 'in order' ? [edge.issued, edge.revoked] : [edge.revoked, edge.issued];
      await publish(...events);
      const cluster = await clusterWith(id, events);
      assert.equal(cluster.status, 'Rejected', order);
      assert.deepEqual(cluster.reasons.map((reason) => reason.code), ['registration-revoked'], order);
      assert.deepEqual(cluster.pendingRequests, [], order);
      assert.deepEqual(
        [cluster.lastRefusal?.eventId, cluster.lastRefusal?.type, cluster.lastRefusal?.requestEventId, cluster.lastRefusal?.requestType],
        [edge.revoked.id, 'TunnelRegistrationRevoked', edge.issued.id, 'TunnelRegistrationIssued'],
        order,
      );
    }
  });

  it('a registration naming a cluster that exists changes nothing but its history', async () => {
    const created = await fetch(`${service.url}/api/v1/clusters`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'made-here', name: 'made-here', labels: { team: 'b' }, model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 1, machineSize: 'small' } }),
    });
    assert.equal(created.status, 202);
    const made = await eventually(async () => {
      const { body } = await get<ClusterBody>('/api/v1/clusters/made-here');
      return body.history?.length === 1 ? body : undefined;
    });
    const issued = createEvent(TunnelRegistrationIssued, { subject: 'made-here', source: IMPORTER }, { registrationId: registrationIdOf(6), clusterName: 'made-here', tokenHash: 'd'.repeat(64), expiresAt: new Date(Date.now() + 3_600_000).toISOString(), labels: { team: 'a' } });
    await publish(issued);
    const after = await clusterWith('made-here', [issued]);
    assert.deepEqual(
      { name: after.name, model: after.model, labels: after.labels, status: after.status, access: after.access, pending: after.pendingRequests.map((request) => request.type) },
      { name: made.name, model: 'platform-provisioned', labels: { team: 'b' }, status: made.status, access: 'direct', pending: made.pendingRequests.map((request) => request.type) },
    );
  });

  it('the list says how each cluster is reached, filters by access, and scoped callers see registered clusters by their labels', async () => {
    const page = await get<{ items: { id: string; access: string | null; tunnel: string | null }[]; total: number }>('/api/v1/clusters?access=tunnel&limit=500');
    assert.equal(page.status, 200);
    const ids = page.body.items.map((item) => item.id);
    assert.deepEqual(ids, ['edge-late', 'edge-reverse', 'edge-revoked', 'edge-revoked-first', 'edge-wait']);
    assert.deepEqual(
      page.body.items.map((item) => [item.id, item.tunnel]),
      [
        ['edge-late', 'disconnected'],
        ['edge-reverse', 'connected'],
        ['edge-revoked', null],
        ['edge-revoked-first', null],
        ['edge-wait', null],
      ],
    );
    assert.deepEqual(
      (await get<{ items: { id: string }[] }>('/api/v1/clusters?access=direct')).body.items.map((item) => item.id),
      ['made-here'],
    );
    assert.equal((await get('/api/v1/clusters?access=sideways')).status, 400);

    const team = await service.auth('viewer', { subject: 'edge-team', scope: { labels: LABELS } });
    const scoped = await get<{ items: { id: string }[] }>('/api/v1/clusters?access=tunnel', team);
    assert.deepEqual(scoped.body.items.map((item) => item.id), ids);
    assert.equal((await get('/api/v1/clusters/made-here', team)).status, 403);
  });
});
