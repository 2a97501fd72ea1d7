import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterAdopted,
  ClusterImported,
  ClusterImportRequested,
  ClusterReady,
  ClusterRequested,
  createEvent,
  EventRejected,
  NodePoolScaleRequested,
  UpgradeStepApproved,
  type CloudEvent,
  type ClusterSpec,
} from '@flotilla/contracts';
import { evolve, summarise, type ClusterView } from './cluster-view.js';

/*
 * Public-cloud clusters are the importer's: it answers their requests, and the provisioner,
 * which reads the same requests and does not know these clusters, is not their answer.
 */

const ID = 'shop-eks';
const IMPORTER = '/flotilla/importer';
const PROVISIONER = '/flotilla/provisioner';
const INVENTORY = '/flotilla/inventory';
const at = (second: number) => new Date(Date.UTC(2026, 11, 6, 12, 0, second));
const meta = (second: number, source: string) => ({ subject: ID, source, time: at(second) });
const replay = (events: CloudEvent[], from?: ClusterView) => events.reduce<ClusterView | undefined>((view, event) => evolve(view, event) ?? view, from);

const spec: ClusterSpec = {
  name: 'shop',
  model: 'public-cloud',
  kubernetesVersion: '1.31',
  nodePools: [{ name: 'general', count: 2, machineSize: 'Standard_D4s_v5', minCount: 1, maxCount: 5, labels: {}, taints: [] }],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  cloud: { provider: 'aks', credentialRef: 'azure-shop', region: 'westeurope', subscriptionId: 'sub-1', resourceGroup: 'rg-shop', networking: {}, endpointAccess: 'private', tags: {} },
};
const requested = createEvent(ClusterRequested, meta(0, INVENTORY), spec);
const ready = createEvent(ClusterReady, meta(5, IMPORTER), { model: 'public-cloud', kubernetesVersion: 'v1.31.4', nodeCount: 2, apiServerEndpoint: 'https://shop.hcp.westeurope.azmk8s.io:443' });
const rejection = (second: number, request: CloudEvent, source: string) =>
  createEvent(EventRejected, meta(second, source), {
    rejectedEventId: request.id,
    rejectedType: request.type,
    rejectedSubject: ID,
    code: 'handler-rejected',
    reason: `cluster-not-found: cluster "${ID}" is not known here`,
    consumer: `${source.split('/').at(-1)}__requests`,
    deadLetterSubject: 'dlq',
  });

describe('a public-cloud cluster in the fleet view', () => {
  it('shows its model, cloud and region from the request, and runs once the importer says it is ready', () => {
    const pending = replay([requested])!;
    assert.deepEqual([pending.model, pending.provider, pending.region, pending.status], ['public-cloud', 'aks', 'westeurope', 'Pending']);
    const running = replay([ready], pending)!;
    assert.deepEqual([running.status, running.kubernetesVersion, running.pendingRequests], ['Running', 'v1.31.4', []]);
  });

  it("takes scale and upgrade requests as pending until the importer answers; the provisioner's refusal is not the answer", () => {
    const running = replay([requested, ready])!;
    const scale = createEvent(NodePoolScaleRequested, meta(10, INVENTORY), { pool: 'general', count: 4 });
    const step = createEvent(UpgradeStepApproved, meta(11, INVENTORY), { planId: 'plan-1', toVersion: '1.32' });
    const waiting = replay([scale, step, rejection(12, scale, PROVISIONER), rejection(13, step, PROVISIONER)], running)!;
    assert.deepEqual(waiting.pendingRequests.map((request) => request.eventId), [scale.id, step.id]);
    assert.equal(waiting.lastRefusal, null);
    // The importer's own refusal is shown, and answers the request.
    const refused = replay([rejection(14, scale, IMPORTER)], waiting)!;
    assert.deepEqual(refused.pendingRequests.map((request) => request.eventId), [step.id]);
    assert.equal(refused.lastRefusal?.source, IMPORTER);
  });
});

describe('an imported cloud cluster adopted', () => {
  const importRequest = createEvent(ClusterImportRequested, meta(0, INVENTORY), { name: 'legacy', credentialRef: 'aws-legacy', provider: 'eks', cloud: { clusterName: 'legacy', region: 'us-east-1' } });
  const imported = (second: number) =>
    createEvent(ClusterImported, meta(second, IMPORTER), { name: 'legacy', distribution: 'eks', kubernetesVersion: 'v1.30.9-eks-1', nodeCount: 3, capacity: { cpuCores: 6, memoryBytes: 12e9 }, warnings: [] });
  const adopted = createEvent(ClusterAdopted, meta(20, IMPORTER), {
    model: 'public-cloud',
    provider: 'eks',
    region: 'us-east-1',
    kubernetesVersion: '1.30',
    nodePools: [{ name: 'ng-1', count: 3, machineSize: 'm5.large', minCount: 1, maxCount: 6 }],
  });

  it('becomes a public-cloud cluster with its cloud and region, and its history says so', () => {
    const connected = replay([importRequest, imported(1)])!;
    assert.equal(connected.model, 'connected');
    const managed = replay([adopted], connected)!;
    assert.deepEqual([managed.model, managed.provider, managed.region, managed.status], ['public-cloud', 'eks', 'us-east-1', 'Running']);
    assert.equal(summarise(adopted), 'ClusterAdopted: managed by Flotilla from now on, a public-cloud cluster at eks us-east-1 on Kubernetes 1.30 (ng-1 3 x m5.large)');
  });

  it('stays adopted when an earlier import arrives late, and is connected again when imported after', () => {
    const managed = replay([importRequest, adopted, imported(1)])!;
    assert.equal(managed.model, 'public-cloud');
    assert.equal(replay([imported(30)], managed)!.model, 'connected');
  });
});
