import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterDeletionRequested,
  ClusterProgress,
  ClusterProvisioningFailed,
  ClusterReady,
  ClusterRequested,
  ClusterUpgraded,
  NodePoolScaled,
  NodePoolScaleRequested,
  UpgradeStepApproved,
  UpgradeStepFailed,
  type EventData,
} from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import type { ImporterConfig } from '../../src/config.js';
import { ImporterModule } from '../../src/importer.module.js';
import { CloudLifecycles } from '../../src/managed/lifecycles.js';
import { cloudNameFor } from '../../src/managed/managed-cluster.js';
import { MAX_TRANSIENT_FAILURES } from '../../src/managed/outcome.js';
import { importerService } from '../../src/service.js';
import { importerClient, importerTestEnv, waitForEvents } from '../support/importer-client.js';
import { publisher, STANDIN_TIME_SCALE } from './support.js';
import { FakeCloud } from './fake-cloud.js';

const awsKey = { accessKeyId: 'AKIAMANAGEDCLUSTER01', secretAccessKey: 'managed/cloud+key/0123456789abcdefghij' };

type Request = EventData<typeof ClusterRequested>;

const request = (name: string, overrides: Partial<Request> = {}): Request => ({
  name,
  model: 'public-cloud',
  kubernetesVersion: '1.31',
  nodePools: [
    { name: 'gpu', count: 1, machineSize: 'g5.xlarge', maxCount: 2, labels: {}, taints: [] },
    { name: 'workers', count: 2, machineSize: 'm6i.large', labels: {}, taints: [] },
  ],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  cloud: {
    provider: 'eks',
    credentialRef: 'aws-main',
    region: 'eu-west-1',
    networking: { subnetIds: ['subnet-a', 'subnet-b'], clusterRoleArn: 'arn:aws:iam::1:role/eks', nodeRoleArn: 'arn:aws:iam::1:role/nodes' },
    endpointAccess: 'public',
    tags: { team: 'shop' },
  },
  ...overrides,
});

