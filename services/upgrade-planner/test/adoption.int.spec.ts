import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterAdopted, ClusterImported, createEvent, eventsSubject, type CloudEvent, type EventDefinition } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { upgradePlannerService } from '../src/service.js';
import { call, json } from './support.js';

const at = (second: number) => new Date(Date.UTC(2026, 11, 6, 12, 0, second));
const imported = (id: string, second: number) =>
  createEvent(ClusterImported, { subject: id, source: '/flotilla/importer', time: at(second) }, { name: id, distribution: 'eks', kubernetesVersion: 'v1.30.9-eks-113cf36', nodeCount: 3, capacity: { cpuCores: 12, memoryBytes: 48e9 }, warnings: [] });

describe('upgrade planner: an imported cloud cluster adopted is planned like the clusters Flotilla created, on real NATS and PostgreSQL', () => {
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;

  before(async () => {
    service = await startTestService(upgradePlannerService, { PLAN_DEBOUNCE_MS: '100', PLAN_MAX_DELAY_MS: '500' });
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'upgrade-planner-adoption-int-test');
  });

  after(async () => {
    await service?.dispose();
    if (bus) {
      await deleteTestStreams(bus.jsm, prefix);
      await bus.jsm.streams.delete(`KV_${prefix}_support_matrix`).catch(() => false);
      await bus.drain();
    }
  });

  const publish = (definition: EventDefinition, event: CloudEvent) => publishEvent(bus.js, eventsSubject({ prefix }, definition.channel), event);
  const models = async () => {
    const body = (await (await call(service, '/api/v1/fleet?limit=1000')).json()) as { items: { id: string; model: string }[] };
    return Object.fromEntries(body.items.map((item) => [item.id, item.model]));
  };

  it('ClusterAdopted makes it public-cloud (an earlier import arriving late does not undo it), and a plan takes it step by step', async () => {
    await publish(ClusterImported, imported('eks-kept', 0));
    // Adopted: its adoption is on the bus before its import, as separate consumers may deliver them.
    const adoption = createEvent(ClusterAdopted, { subject: 'eks-adopted', source: '/flotilla/importer', time: at(5) }, {
      model: 'public-cloud',
      provider: 'eks',
      region: 'eu-west-1',
      kubernetesVersion: 'v1.30.9-eks-113cf36',
      nodePools: [{ name: 'ng-1', count: 3, machineSize: 'm5.large', minCount: 1, maxCount: 5 }],
    });
    await publish(ClusterAdopted, adoption);
    await publish(ClusterImported, imported('eks-adopted', 0));
    await eventually(async () => {
      const seen = await models();
      return seen['eks-kept'] === 'connected' && seen['eks-adopted'] === 'public-cloud' ? true : undefined;
    }, 15_000, 'the fleet view with both clusters');

    const response = await call(service, '/api/v1/upgrade-plans', json({ fromRelease: '4.2', toRelease: '4.3', maxConcurrency: 5 }), 'operator');
    assert.equal(response.status, 201);
    const plan = (await response.json()) as { clusters: { clusterId: string; model: string; action: string }[] };
    const actions = Object.fromEntries(plan.clusters.map((cluster) => [cluster.clusterId, [cluster.model, cluster.action]]));
    assert.deepEqual(actions, { 'eks-adopted': ['public-cloud', 'upgrade-before-global'], 'eks-kept': ['connected', 'provider-action-required'] });
  });
});
