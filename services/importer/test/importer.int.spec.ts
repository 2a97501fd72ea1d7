import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterImported,
  ClusterImportRequested,
  createEvent,
  EventRejected,
  eventsSubject,
  ImportRejected,
  TunnelConnected,
  type EventData,
} from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import type { ImporterConfig } from '../src/config.js';
import type { ConnectedClusterResource } from '../src/http/connected-clusters.controller.js';
import { ImporterModule } from '../src/importer.module.js';
import { importerService } from '../src/service.js';
import { ScriptedClusterProbe } from './support/scripted-probe.js';

const FAST = { IMPORT_POLL_INTERVAL_MS: '50' };
const external = (subject: string) => ({ subject, source: '/another-platform-service' });
const importRequest = (data: Partial<EventData<typeof ClusterImportRequested>> = {}) => ({
  name: 'edge',
  apiServer: 'https://edge.example:6443',
  credentialRef: 'edge-admin',
  provider: 'cncf' as const,
  ...data,
});

function client(service: TestService) {
  const api = (path: string, init?: RequestInit) => fetch(`${service.url}${path}`, init);
  return {
    api,
    post: (body: unknown) => api('/api/v1/imports', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    cluster: async (id: string) => {
      const response = await api(`/api/v1/connected-clusters/${id}`);
      return response.status === 200 ? ((await response.json()) as ConnectedClusterResource) : undefined;
    },
  };
}

describe('importer on real NATS and PostgreSQL (shipped wiring: credential table, no probe)', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let http: ReturnType<typeof client>;

  before(async () => {
    service = await startTestService(importerService, FAST);
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-int-test');
    http = client(service);
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('a ClusterImportRequested from the bus naming an unknown credential: ImportRejected credential-not-found, read model Rejected', async () => {
    const request = createEvent(ClusterImportRequested, external('edge-unknown-cred'), importRequest({ credentialRef: 'no-such-secret' }));
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterImportRequested.channel), request);

    const [rejected] = await eventually(async () => {
      const seen = await eventsOf(bus, prefix, ImportRejected, 'edge-unknown-cred');
      return seen.length > 0 ? seen : undefined;
    });
    assert.equal(rejected?.source, '/flotilla/importer');
    assert.deepEqual(rejected?.data.reasons.map((reason) => reason.code), ['credential-not-found']);
    assert.match(rejected?.data.reasons[0]?.message ?? '', /"no-such-secret"/);
    assert.equal(rejected?.data.reasons[0]?.field, 'credentialRef');

    const cluster = await http.cluster('edge-unknown-cred');
    assert.equal(cluster?.state, 'Rejected');
    assert.equal(cluster?.requestEventId, request.id);
    assert.deepEqual(cluster?.reasons.map((reason) => reason.code), ['credential-not-found']);
    assert.equal(cluster?.tunnel, null);
  });

  it('POST answers 400 naming every bad field', async () => {
    const response = await http.post({ id: 'Not A Label', name: '', apiServer: 'http://plain.example', provider: 'k8s' });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { errors: { field: string }[] };
    assert.deepEqual(body.errors.map((error) => error.field).sort(), ['apiServer', 'credentialRef', 'id', 'name', 'provider']);

    const noApiServer = await http.post({ name: 'edge', credentialRef: 'x', provider: 'cncf' });
    assert.equal(noApiServer.status, 400);
    assert.deepEqual(((await noApiServer.json()) as { errors: { field: string }[] }).errors.map((error) => error.field), ['apiServer']);
  });

  it('POST emits ClusterImportRequested (202), which the importer then judges like any other request', async () => {
    const response = await http.post({ id: 'edge-posted', ...importRequest({ credentialRef: 'never-registered' }) });
    assert.equal(response.status, 202);
    assert.deepEqual(await response.json(), { id: 'edge-posted', href: '/api/v1/connected-clusters/edge-posted' });

    const [requested] = await eventually(async () => {
      const seen = await eventsOf(bus, prefix, ClusterImportRequested, 'edge-posted');
      return seen.length > 0 ? seen : undefined;
    });
    assert.equal(requested?.source, '/flotilla/importer');
    assert.equal(requested?.data.credentialRef, 'never-registered');
    const cluster = await eventually(async () => ((await http.cluster('edge-posted'))?.state === 'Rejected' ? http.cluster('edge-posted') : undefined));
    assert.equal(cluster?.reasons[0]?.code, 'credential-not-found');
  });

  it('a known credential goes to the worker, which refuses honestly: no connectivity check exists yet', async () => {
    await service.app.get(DataSource).query(`INSERT INTO credentials (ref, kind) VALUES ('edge-known', 'bearer-token')`);
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterImportRequested.channel), createEvent(ClusterImportRequested, external('edge-known-cred'), importRequest({ credentialRef: 'edge-known' })));

    const [rejected] = await eventually(async () => {
      const seen = await eventsOf(bus, prefix, ImportRejected, 'edge-known-cred');
      return seen.length > 0 ? seen : undefined;
    });
    assert.deepEqual(rejected?.data.reasons.map((reason) => reason.code), ['probe-unavailable']);
    assert.match(rejected?.data.reasons[0]?.message ?? '', /not implemented/);
    const cluster = await http.cluster('edge-known-cred');
    assert.equal(cluster?.state, 'Rejected');
    assert.ok(cluster?.checkStartedAt, 'it went through Checking');
  });

  it('lists connected clusters, filtered by state; unknown ids are 404; bad queries 400', async () => {
    const page = (await (await http.api('/api/v1/connected-clusters?state=Rejected&limit=2')).json()) as { items: ConnectedClusterResource[]; total: number; nextCursor: string | null };
    assert.equal(page.items.length, 2);
    assert.ok(page.total >= 3);
    assert.ok(page.items.every((item) => item.state === 'Rejected'));
    assert.ok(page.nextCursor);
    assert.equal((await http.api('/api/v1/connected-clusters/nope')).status, 404);
    assert.equal((await http.api('/api/v1/connected-clusters?state=Sleeping')).status, 400);
  });

  it('serves health, readiness and the OpenAPI document', async () => {
    assert.equal((await http.api('/readyz')).status, 200);
    const openapi = (await (await http.api('/api/docs/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const path of ['/api/v1/imports', '/api/v1/connected-clusters', '/api/v1/connected-clusters/{id}']) assert.ok(openapi.paths[path], path);
  });
});

describe('importer import path with a scripted probe standing in for the Kubernetes API', () => {
  const probe = new ScriptedClusterProbe({
    'edge-ok': {
      ok: true,
      report: { version: 'v1.31.5-eks-113cf36', distribution: 'eks', nodes: [{ name: 'ip-10-0-0-1', role: 'worker', cpuCores: 4, memoryBytes: 16e9 }] },
    },
    'edge-old': { ok: true, report: { version: 'v1.18.20', distribution: 'vanilla', nodes: [] } },
  });
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let http: ReturnType<typeof client>;

  before(async () => {
    service = await startTestService({ ...importerService, module: (config: ImporterConfig) => ImporterModule.register(config, { probe }) }, FAST);
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-int-test-scripted');
    http = client(service);
    await service.app.get(DataSource).query(`INSERT INTO credentials (ref, kind, expires_at) VALUES ('edge-admin', 'bearer-token', now() + interval '30 days')`);
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('a cluster in the third-party range is imported, with warnings; a second import of it is refused', async () => {
    assert.equal((await http.post({ id: 'edge-ok', ...importRequest({ provider: 'eks' }) })).status, 202);
    const [imported] = await eventually(async () => {
      const seen = await eventsOf(bus, prefix, ClusterImported, 'edge-ok');
      return seen.length > 0 ? seen : undefined;
    });
    assert.equal(imported?.data.kubernetesVersion, 'v1.31.5-eks-113cf36');
    assert.equal(imported?.data.distribution, 'eks');
    assert.deepEqual(imported?.data.warnings.map((warning) => warning.code).sort(), ['credential-expires', 'onboard-unvalidated']);
    assert.equal(probe.asked.find((target) => target.clusterId === 'edge-ok')?.apiServer, 'https://edge.example:6443');

    const cluster = await eventually(async () => ((await http.cluster('edge-ok'))?.state === 'Imported' ? http.cluster('edge-ok') : undefined));
    assert.equal(cluster?.kubernetesVersion, 'v1.31.5-eks-113cf36');
    assert.equal(cluster?.nodeCount, 1);

    assert.equal((await http.post({ id: 'edge-ok', ...importRequest() })).status, 409);
    // Past the API, straight on the bus: dead-lettered with the reason, the cluster untouched.
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterImportRequested.channel), createEvent(ClusterImportRequested, external('edge-ok'), importRequest()));
    const [refused] = await eventually(async () => {
      const seen = await eventsOf(bus, prefix, EventRejected, 'edge-ok');
      return seen.length > 0 ? seen : undefined;
    });
    assert.match(refused?.data.reason ?? '', /already-imported/);
    assert.equal((await http.cluster('edge-ok'))?.state, 'Imported');
  });

  it('a cluster outside the range is rejected by the onboarding policy, the reason naming its version', async () => {
    assert.equal((await http.post({ id: 'edge-old', ...importRequest() })).status, 202);
    const cluster = await eventually(async () => ((await http.cluster('edge-old'))?.state === 'Rejected' ? http.cluster('edge-old') : undefined));
    assert.equal(cluster?.reasons[0]?.code, 'onboard-out-of-range');
    const [rejected] = await eventsOf(bus, prefix, ImportRejected, 'edge-old');
    assert.match(rejected?.data.reasons[0]?.message ?? '', /1\.18\.20/);
  });

  it('follows the tunnel of a cluster, and forgets a deleted cluster', async () => {
    await publishEvent(bus.js, eventsSubject({ prefix }, TunnelConnected.channel), createEvent(TunnelConnected, { subject: 'edge-ok', source: '/flotilla/tunnel-broker' }, { agentId: 'agent-1', agentVersion: '0.1.0' }));
    const linked = await eventually(async () => ((await http.cluster('edge-ok'))?.tunnel?.state === 'connected' ? http.cluster('edge-ok') : undefined));
    assert.equal(linked?.tunnel?.agentId, 'agent-1');

    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterDeleted.channel), createEvent(ClusterDeleted, external('edge-ok'), { model: 'connected' }));
    await eventually(async () => ((await http.api('/api/v1/connected-clusters/edge-ok')).status === 404 ? true : undefined));
    // Deleted, the id is free again.
    assert.equal((await http.post({ id: 'edge-ok', ...importRequest() })).status, 202);
  });
});
