import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterImportRequested, ClusterRequested, createEvent, eventsSubject, type EventDefinition, type EventData } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { inventoryService } from '../src/service.js';

describe('inventory: GET /api/v1/clusters/{id}/kubeconfig sends the caller to the owner of the cluster', () => {
  let service: TestService;
  let bus: BusConnection;

  before(async () => {
    service = await startTestService(inventoryService);
    bus = await BusConnection.open(TEST_NATS_URL, 'inventory-kubeconfig-test');
    const publish = async <D extends EventDefinition>(definition: D, id: string, data: EventData<D>) =>
      publishEvent(bus.js, eventsSubject({ prefix: service.env['BUS_PREFIX']! }, definition.channel), createEvent(definition, { subject: id, source: '/tests' }, data));
    const spec = { kubernetesVersion: '1.34', controlPlane: { count: 1, machineSize: 'large' }, nodePools: [], network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' } };
    await publish(ClusterRequested, 'built-1', { ...spec, name: 'built', model: 'platform-provisioned', labels: { team: 'a' } } as never);
    await publish(ClusterRequested, 'hosted-1', { ...spec, name: 'hosted', model: 'hosted-control-plane' } as never);
    await publish(ClusterImportRequested, 'edge-1', { name: 'edge', apiServer: 'https://edge.example:6443', credentialRef: 'edge', provider: 'cncf', labels: { team: 'b' } });
    await eventually(async () => ((await fetch(`${service.url}/api/v1/clusters/edge-1`, { headers: await service.auth('viewer') })).ok && (await fetch(`${service.url}/api/v1/clusters/hosted-1`, { headers: await service.auth('viewer') })).ok ? true : undefined), 15_000, 'the clusters in the read model');
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, service.env['BUS_PREFIX']!);
    await bus.drain();
  });

  const ask = async (id: string, headers: Record<string, string>, query = '') => fetch(`${service.url}/api/v1/clusters/${id}/kubeconfig${query}`, { headers, redirect: 'manual' });

  it('307 to the provisioner for clusters it builds or hosts, with the query; to the importer for connected ones', async () => {
    const built = await ask('built-1', await service.auth('operator'), '?ttl=2h');
    assert.equal(built.status, 307, await built.clone().text());
    assert.equal(built.headers.get('location'), '/api/v1/provisioner/clusters/built-1/kubeconfig?ttl=2h');
    const hosted = await ask('hosted-1', await service.auth('admin'));
    assert.equal(hosted.headers.get('location'), '/api/v1/provisioner/clusters/hosted-1/kubeconfig');
    const connected = await ask('edge-1', await service.auth('operator'));
    assert.equal(connected.status, 307);
    assert.equal(connected.headers.get('location'), '/api/v1/connected-clusters/edge-1/kubeconfig');
  });

  it('viewers are refused, label-scoped callers get only their clusters, unknown clusters are 404', async () => {
    const viewer = await ask('built-1', await service.auth('viewer'));
    assert.equal(viewer.status, 403);
    assert.match(((await viewer.json()) as { message: string }).message, /operator/);
    assert.equal((await ask('built-1', await service.auth('operator', { scope: { labels: { team: 'a' } } }))).status, 307);
    assert.equal((await ask('edge-1', await service.auth('operator', { scope: { labels: { team: 'a' } } }))).status, 403);
    assert.equal((await ask('nowhere-1', await service.auth('operator'))).status, 404);
    assert.equal((await ask('built-1', {})).status, 401);
  });
});
