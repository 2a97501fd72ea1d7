import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterDeletionRequested,
  ClusterReady,
  ClusterRequested,
  ClusterUpgraded,
  NodePoolScaled,
  NodePoolScaleRequested,
  UpgradeStepApproved,
  type EventData,
} from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import type { ImporterConfig } from '../../src/config.js';
import { ImporterModule } from '../../src/importer.module.js';
import { cloudNameFor } from '../../src/managed/managed-cluster.js';
import { importerService } from '../../src/service.js';
import { AzureStandin } from '../support/cloud-standins/azure-standin.js';
import { standinSettings } from '../support/cloud-standins/settings.js';
import { importerClient, importerTestEnv, waitForEvents } from '../support/importer-client.js';
import { publisher, STANDIN_TIME_SCALE } from './support.js';

const account = { tenantId: '00000000-0000-0000-0000-0000000000bb', clientId: 'bbbbbbbb-cccc-dddd-eeee-ffffffffffff', clientSecret: 'Xy8Q~managed.secret-value_0123456789' };
const subscriptionId = '11111111-2222-3333-4444-666666666666';
const resourceGroup = 'rg-managed';

// An AKS agent pool name is at most 12 lower-case alphanumerics: `general-purpose` gets a derived one.
const request = (name: string): EventData<typeof ClusterRequested> => ({
  name,
  model: 'public-cloud',
  kubernetesVersion: '1.31',
  nodePools: [
    { name: 'general-purpose', count: 2, machineSize: 'Standard_D4s_v5', labels: {}, taints: [] },
    { name: 'gpu', count: 1, machineSize: 'Standard_NC6s_v3', maxCount: 3, labels: {}, taints: [{ key: 'nvidia.com/gpu', effect: 'NoSchedule' }] },
  ],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  cloud: { provider: 'aks', credentialRef: 'azure-fleet', region: 'westeurope', subscriptionId, resourceGroup, networking: {}, endpointAccess: 'public', tags: { team: 'payments' } },
});

describe('public cloud clusters at AKS: the reconciler through AksLifecycle and @azure/arm-containerservice against the stateful ARM stand-in', () => {
  let standin: AzureStandin;
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  const publish = publisher(
    () => bus,
    () => prefix,
  );

  before(async () => {
    standin = await AzureStandin.start({ durations: { clusterCreate: 250, poolCreate: 150, clusterUpgrade: 150, poolUpgrade: 100, poolScale: 100, poolDelete: 100, clusterDelete: 120, clusterUpdate: 100 } });
    standin.principals.set(account.clientId, { ...account, subscriptions: [subscriptionId] });
    const module = (config: ImporterConfig) =>
      ImporterModule.register(config, { cloudSettings: standinSettings({ aks: standin.url }), managed: { roundIntervalMs: 30, pollIntervalMs: 60, retryBaseMs: 60, maxRetryMs: 600, operationTimeScale: STANDIN_TIME_SCALE } });
    service = await startTestService({ ...importerService, module }, importerTestEnv());
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-managed-aks-test');
    await importerClient(service).register({ ref: 'azure-fleet', kind: 'cloud-account', provider: 'aks', account });
  });

  after(async () => {
    await service.dispose();
    await standin.close();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('creates a cluster to ClusterReady with one of each agent pool', async () => {
    await publish(ClusterRequested, 'ledger', request('ledger'));
    const [ready] = await waitForEvents(bus, prefix, ClusterReady, 'ledger', 1, 30_000);
    assert.equal(ready?.data.nodeCount, 3);
    const ours = Object.entries(standin.counts().creates).filter(([resource]) => resource.startsWith(`${resourceGroup}/${cloudNameFor('ledger')}`));
    // The cluster, the System pool AKS needs (created with it), and each of ours: once each.
    assert.equal(ours.length, 4, JSON.stringify(ours));
    assert.ok(ours.every(([, count]) => count === 1), JSON.stringify(ours));
  });

  it('scales a pool whose AKS name is derived to NodePoolScaled', async () => {
    await publish(NodePoolScaleRequested, 'ledger', { pool: 'general-purpose', count: 4 });
    const [scaled] = await waitForEvents(bus, prefix, NodePoolScaled, 'ledger', 1, 30_000);
    assert.deepEqual([scaled?.data.from, scaled?.data.to], [2, 4]);
    const cluster = standin.managed.find(subscriptionId, resourceGroup, cloudNameFor('ledger'));
    const counts = [...(cluster?.pools.values() ?? [])].filter((pool) => pool.mode === 'User').map((pool) => pool.count).sort();
    assert.deepEqual(counts, [1, 4], 'the pool is at its new size at AKS, the other untouched');
  });

  it('upgrades one minor: the control plane (with its System pool), then each agent pool, to ClusterUpgraded', async () => {
    await publish(UpgradeStepApproved, 'ledger', { planId: 'plan-aks', toVersion: '1.32' });
    const [upgraded] = await waitForEvents(bus, prefix, ClusterUpgraded, 'ledger', 1, 30_000);
    assert.equal(upgraded?.data.fromVersion, '1.31');
    assert.match(upgraded?.data.toVersion ?? '', /^1\.32/);
    const cluster = standin.managed.find(subscriptionId, resourceGroup, cloudNameFor('ledger'));
    assert.match(cluster?.currentKubernetesVersion ?? '', /^1\.32\./);
    const versions = [...(cluster?.pools.values() ?? [])].map((pool) => `${pool.mode}:${pool.currentOrchestratorVersion}`).sort();
    assert.deepEqual(versions, ['System:1.32.4', 'User:1.32.4', 'User:1.32.4'], 'every pool follows the control plane');
  });

  it('deletes it: agent pools, then the cluster; ClusterDeleted and nothing left at AKS', async () => {
    await publish(ClusterDeletionRequested, 'ledger', { reason: 'test' });
    const [deleted] = await waitForEvents(bus, prefix, ClusterDeleted, 'ledger', 1, 30_000);
    assert.deepEqual(deleted?.data, { model: 'public-cloud' });
    assert.equal(standin.managed.find(subscriptionId, resourceGroup, cloudNameFor('ledger')), undefined);
  });
});
