import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ClusterAdopted,
  ClusterImported,
  ClusterRequested,
  createEvent,
  EventRejected,
  eventsSubject,
  NodePoolScaleRequested,
  type EventData,
  type EventDefinition,
} from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventsOf, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { inventoryService } from '../src/service.js';

interface ClusterBody {
  model: string | null;
  provider: string | null;
  region: string | null;
  status: string;
  kubernetesVersion: string | null;
  pendingRequests: { eventId: string; type: string }[];
  lastRefusal: unknown;
  history: { eventId: string; summary: string }[];
}

const GKE_REQUEST = {
  id: 'shop-gke',
  name: 'shop on GKE',
  model: 'public-cloud',
  kubernetesVersion: '1.34',
  labels: { team: 'shop' },
  nodePools: [{ name: 'general', count: 3, minCount: 1, maxCount: 6, machineSize: 'e2-standard-4' }],
  cloud: { provider: 'gke', credentialRef: 'gcp-shop', region: 'europe-west1-b', projectId: 'shop-prod', networking: { network: 'default', subnetwork: 'nodes' } },
};

describe('inventory: public-cloud clusters, on real NATS and PostgreSQL', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;

  before(async () => {
    service = await startTestService(inventoryService);
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'inventory-public-cloud-int-test');
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const api = (path: string, method = 'GET', body?: unknown, init: RequestInit = {}) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${service.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      ...init,
    });
  const cluster = async (id: string) => (await (await api(`/api/v1/clusters/${id}`)).json()) as ClusterBody;
  const emit = async <D extends EventDefinition>(definition: D, subject: string, source: string, data: EventData<D>) => {
    const event = createEvent(definition, { subject, source }, data);
    await publishEvent(bus.js, eventsSubject({ prefix }, definition.channel), event);
    return event;
  };

  it('takes a public-cloud request, publishes it with its cloud block, and shows its cloud and region', async () => {
    const response = await api('/api/v1/clusters', 'POST', GKE_REQUEST);
    assert.equal(response.status, 202, await response.clone().text());
    const [event] = await eventually(async () => {
      const found = await eventsOf(bus, prefix, ClusterRequested, 'shop-gke');
      return found.length > 0 ? found : undefined;
    });
    assert.deepEqual(event?.data.cloud, { ...GKE_REQUEST.cloud, endpointAccess: 'public', tags: {} });
    assert.equal(event?.data.controlPlane, undefined);
    const body = await cluster('shop-gke');
    assert.deepEqual([body.model, body.provider, body.region, body.status], ['public-cloud', 'gke', 'europe-west1-b', 'Pending']);
    // Filtered by the model like any other.
    const list = (await (await api('/api/v1/clusters?model=public-cloud')).json()) as { items: { id: string }[] };
    assert.deepEqual(list.items.map((item) => item.id), ['shop-gke']);
  });

  it('refuses a public-cloud request missing what its cloud needs, and a platform one without a control plane, with a 400 naming every field', async () => {
    const { projectId: _projectId, ...cloud } = GKE_REQUEST.cloud;
    const bad = { ...GKE_REQUEST, id: 'bad-gke', controlPlane: { count: 1, machineSize: 'm' }, cloud: { ...cloud, provider: 'aks', networking: {} }, nodePools: [{ name: 'general', count: 3, maxCount: 2, machineSize: 'm' }] };
    const response = await api('/api/v1/clusters', 'POST', bad);
    assert.equal(response.status, 400);
    const fields = ((await response.json()) as { errors: { field: string }[] }).errors.map((error) => error.field).sort();
    assert.deepEqual(fields, ['cloud.resourceGroup', 'cloud.subscriptionId', 'controlPlane', 'nodePools.0.maxCount']);
    const platform = await api('/api/v1/clusters', 'POST', { id: 'no-cp', name: 'no-cp', model: 'platform-provisioned', kubernetesVersion: '1.34' });
    assert.equal(platform.status, 400);
    assert.deepEqual(((await platform.json()) as { errors: { field: string }[] }).errors.map((error) => error.field), ['controlPlane']);
    assert.equal((await api('/api/v1/clusters/bad-gke')).status, 404);
  });

  it("scales a public-cloud cluster: pending until the importer answers, the provisioner's refusal not shown", async () => {
    const scaled = await api('/api/v1/clusters/shop-gke/node-pools/general/scale', 'POST', { count: 5 });
    assert.equal(scaled.status, 202);
    const { eventId } = (await scaled.json()) as { eventId: string };
    const request = await eventually(async () => (await eventsOf(bus, prefix, NodePoolScaleRequested, 'shop-gke')).find((event) => event.id === eventId));
    const rejection = await emit(EventRejected, 'shop-gke', '/flotilla/provisioner', {
      rejectedEventId: request.id,
      rejectedType: NodePoolScaleRequested.type,
      rejectedSubject: 'shop-gke',
      code: 'handler-rejected',
      reason: 'cluster-not-found: cluster "shop-gke" is not known here',
      consumer: 'provisioner__cluster_node-pool-scale-requested_v1',
      deadLetterSubject: `${prefix}.dlq.provisioner__cluster_node-pool-scale-requested_v1`,
    });
    const body = await eventually(async () => {
      const seen = await cluster('shop-gke');
      return seen.history.some((entry) => entry.eventId === rejection.id) ? seen : undefined;
    });
    assert.deepEqual(body.pendingRequests.map((pending) => [pending.type, pending.eventId]), [
      ['ClusterRequested', (await eventsOf(bus, prefix, ClusterRequested, 'shop-gke'))[0]!.id],
      ['NodePoolScaleRequested', eventId],
    ]);
    assert.equal(body.lastRefusal, null);
  });

  it('sends the caller to the importer for the kubeconfig of a public-cloud cluster', async () => {
    const response = await api('/api/v1/clusters/shop-gke/kubeconfig?ttl=1h', 'GET', undefined, { redirect: 'manual' });
    assert.equal(response.status, 307);
    assert.equal(response.headers.get('location'), '/api/v1/connected-clusters/shop-gke/kubeconfig?ttl=1h');
  });

  it('an imported EKS cluster adopted becomes public-cloud, with a line in its history', async () => {
    await emit(ClusterImported, 'legacy-eks', '/flotilla/importer', { name: 'legacy', distribution: 'eks', kubernetesVersion: 'v1.33.5-eks-1', nodeCount: 2, capacity: { cpuCores: 4, memoryBytes: 8e9 }, warnings: [] });
    await eventually(async () => ((await cluster('legacy-eks')).model === 'connected' ? true : undefined));
    const adopted = await emit(ClusterAdopted, 'legacy-eks', '/flotilla/importer', {
      model: 'public-cloud',
      provider: 'eks',
      region: 'us-east-1',
      kubernetesVersion: '1.33',
      nodePools: [{ name: 'ng-1', count: 2, machineSize: 'm5.large', minCount: 2, maxCount: 4 }],
    });
    const body = await eventually(async () => {
      const seen = await cluster('legacy-eks');
      return seen.model === 'public-cloud' ? seen : undefined;
    });
    assert.deepEqual([body.provider, body.region, body.status], ['eks', 'us-east-1', 'Running']);
    assert.equal(
      body.history.find((entry) => entry.eventId === adopted.id)?.summary,
      'ClusterAdopted: managed by Flotilla from now on, a public-cloud cluster at eks us-east-1 on Kubernetes 1.33 (ng-1 2 x m5.large)',
    );
  });
});
