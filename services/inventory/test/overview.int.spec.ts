import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterImported,
  ClusterImportRequested,
  ClusterProvisioningFailed,
  ClusterReachable,
  ClusterReady,
  ClusterRequested,
  ClusterUnreachable,
  createEvent,
  eventsSubject,
  findDefinition,
  NodesProvisioned,
  TunnelConnected,
  TunnelDisconnected,
  TunnelRegistrationIssued,
  type CloudEvent,
} from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import type { FleetOverview } from '../src/domain/fleet-overview.js';
import { FleetCounts } from '../src/repositories/fleet-counts.js';
import { inventoryService } from '../src/service.js';

const PROVISIONER = '/flotilla/provisioner';
const IMPORTER = '/flotilla/importer';
const BROKER = '/flotilla/tunnel-broker';
const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, second));
const meta = (subject: string, second: number, source = PROVISIONER) => ({ subject, source, time: at(second) });

/** A platform cluster's request on an infrastructure provider. */
const requested = (id: string, second: number, version: string, labels: Record<string, string>) =>
  createEvent(ClusterRequested, meta(id, second, '/flotilla/inventory'), {
    name: id,
    model: 'platform-provisioned',
    kubernetesVersion: version,
    labels,
    controlPlane: { count: 1, machineSize: 'large' },
    nodePools: [],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    infrastructure: { provider: 'sim', parameters: {} },
  } as never);

/**
 * The fleet of these tests, team a and team b:
 * - ov-run-a: platform, sim, Running on 1.34.2 with 2 nodes;
 * - ov-fail-b: platform, sim, 1.33 requested, provisioning failed (failed, and refused: nothing since);
 * - ov-edge-a: registered behind a firewall, its tunnel connected then down (tunnel-disconnected);
 * - ov-unreach-b: imported from EKS on 1.32.1, then unreachable;
 * - ov-del-a: requested then deleted (counted in byStatus only).
 */
function fleet(): CloudEvent[] {
  return [
    requested('ov-run-a', 0, '1.34', { team: 'a' }),
    createEvent(NodesProvisioned, meta('ov-run-a', 1), {
      model: 'platform-provisioned',
      nodes: ['ov-run-a-cp-0', 'ov-run-a-w-0'].map((name, index) => ({ name, role: index === 0 ? ('control-plane' as const) : ('worker' as const), addresses: [] })),
    }),
    createEvent(ClusterReady, meta('ov-run-a', 2), { model: 'platform-provisioned', kubernetesVersion: '1.34.2', nodeCount: 2 }),

    requested('ov-fail-b', 0, '1.33', { team: 'b' }),
    createEvent(ClusterProvisioningFailed, meta('ov-fail-b', 1), { model: 'platform-provisioned', reasons: [{ code: 'quota-exceeded', message: 'the sim provider has no more machines' }] }),

    createEvent(TunnelRegistrationIssued, meta('ov-edge-a', 0, IMPORTER), {
      registrationId: '6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a01',
      clusterName: 'edge a',
      tokenHash: 'c'.repeat(64),
      expiresAt: at(3600).toISOString(),
      labels: { team: 'a' },
    }),
    createEvent(TunnelConnected, meta('ov-edge-a', 1, BROKER), { agentId: 'agent-edge-a' }),
    createEvent(TunnelDisconnected, meta('ov-edge-a', 2, BROKER), { agentId: 'agent-edge-a', reason: 'agent closed the connection' }),

    createEvent(ClusterImportRequested, meta('ov-unreach-b', 0, IMPORTER), {
      name: 'unreach b',
      credentialRef: 'aws-account',
      provider: 'eks',
      cloud: { clusterName: 'unreach-b', region: 'eu-west-1' },
      labels: { team: 'b' },
    }),
    createEvent(ClusterImported, meta('ov-unreach-b', 1, IMPORTER), { name: 'unreach b', distribution: 'eks', kubernetesVersion: '1.32.1', nodeCount: 3, capacity: { cpuCores: 6, memoryBytes: 12e9 }, warnings: [] }),
    createEvent(ClusterUnreachable, meta('ov-unreach-b', 2, IMPORTER), { reason: { code: 'api-timeout', message: 'the API server did not answer' }, since: at(1).toISOString() }),

    requested('ov-del-a', 0, '1.34', { team: 'a' }),
    createEvent(ClusterDeleted, meta('ov-del-a', 1), { model: 'platform-provisioned' }),
  ];
}

