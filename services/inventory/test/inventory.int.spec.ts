import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterReady, ClusterRequested, ClusterVersionChanged, createEvent, eventsSubject, findDefinition, NodesProvisioned, streamName } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { inventoryService } from '../src/service.js';

describe('inventory service on real NATS and PostgreSQL', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;

  before(async () => {
    service = await startTestService(inventoryService);
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'inventory-int-test');
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const api = (path: string, init: RequestInit = {}) => fetch(`${service.url}${path}`, { ...init, headers: { authorization: `Bearer ${service.adminToken}`, ...(init.headers as Record<string, string> | undefined) } });
  const post = (body: unknown) => api('/api/v1/clusters', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const valid = { name: 'prod', model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 3, machineSize: 'large' } };

  it('POST validates and answers 400 naming every bad field', async () => {
    const response = await post({ name: '', model: 'bare-metal', kubernetesVersion: 'latest', controlPlane: { count: 2 } });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { errors: { field: string }[] };
    const fields = body.errors.map((error) => error.field).sort();
    assert.deepEqual(fields, ['controlPlane.count', 'controlPlane.machineSize', 'kubernetesVersion', 'model', 'name']);
  });

  it('POST emits ClusterRequested (202 with the id), and refuses a taken id with 409', async () => {
    const response = await post({ ...valid, id: 'api-made' });
    assert.equal(response.status, 202);
    assert.deepEqual(await response.json(), { id: 'api-made', status: 'Pending', href: '/api/v1/clusters/api-made' });
    assert.equal((await post({ ...valid, id: 'api-made' })).status, 409);

    const subject = eventsSubject({ prefix }, ClusterRequested.channel);
    const stored = await eventually(async () => {
      const info = await bus.jsm.streams.info(streamName({ prefix }, 'events'));
      return info.state.messages > 0 ? bus.jsm.streams.getMessage(streamName({ prefix }, 'events'), { last_by_subj: subject }) : undefined;
    });
    assert.equal(stored?.header?.get('ce-subject'), 'api-made');
    assert.equal(stored?.header?.get('ce-source'), '/flotilla/inventory');
  });

  it('projects events published by anyone into the read model, with history and trace ids', async () => {
    const meta = { subject: 'outside-1', source: '/another-platform-service' };
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterRequested.channel), createEvent(ClusterRequested, meta, { ...valid, nodePools: [], network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' } } as never));
    await publishEvent(bus.js, eventsSubject({ prefix }, NodesProvisioned.channel), createEvent(NodesProvisioned, meta, { model: 'platform-provisioned', nodes: [{ name: 'outside-1-cp-0', role: 'control-plane', addresses: [] }] }));
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterReady.channel), createEvent(ClusterReady, meta, { model: 'platform-provisioned', kubernetesVersion: '1.34.2', nodeCount: 1 }));

    const cluster = await eventually(async () => {
      const body = (await (await api('/api/v1/clusters/outside-1')).json()) as { status?: string; nodes?: unknown[]; history?: { type: string; time: string; traceId: string | null }[] };
      return body.status === 'Running' && body.history?.length === 3 ? body : undefined;
    });
    assert.equal(cluster.nodes?.length, 1);
    // Newest first.
    assert.deepEqual(cluster.history?.map((entry) => entry.type).sort(), [ClusterRequested.type, NodesProvisioned.type, ClusterReady.type].sort());
    const times = cluster.history?.map((entry) => Date.parse(entry.time)) ?? [];
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    assert.ok(cluster.history?.every((entry) => entry.traceId === null || /^[0-9a-f]{32}$/.test(entry.traceId)));
    assert.equal((await api('/api/v1/clusters/nope')).status, 404);
  });

  it("pages a cluster's history from newest to oldest, by cursor", async () => {
    const meta = (second: number) => ({ subject: 'history-1', source: '/tests', time: new Date(Date.UTC(2026, 10, 23, 12, 0, second)) });
    const events = [
      createEvent(ClusterRequested, meta(0), { ...valid, nodePools: [], network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' } } as never),
      createEvent(NodesProvisioned, meta(1), { model: 'platform-provisioned', nodes: [{ name: 'history-1-cp-0', role: 'control-plane', addresses: [] }] }),
      createEvent(ClusterReady, meta(2), { model: 'platform-provisioned', kubernetesVersion: '1.34.2', nodeCount: 1 }),
      // Two at the same instant: the event id orders them, and no page skips or repeats one.
      ...['1.34.3', '1.34.4'].map((version) => createEvent(ClusterVersionChanged, meta(3), { previousVersion: '1.34.2', kubernetesVersion: version })),
      createEvent(ClusterVersionChanged, meta(4), { previousVersion: '1.34.4', kubernetesVersion: '1.34.5' }),
    ];
    for (const event of events) await publishEvent(bus.js, eventsSubject({ prefix }, findDefinition(event.type)!.channel), event);
    await eventually(async () => {
      const body = (await (await api('/api/v1/clusters/history-1/history?limit=500')).json()) as { items?: unknown[] };
      return body.items?.length === events.length ? true : undefined;
    });

    const seen: { eventId: string; time: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await api(`/api/v1/clusters/history-1/history?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(response.status, 200);
      const page = (await response.json()) as { items: { eventId: string; time: string }[]; nextCursor: string | null };
      assert.ok(page.items.length <= 2);
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(pages, 3);
    const expected = [...events].sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || (a.id < b.id ? 1 : -1));
    assert.deepEqual(
      seen.map((entry) => entry.eventId),
      expected.map((event) => event.id),
    );
    const one = (await (await api('/api/v1/clusters/history-1')).json()) as { history: { eventId: string }[]; historyNextCursor: string | null };
    assert.equal(one.history[0]?.eventId, expected[0]?.id, 'the cluster shows its newest events first');

    const bad = await api('/api/v1/clusters/history-1/history?cursor=not-a-cursor');
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(await bad.json()), /cursor/);
    assert.equal((await api('/api/v1/clusters/history-1/history?limit=0')).status, 400);
    assert.equal((await api('/api/v1/clusters/nobody/history')).status, 404);
  });

  it('lists the fleet filtered by model and status, a page at a time', async () => {
    for (const id of ['page-a', 'page-b', 'page-c']) assert.equal((await post({ ...valid, id })).status, 202);
    const first = (await (await api('/api/v1/clusters?status=Pending&limit=2')).json()) as { items: { id: string; status: string }[]; total: number; nextCursor: string | null };
    assert.equal(first.items.length, 2);
    assert.ok(first.items.every((item) => item.status === 'Pending'));
    assert.ok(first.nextCursor);
    const second = (await (await api(`/api/v1/clusters?status=Pending&limit=2&cursor=${first.nextCursor}`)).json()) as { items: { id: string }[] };
    const seen = new Set([...first.items, ...second.items].map((item) => item.id));
    assert.equal(seen.size, first.items.length + second.items.length, 'pages do not overlap');
    assert.equal((await api('/api/v1/clusters?model=connected')).status, 200);
    assert.equal((await api('/api/v1/clusters?status=Sleeping')).status, 400);
    assert.equal((await api('/api/v1/clusters?limit=0')).status, 400);
  });

  it('serves health, readiness, metrics and the OpenAPI document', async () => {
    assert.equal((await api('/healthz')).status, 200);
    assert.equal((await api('/readyz')).status, 200);
    const metrics = await (await api('/metrics')).text();
    for (const name of ['flotilla_events_consumed_total', 'flotilla_outbox_backlog', 'flotilla_event_handler_duration_seconds']) assert.match(metrics, new RegExp(name));
    const openapi = (await (await api('/api/docs/openapi.json')).json()) as { paths: Record<string, unknown> };
    assert.ok(openapi.paths['/api/v1/clusters']);
  });
});