describe('public cloud clusters the importer creates and runs (against a cloud in memory with EKS rules)', () => {
  const cloud = new FakeCloud();
  const lifecycles = new CloudLifecycles({ eks: cloud });
  const fast = { roundIntervalMs: 30, pollIntervalMs: 40, retryBaseMs: 40, maxRetryMs: 400, throttleFallbackMs: 500, operationTimeScale: STANDIN_TIME_SCALE };
  const start = (env: Record<string, string>) =>
    startTestService({ ...importerService, module: (config: ImporterConfig) => ImporterModule.register(config, { cloudLifecycles: lifecycles, managed: fast }) }, env);
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let http: ReturnType<typeof importerClient>;

  const publish = publisher(
    () => bus,
    () => prefix,
  );

  before(async () => {
    service = await start(importerTestEnv());
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-managed-test');
    http = importerClient(service);
    await http.register({ ref: 'aws-main', kind: 'cloud-account', provider: 'eks', account: awsKey });
    await http.register({ ref: 'azure-main', kind: 'cloud-account', provider: 'aks', account: { tenantId: 't', clientId: 'c', clientSecret: 's' } });
  });

  after(async () => {
    await service.dispose();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('creates one: control plane, then its node groups, then ClusterReady; kept as a connected cluster re-checked through the same account', async () => {
    await publish(ClusterRequested, 'shop-prod', request('shop'));
    const [ready] = await waitForEvents(bus, prefix, ClusterReady, 'shop-prod', 1, 20_000);
    assert.deepEqual(ready?.data, { model: 'public-cloud', kubernetesVersion: '1.31.4', nodeCount: 3, apiServerEndpoint: `https://${cloudNameFor('shop-prod')}.eks.example`, release: '4.3', policyRevision: ready?.data.policyRevision });
    assert.equal(cloud.creates.get(`cluster/${cloudNameFor('shop-prod')}`), 1);
    assert.equal(cloud.creates.get(`group/${cloudNameFor('shop-prod')}/gpu`), 1);
    assert.equal(cloud.creates.get(`group/${cloudNameFor('shop-prod')}/workers`), 1);
    const progress = await waitForEvents(bus, prefix, ClusterProgress, 'shop-prod', 2);
    assert.equal(progress[0]?.data.phase, 'Provisioning');
    assert.ok(progress.some((event) => event.data.phase === 'Running'));
    const connected = await http.cluster('shop-prod');
    assert.equal(connected?.state, 'Imported');
    assert.equal(connected?.credentialRef, 'aws-main');
  });

  it('refuses a request with every problem at once, each naming its field: ClusterProvisioningFailed', async () => {
    await publish(ClusterRequested, 'wrong-1', request('wrong', { kubernetesVersion: '1.99', cloud: { ...request('x').cloud!, credentialRef: 'azure-main' } }));
    const [failed] = await waitForEvents(bus, prefix, ClusterProvisioningFailed, 'wrong-1');
    assert.deepEqual(failed?.data.reasons.map((reason) => [reason.field, reason.code]), [
      ['kubernetesVersion', 'onboard-out-of-range'],
      ['cloud.credentialRef', 'credential-kind-mismatch'],
    ]);
    assert.equal(failed?.data.model, 'public-cloud');
  });

  it('a version the cloud does not offer there: cloud-version-not-offered, nothing created', async () => {
    cloud.offered = ['1.32'];
    try {
      // Another region: what the cloud offers in one place is asked once and kept a while.
      const { cloud: place, ...base } = request('old');
      assert.ok(place);
      await publish(ClusterRequested, 'old-1', { ...base, cloud: { ...place, region: 'eu-central-1' } });
      const [failed] = await waitForEvents(bus, prefix, ClusterProvisioningFailed, 'old-1');
      assert.deepEqual(failed?.data.reasons.map((reason) => [reason.field, reason.code]), [['kubernetesVersion', 'cloud-version-not-offered']]);
      assert.equal(cloud.creates.get(`cluster/${cloudNameFor('old-1')}`), undefined);
    } finally {
      cloud.offered = ['1.30', '1.31', '1.32'];
    }
  });

  it('a cloud that keeps failing: given up after MAX_TRANSIENT_FAILURES in a row with the last reason', async () => {
    cloud.failNext = 1_000;
    const callsBefore = cloud.calls.length;
    try {
      await publish(ClusterRequested, 'flaky-1', request('flaky'));
      const [failed] = await waitForEvents(bus, prefix, ClusterProvisioningFailed, 'flaky-1', 1, 30_000);
      assert.deepEqual(failed?.data.reasons.map((reason) => reason.code), ['cloud-unreachable']);
      assert.match(failed?.data.reasons[0]?.message ?? '', /ETIMEDOUT.*given up after 10 failures in a row/);
      assert.equal(1_000 - cloud.failNext, MAX_TRANSIENT_FAILURES, 'one call per attempt, and no more attempts');
      assert.equal(cloud.calls.length - callsBefore, MAX_TRANSIENT_FAILURES);
    } finally {
      cloud.failNext = 0;
    }
  });

  it('a cloud account is kept while a public cloud cluster uses it, even one that failed (its resources may need deleting)', async () => {
    await http.register({ ref: 'aws-other', kind: 'cloud-account', provider: 'eks', account: awsKey });
    await publish(ClusterRequested, 'other-1', request('other', { kubernetesVersion: '1.29', cloud: { ...request('x').cloud!, credentialRef: 'aws-other' } }));
    await waitForEvents(bus, prefix, ClusterProvisioningFailed, 'other-1');
    const refused = await http.api('/api/v1/credentials/aws-other', { method: 'DELETE' });
    assert.equal(refused.status, 409);
    assert.match(((await refused.json()) as { message: string }).message, /other-1/);
  });

  it('a cluster of that name that is not ours: cloud-name-taken, left alone, even when ours is deleted', async () => {
    cloud.foreign('eu-west-1', cloudNameFor('taken-1'));
    await publish(ClusterRequested, 'taken-1', request('taken'));
    const [failed] = await waitForEvents(bus, prefix, ClusterProvisioningFailed, 'taken-1');
    assert.deepEqual(failed?.data.reasons.map((reason) => reason.code), ['cloud-name-taken']);
    // Deleting ours deletes nothing of theirs, and is answered.
    await publish(ClusterDeletionRequested, 'taken-1', { reason: 'give up' });
    await waitForEvents(bus, prefix, ClusterDeleted, 'taken-1');
    assert.equal(cloud.clusters.get(`eu-west-1/${cloudNameFor('taken-1')}`)?.state, 'ready');
    assert.ok(!cloud.calls.some((call) => call.name === 'deleteCluster'));
  });

  it('a replica stopped in the middle of a create: the next one finishes it from what the cloud has, one cluster and one of each node group', async () => {
    cloud.durationMs = 600;
    try {
      await publish(ClusterRequested, 'crash-1', request('crash'));
      await eventually(async () => Promise.resolve(cloud.creates.get(`cluster/${cloudNameFor('crash-1')}`)), 10_000, 'the control plane create');
      const env = service.env;
      await service.dispose({ keepSchema: true });
      service = await start(env);
      http = importerClient(service);
      await waitForEvents(bus, prefix, ClusterReady, 'crash-1', 1, 20_000);
      assert.equal(cloud.creates.get(`cluster/${cloudNameFor('crash-1')}`), 1);
      assert.equal(cloud.creates.get(`group/${cloudNameFor('crash-1')}/gpu`), 1);
      assert.equal(cloud.creates.get(`group/${cloudNameFor('crash-1')}/workers`), 1);
    } finally {
      cloud.durationMs = 150;
    }
  });

  it('scales a node group: NodePoolScaled, a fixed group fixed at the new count', async () => {
    await publish(NodePoolScaleRequested, 'shop-prod', { pool: 'workers', count: 5 });
    const [scaled] = await waitForEvents(bus, prefix, NodePoolScaled, 'shop-prod', 1, 20_000);
    assert.deepEqual(scaled?.data, { model: 'public-cloud', pool: 'workers', from: 2, to: 5, requested: 5, nodes: [], removed: [] });
    const group = cloud.clusters.get(`eu-west-1/${cloudNameFor('shop-prod')}`)?.groups.get('workers');
    assert.deepEqual([group?.spec.minSize, group?.spec.desiredSize, group?.spec.maxSize], [5, 5, 5], 'no autoscaler turned on');
  });

  it('upgrades one approved step: the control plane, then each node group; a step skipping a minor is refused', async () => {
    await publish(UpgradeStepApproved, 'shop-prod', { planId: 'plan-1', toVersion: '1.33' });
    const [refused] = await waitForEvents(bus, prefix, UpgradeStepFailed, 'shop-prod');
    assert.deepEqual(refused?.data.reasons.map((reason) => reason.code), ['upgrade-skips-minor']);
    await publish(UpgradeStepApproved, 'shop-prod', { planId: 'plan-1', toVersion: '1.32' });
    const [upgraded] = await waitForEvents(bus, prefix, ClusterUpgraded, 'shop-prod', 1, 20_000);
    assert.deepEqual([upgraded?.data.fromVersion, upgraded?.data.toVersion, upgraded?.data.planId], ['1.31', '1.32.4', 'plan-1']);
    const cluster = cloud.clusters.get(`eu-west-1/${cloudNameFor('shop-prod')}`);
    assert.deepEqual([cluster?.version, cluster?.groups.get('gpu')?.version, cluster?.groups.get('workers')?.version], ['1.32', '1.32', '1.32']);
  });

  it('honours a throttled answer: the account\'s gate stays closed for its Retry-After, for every cluster of the account', async () => {
    cloud.throttleRetryAfterMs = 1_500;
    cloud.throttleNext = 1;
    const callsBefore = cloud.calls.length;
    await publish(NodePoolScaleRequested, 'shop-prod', { pool: 'gpu', count: 2 });
    await waitForEvents(bus, prefix, NodePoolScaled, 'shop-prod', 2, 20_000);
    const throttledAt = cloud.throttledAt.at(-1)!;
    const later = cloud.calls.slice(callsBefore).filter((call) => call.at > throttledAt);
    assert.ok(later.length > 0, 'the scale went on once the gate opened');
    // Nothing went out with the account while its gate was closed.
    assert.ok(later.every((call) => call.at - throttledAt >= 1_500), JSON.stringify(later.map((call) => [call.name, call.at - throttledAt])));
  });

  it('deletes one: node groups first, then the cluster; ClusterDeleted (public-cloud); a second request is answered by that deletion', async () => {
    await publish(ClusterDeletionRequested, 'shop-prod', { reason: 'done' });
    await publish(ClusterDeletionRequested, 'shop-prod', { reason: 'asked twice' });
    const [deleted] = await waitForEvents(bus, prefix, ClusterDeleted, 'shop-prod', 1, 20_000);
    assert.deepEqual(deleted?.data, { model: 'public-cloud' });
    assert.equal(cloud.clusters.has(`eu-west-1/${cloudNameFor('shop-prod')}`), false);
    await eventually(async () => ((await http.cluster('shop-prod')) === undefined ? true : undefined), 10_000, 'the connected record gone');
  });
});