describe('inventory: the fleet overview', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;

  before(async () => {
    service = await startTestService(inventoryService);
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'inventory-overview-test');
    for (const event of fleet()) await publishEvent(bus.js, eventsSubject({ prefix }, findDefinition(event.type)!.channel), event);
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const overview = async (headers: Record<string, string>) => {
    const response = await fetch(`${service.url}/api/v1/overview`, { headers });
    assert.equal(response.status, 200);
    return (await response.json()) as FleetOverview;
  };
  /** The overview once every event is projected (the last ones make ov-unreach-b unreachable and ov-del-a deleted). */
  const settled = async (headers: Record<string, string>, ready: (body: FleetOverview) => boolean) =>
    eventually(async () => {
      const body = await overview(headers);
      return ready(body) ? body : undefined;
    });

  it('counts the fleet by model, status, provider, minor, access and tunnel, with nodes and the clusters needing action', async () => {
    const body = await settled(await service.auth('viewer'), (candidate) => candidate.byStatus.Deleted === 1 && candidate.needsAction.total === 3 && candidate.nodes.total === 2);
    assert.equal(body.clusters, 4);
    assert.deepEqual(body.byModel, { 'platform-provisioned': 2, 'user-provisioned': 0, 'hosted-control-plane': 0, connected: 2, 'public-cloud': 0, unknown: 0 });
    assert.deepEqual(body.byStatus, { Pending: 0, Provisioning: 0, Running: 2, Failed: 1, Importing: 1, Rejected: 0, Deleted: 1 });
    assert.deepEqual(body.byProvider, { sim: 2, cncf: 1, eks: 1 });
    assert.deepEqual(body.byKubernetesVersion, { '1.34': 1, '1.33': 1, '1.32': 1, unknown: 1 });
    assert.deepEqual(body.byAccess, { direct: 3, tunnel: 1, unknown: 0 });
    assert.deepEqual(body.byTunnel, { connected: 0, disconnected: 1, 'never-connected': 0 });
    assert.deepEqual(body.nodes, { total: 2, ready: 2 });
    assert.equal(body.needsAction.total, 3);
    assert.deepEqual(body.needsAction.byReason, { failed: 1, unreachable: 1, refused: 1, 'tunnel-disconnected': 1 });
    assert.deepEqual(body.needsAction.clusters, [
      { id: 'ov-edge-a', name: 'edge a', status: 'Importing', reasons: ['tunnel-disconnected'], message: null },
      { id: 'ov-fail-b', name: 'ov-fail-b', status: 'Failed', reasons: ['failed', 'refused'], message: 'the sim provider has no more machines' },
      { id: 'ov-unreach-b', name: 'unreach b', status: 'Running', reasons: ['unreachable'], message: null },
    ]);
  });

  it('gives a label-scoped caller the counts of its scope only', async () => {
    const teamA = await service.auth('viewer', { subject: 'team-a', scope: { labels: { team: 'a' } } });
    const body = await settled(teamA, (candidate) => candidate.byStatus.Deleted === 1);
    assert.equal(body.clusters, 2);
    assert.deepEqual(body.byStatus, { Pending: 0, Provisioning: 0, Running: 1, Failed: 0, Importing: 1, Rejected: 0, Deleted: 1 });
    assert.deepEqual(body.byProvider, { sim: 1, cncf: 1 });
    assert.deepEqual(body.nodes, { total: 2, ready: 2 });
    assert.deepEqual(
      body.needsAction.clusters.map((cluster) => cluster.id),
      ['ov-edge-a'],
    );
    const nobody = await overview(await service.auth('viewer', { subject: 'team-c', scope: { labels: { team: 'c' } } }));
    assert.equal(nobody.clusters, 0);
    assert.equal(nobody.byStatus.Deleted, 0);
    assert.deepEqual(nobody.needsAction, { total: 0, byReason: { failed: 0, unreachable: 0, refused: 0, 'tunnel-disconnected': 0 }, clusters: [] });
  });

  it('follows the fleet as it changes: a cluster reachable again needs no action', async () => {
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterReachable.channel), createEvent(ClusterReachable, meta('ov-unreach-b', 3, IMPORTER), { since: at(3).toISOString() }));
    const body = await settled(await service.auth('viewer'), (candidate) => candidate.needsAction.total === 2);
    assert.deepEqual(body.needsAction.byReason, { failed: 1, unreachable: 0, refused: 1, 'tunnel-disconnected': 1 });
    assert.deepEqual(
      body.needsAction.clusters.map((cluster) => cluster.id),
      ['ov-edge-a', 'ov-fail-b'],
    );
    assert.equal(body.clusters, 4);
  });

  it('keeps its counts equal to the clusters themselves, before and after the changes are folded in', async () => {
    const viewer = await service.auth('viewer');
    const counted = async () => {
      const body = await overview(viewer);
      return { clusters: body.clusters, byStatus: body.byStatus, byModel: body.byModel, nodes: body.nodes, needsAction: body.needsAction.total };
    };
    const fromTable = async () => {
      const db = service.app.get(DataSource);
      const [row] = await db.query<{ live: number; deleted: number; nodes: number; ready: number; needing: number }[]>(
        `SELECT count(*) FILTER (WHERE status <> 'Deleted')::int AS live, count(*) FILTER (WHERE status = 'Deleted')::int AS deleted,
                coalesce(sum(node_count) FILTER (WHERE status <> 'Deleted'), 0)::int AS nodes, coalesce(sum(nodes_ready) FILTER (WHERE status <> 'Deleted'), 0)::int AS ready,
                count(*) FILTER (WHERE attention <> '{}')::int AS needing FROM clusters`,
      );
      return row!;
    };
    // More clusters, then changes to them: inserts and updates both move the counts.
    for (const id of ['ov-more-1', 'ov-more-2', 'ov-more-3']) await publishEvent(bus.js, eventsSubject({ prefix }, ClusterRequested.channel), requested(id, 10, '1.34', { team: 'b' }));
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterProvisioningFailed.channel), createEvent(ClusterProvisioningFailed, meta('ov-more-2', 11), { model: 'platform-provisioned', reasons: [{ code: 'quota-exceeded', message: 'none left' }] }));
    const settledCounts = await eventually(async () => {
      const now = await counted();
      return now.clusters === 7 && now.needsAction === 3 ? now : undefined;
    });
    const table = await fromTable();
    assert.deepEqual([settledCounts.clusters, settledCounts.byStatus.Deleted, settledCounts.nodes.total, settledCounts.nodes.ready, settledCounts.needsAction], [table.live, table.deleted, table.nodes, table.ready, table.needing]);
    await service.app.get(FleetCounts).compact();
    const [pending] = await service.app.get(DataSource).query<{ changes: number }[]>(`SELECT count(*)::int AS changes FROM cluster_count_changes`);
    assert.equal(pending?.changes, 0, 'every change folded in');
    assert.deepEqual(await counted(), settledCounts);
  });

  it('needs a token', async () => {
    assert.equal((await fetch(`${service.url}/api/v1/overview`)).status, 401);
  });
});
