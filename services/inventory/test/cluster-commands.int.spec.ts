import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterDeletionRequested,
  ClusterImported,
  ClusterImportRequested,
  ClusterRequested,
  createEvent,
  EventRejected,
  eventsSubject,
  NodePoolScaleRequested,
  SUPPORT_MATRIX_DOCUMENT,
  UpgradeStepApproved,
  type EventData,
  type EventDefinition,
} from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { inventoryService } from '../src/service.js';

interface Accepted {
  eventId: string;
  clusterId: string;
  href: string;
}

describe("inventory: operators' commands about a cluster, on real NATS and PostgreSQL", () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;

  before(async () => {
    service = await startTestService(inventoryService);
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'inventory-commands-int-test');
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const api = (path: string, method: string, body?: unknown) =>
    fetch(`${service.url}${path}`, { method, headers: { authorization: `Bearer ${service.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const createCluster = async (id: string) => {
    const spec = { id, name: id, model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 1, machineSize: 'small' }, nodePools: [{ name: 'workers', count: 2, machineSize: 'small' }] };
    assert.equal((await api('/api/v1/clusters', 'POST', spec)).status, 202);
  };
  const accepted = async (response: Response, clusterId: string): Promise<Accepted> => {
    assert.equal(response.status, 202, await response.clone().text());
    const body = (await response.json()) as Accepted;
    assert.equal(body.clusterId, clusterId);
    assert.equal(body.href, `/api/v1/clusters/${clusterId}`);
    assert.match(body.eventId, /^[0-9a-f-]{36}$/);
    return body;
  };
  /** The event the inventory published on the bus with that id. */
  const published = <D extends EventDefinition>(definition: D, eventId: string) =>
    eventually(async () => (await eventsOf(bus, prefix, definition)).find((event) => event.id === eventId), 10_000, `${definition.name} ${eventId} on the bus`);
  const fieldsOf = async (response: Response) => {
    assert.equal(response.status, 400);
    return ((await response.json()) as { errors: { field: string }[] }).errors.map((error) => error.field).sort();
  };

  it('scale publishes NodePoolScaleRequested about the cluster, with the pool from the path', async () => {
    await createCluster('scale-me');
    const hosts = [{ address: '10.0.0.7', user: 'core', sshKeyRef: 'ops-key', role: 'worker', pool: 'workers' }];
    const { eventId } = await accepted(await api('/api/v1/clusters/scale-me/node-pools/workers/scale', 'POST', { count: 3, hosts }), 'scale-me');
    const event = await published(NodePoolScaleRequested, eventId);
    assert.equal(event.subject, 'scale-me');
    assert.equal(event.source, '/flotilla/inventory');
    assert.deepEqual(event.data, { pool: 'workers', count: 3, hosts: [{ ...hosts[0], port: 22 }] });
  });

  it('upgrade publishes UpgradeStepApproved about the cluster', async () => {
    await createCluster('upgrade-me');
    const { eventId } = await accepted(await api('/api/v1/clusters/upgrade-me/upgrades', 'POST', { planId: 'plan-7', toVersion: 'v1.34.2' }), 'upgrade-me');
    const event = await published(UpgradeStepApproved, eventId);
    assert.equal(event.subject, 'upgrade-me');
    assert.deepEqual(event.data, { planId: 'plan-7', toVersion: 'v1.34.2' });
  });

  it('an upgrade step the policy in force refuses is a 400 naming toVersion and each rule, not a 202', async () => {
    await createCluster('skip-me');
    const response = await api('/api/v1/clusters/skip-me/upgrades', 'POST', { planId: 'plan-9', toVersion: '1.36' });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { errors: { field: string; code: string; release: string; policyRevision: string }[] };
    assert.deepEqual(
      body.errors.map((error) => [error.field, error.code, error.release, error.policyRevision]),
      [
        ['toVersion', 'control-plane-skips-minor', '4.3', SUPPORT_MATRIX_DOCUMENT.revision],
        ['toVersion', 'incompatible', '4.3', SUPPORT_MATRIX_DOCUMENT.revision],
      ],
    );
    assert.equal((await eventsOf(bus, prefix, UpgradeStepApproved, 'skip-me')).length, 0);
  });

  it('delete publishes ClusterDeletionRequested with the reason from the body or the query, and then refuses more commands with 409', async () => {
    await createCluster('delete-body');
    const fromBody = await accepted(await api('/api/v1/clusters/delete-body', 'DELETE', { reason: 'decommissioned' }), 'delete-body');
    const event = await published(ClusterDeletionRequested, fromBody.eventId);
    assert.equal(event.subject, 'delete-body');
    assert.deepEqual(event.data, { reason: 'decommissioned' });

    await createCluster('delete-query');
    const fromQuery = await accepted(await api('/api/v1/clusters/delete-query?reason=moved%20to%20eu', 'DELETE'), 'delete-query');
    assert.deepEqual((await published(ClusterDeletionRequested, fromQuery.eventId)).data, { reason: 'moved to eu' });

    await createCluster('delete-bare');
    const bare = await accepted(await api('/api/v1/clusters/delete-bare', 'DELETE'), 'delete-bare');
    assert.deepEqual((await published(ClusterDeletionRequested, bare.eventId)).data, {});

    // Once the inventory has projected its own request, the cluster is on its way out.
    await eventually(async () => {
      const cluster = (await (await api('/api/v1/clusters/delete-body', 'GET')).json()) as { history: { eventId: string }[] };
      return cluster.history.some((entry) => entry.eventId === fromBody.eventId) || undefined;
    });
    const again = await api('/api/v1/clusters/delete-body', 'DELETE');
    assert.equal(again.status, 409);
    assert.match(((await again.json()) as { message: string }).message, /"delete-body" is being deleted/);
    assert.equal((await api('/api/v1/clusters/delete-body/node-pools/workers/scale', 'POST', { count: 1 })).status, 409);
    assert.equal((await api('/api/v1/clusters/delete-body/upgrades', 'POST', { planId: 'p', toVersion: '1.34' })).status, 409);
  });

  it('refuses every command about a cluster the read model shows Deleted with 409, and publishes nothing', async () => {
    await createCluster('gone');
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterDeleted.channel), createEvent(ClusterDeleted, { subject: 'gone', source: '/flotilla/provisioner' }, { model: 'platform-provisioned' }));
    await eventually(async () => ((await (await api('/api/v1/clusters/gone', 'GET')).json()) as { status: string }).status === 'Deleted' || undefined);

    const responses = [
      await api('/api/v1/clusters/gone/node-pools/workers/scale', 'POST', { count: 4 }),
      await api('/api/v1/clusters/gone', 'DELETE'),
      await api('/api/v1/clusters/gone/upgrades', 'POST', { planId: 'plan-1', toVersion: '1.34' }),
    ];
    for (const response of responses) {
      assert.equal(response.status, 409);
      assert.match(((await response.json()) as { message: string }).message, /"gone" is deleted/);
    }
    for (const definition of [NodePoolScaleRequested, ClusterDeletionRequested, UpgradeStepApproved]) assert.deepEqual(await eventsOf(bus, prefix, definition, 'gone'), []);
  });

  it('a connected cluster removed and imported again under its id takes a deletion request again; a refused deletion leaves it open to commands', async () => {
    const emit = <D extends EventDefinition>(definition: D, source: string, data: EventData<D>) =>
      publishEvent(bus.js, eventsSubject({ prefix }, definition.channel), createEvent(definition, { subject: 'comes-back', source }, data));
    const statusOf = async () => (await (await api('/api/v1/clusters/comes-back', 'GET')).json()) as { status: string; pendingRequests: unknown[]; lastRefusal: { source: string } | null };
    const importIt = async (version: string) => {
      await emit(ClusterImportRequested, '/flotilla/importer', { name: 'comes-back', apiServer: 'https://comes-back.example:6443', credentialRef: 'comes-back-admin', provider: 'cncf' });
      await emit(ClusterImported, '/flotilla/importer', { name: 'comes-back', distribution: 'vanilla', kubernetesVersion: version, nodeCount: 1, capacity: { cpuCores: 2, memoryBytes: 4e9 }, warnings: [] });
      await eventually(async () => ((await statusOf()).status === 'Running' ? true : undefined));
    };
    await importIt('v1.31.4');
    await accepted(await api('/api/v1/clusters/comes-back', 'DELETE'), 'comes-back');
    await eventually(async () => ((await statusOf()).pendingRequests.length === 1 ? true : undefined), 10_000, 'the deletion request pending');
    assert.equal((await api('/api/v1/clusters/comes-back', 'DELETE')).status, 409, 'being deleted');
    await emit(ClusterDeleted, '/flotilla/importer', { model: 'connected' });
    await eventually(async () => ((await statusOf()).status === 'Deleted' ? true : undefined));

    await importIt('v1.31.5');
    const second = await accepted(await api('/api/v1/clusters/comes-back', 'DELETE'), 'comes-back');
    await eventually(async () => ((await statusOf()).pendingRequests.length === 1 ? true : undefined), 10_000, 'the second deletion request pending');
    // The importer no longer holds it (say): its refusal ends the request, and the cluster takes commands again.
    await publishEvent(
      bus.js,
      eventsSubject({ prefix }, EventRejected.channel),
      createEvent(EventRejected, { subject: 'comes-back', source: '/flotilla/importer' }, {
        rejectedEventId: second.eventId,
        rejectedType: ClusterDeletionRequested.type,
        rejectedSubject: 'comes-back',
        code: 'handler-rejected',
        reason: 'cluster-not-held: the importer holds no connected cluster "comes-back"',
        consumer: 'importer__cluster_deletion-requested_v1',
        deadLetterSubject: 'dlq',
      }),
    );
    await eventually(async () => ((await statusOf()).lastRefusal?.source === '/flotilla/importer' ? true : undefined), 10_000, 'the refusal shown');
    assert.deepEqual((await statusOf()).pendingRequests, []);
    await accepted(await api('/api/v1/clusters/comes-back', 'DELETE'), 'comes-back');
  });

  it('POST /api/v1/clusters with the id of a deleted cluster: 409 saying why and what to do', async () => {
    await createCluster('gone-for-good');
    await publishEvent(bus.js, eventsSubject({ prefix }, ClusterDeleted.channel), createEvent(ClusterDeleted, { subject: 'gone-for-good', source: '/flotilla/provisioner' }, { model: 'platform-provisioned' }));
    await eventually(async () => ((await (await api('/api/v1/clusters/gone-for-good', 'GET')).json()) as { status: string }).status === 'Deleted' || undefined);
    const spec = { id: 'gone-for-good', name: 'gone-for-good', model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 1, machineSize: 'small' }, nodePools: [] };
    const response = await api('/api/v1/clusters', 'POST', spec);
    assert.equal(response.status, 409);
    const body = (await response.json()) as { code: string; clusterId: string; status: string; message: string };
    assert.equal(body.code, 'cluster-id-deleted');
    assert.equal(body.status, 'Deleted');
    assert.match(body.message, /ids are never reused: the provisioner keeps the deleted cluster's record under it.*request the new cluster under another id/);
    assert.equal((await eventsOf(bus, prefix, ClusterRequested, 'gone-for-good')).length, 1, 'only the first request published');
  });

  it('answers 400 naming every bad field, and publishes nothing', async () => {
    await createCluster('strict');
    assert.deepEqual(await fieldsOf(await api('/api/v1/clusters/strict/node-pools/workers/scale', 'POST', { count: -1 })), ['count']);
    assert.deepEqual(await fieldsOf(await api('/api/v1/clusters/strict/node-pools/workers/scale', 'POST', { count: 2, hosts: [{ address: '10.0.0.9', user: 'core', role: 'boss' }] })), [
      'hosts.0.role',
      'hosts.0.sshKeyRef',
    ]);
    assert.deepEqual(await fieldsOf(await api('/api/v1/clusters/strict/upgrades', 'POST', { planId: '', toVersion: 'latest' })), ['planId', 'toVersion']);
    assert.deepEqual(await fieldsOf(await api('/api/v1/clusters/strict', 'DELETE', { reason: 'x'.repeat(1001) })), ['reason']);
    assert.deepEqual(await fieldsOf(await api(`/api/v1/clusters/strict?reason=${'x'.repeat(1001)}`, 'DELETE')), ['reason']);
    for (const definition of [NodePoolScaleRequested, ClusterDeletionRequested, UpgradeStepApproved]) assert.deepEqual(await eventsOf(bus, prefix, definition, 'strict'), []);
  });

  it('answers 404 for a cluster the inventory does not know', async () => {
    assert.equal((await api('/api/v1/clusters/nowhere/node-pools/workers/scale', 'POST', { count: 1 })).status, 404);
    assert.equal((await api('/api/v1/clusters/nowhere', 'DELETE')).status, 404);
    const response = await api('/api/v1/clusters/nowhere/upgrades', 'POST', { planId: 'plan-1', toVersion: '1.34' });
    assert.equal(response.status, 404);
    assert.match(((await response.json()) as { message: string }).message, /"nowhere" not found/);
  });

  it('documents the commands in the OpenAPI document', async () => {
    const openapi = (await (await api('/api/docs/openapi.json', 'GET')).json()) as { paths: Record<string, Record<string, unknown>> };
    assert.ok(openapi.paths['/api/v1/clusters/{id}/node-pools/{pool}/scale']?.['post']);
    assert.ok(openapi.paths['/api/v1/clusters/{id}']?.['delete']);
    assert.ok(openapi.paths['/api/v1/clusters/{id}/upgrades']?.['post']);
  });
});
