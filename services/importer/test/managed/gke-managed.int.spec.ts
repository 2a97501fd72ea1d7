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
import { GcpStandin, newServiceAccount } from '../support/cloud-standins/gcp-standin.js';
import { standinSettings } from '../support/cloud-standins/settings.js';
import { importerClient, importerTestEnv, waitForEvents } from '../support/importer-client.js';
import { publisher, STANDIN_TIME_SCALE } from './support.js';

const serviceAccount = newServiceAccount('flotilla-importer@acme-prod.iam.gserviceaccount.com', ['acme-prod']);
const location = 'europe-west1';

const request = (name: string): EventData<typeof ClusterRequested> => ({
  name,
  model: 'public-cloud',
  kubernetesVersion: '1.31',
  nodePools: [
    { name: 'batch', count: 1, machineSize: 'n2-highmem-8', maxCount: 4, labels: {}, taints: [{ key: 'batch', value: 'true', effect: 'NoSchedule' }] },
    { name: 'general', count: 2, machineSize: 'e2-standard-4', labels: { workload: 'general' }, taints: [] },
  ],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  cloud: { provider: 'gke', credentialRef: 'gcp-fleet', region: location, projectId: 'acme-prod', networking: { network: 'default', subnetwork: 'nodes' }, endpointAccess: 'public', tags: { team: 'payments' } },
});

describe('public cloud clusters at GKE: the reconciler through GkeLifecycle and @google-cloud/container against the stateful GKE stand-in', () => {
  let standin: GcpStandin;
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  const publish = publisher(
    () => bus,
    () => prefix,
  );
  const creates = (clusterId: string, pool = '') =>
    standin.lifecycle.creates.get(`projects/acme-prod/locations/${location}/clusters/${cloudNameFor(clusterId)}${pool === '' ? '' : `/nodePools/${pool}`}`);

  before(async () => {
    standin = await GcpStandin.start({
      durations: { createCluster: 200, deleteCluster: 120, upgradeMaster: 150, createNodePool: 150, deleteNodePool: 100, setNodePoolSize: 80, setNodePoolAutoscaling: 50, upgradeNodes: 120 },
      versions: { [location]: ['1.30.9-gke.1127000', '1.31.5-gke.1233000', '1.32.1-gke.1357000'] },
    });
    standin.addAccount(serviceAccount);
    const module = (config: ImporterConfig) =>
      ImporterModule.register(config, { cloudSettings: standinSettings({ gke: standin.url }), managed: { roundIntervalMs: 30, pollIntervalMs: 60, retryBaseMs: 60, maxRetryMs: 600, operationTimeScale: STANDIN_TIME_SCALE } });
    service = await startTestService({ ...importerService, module }, importerTestEnv());
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-managed-gke-test');
    await importerClient(service).register({ ref: 'gcp-fleet', kind: 'cloud-account', provider: 'gke', account: serviceAccount.keyFile });
  });

  after(async () => {
    await service.dispose();
    await standin.close();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  const poolState = (clusterId: string, name: string) => standin.lifecycle.clusters.get(`projects/acme-prod/locations/${location}/clusters/${cloudNameFor(clusterId)}`)?.pools.get(name);
  const pool = (clusterId: string, name: string) => poolState(clusterId, name)?.body;

  it('creates a cluster to ClusterReady: one control plane, one of each node pool', async () => {
    await publish(ClusterRequested, 'analytics', request('analytics'));
    const [ready] = await waitForEvents(bus, prefix, ClusterReady, 'analytics', 1, 30_000);
    // A regional cluster: its pools' sizes (2 + 1) are per zone, in each of the region's three zones.
    assert.equal(ready?.data.nodeCount, 9);
    assert.match(ready?.data.kubernetesVersion ?? '', /^1\.31/);
    assert.deepEqual([creates('analytics'), creates('analytics', 'batch'), creates('analytics', 'general')], [1, 1, 1]);
  });

  it('scales a node pool to NodePoolScaled: its new size at GKE', async () => {
    await publish(NodePoolScaleRequested, 'analytics', { pool: 'batch', count: 3 });
    const [scaled] = await waitForEvents(bus, prefix, NodePoolScaled, 'analytics', 1, 30_000);
    assert.deepEqual([scaled?.data.from, scaled?.data.to, scaled?.data.requested], [1, 3, 3]);
    // GKE keeps a pool's size per zone in its instance groups: a resize leaves initialNodeCount as created.
    assert.equal(poolState('analytics', 'batch')?.size, 3);
    assert.equal(poolState('analytics', 'general')?.size, 2, 'the other pool is left alone');
  });

  it('upgrades one minor: the master, then each node pool, to ClusterUpgraded', async () => {
    await publish(UpgradeStepApproved, 'analytics', { planId: 'plan-gke', toVersion: '1.32' });
    const [upgraded] = await waitForEvents(bus, prefix, ClusterUpgraded, 'analytics', 1, 30_000);
    assert.equal(upgraded?.data.fromVersion, '1.31');
    assert.match(upgraded?.data.toVersion ?? '', /^1\.32/);
    const cluster = standin.lifecycle.clusters.get(`projects/acme-prod/locations/${location}/clusters/${cloudNameFor('analytics')}`);
    assert.equal(cluster?.body.currentMasterVersion, '1.32.1-gke.1357000');
    assert.deepEqual([pool('analytics', 'batch')?.version, pool('analytics', 'general')?.version], ['1.32.1-gke.1357000', '1.32.1-gke.1357000']);
    const order = standin.lifecycle.operations.filter((op) => op.type === 'UPGRADE_MASTER' || op.type === 'UPGRADE_NODES').map((op) => op.type);
    assert.deepEqual(order, ['UPGRADE_MASTER', 'UPGRADE_NODES', 'UPGRADE_NODES'], 'the master first, then each pool once');
  });

  it('deletes it: node pools, then the cluster; ClusterDeleted and nothing left at GKE', async () => {
    await publish(ClusterDeletionRequested, 'analytics', { reason: 'test' });
    const [deleted] = await waitForEvents(bus, prefix, ClusterDeleted, 'analytics', 1, 30_000);
    assert.deepEqual(deleted?.data, { model: 'public-cloud' });
    assert.deepEqual(standin.lifecycle.clusterBodies('acme-prod', location), []);
  });
});
