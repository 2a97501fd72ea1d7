import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterAdopted, NodePoolScaled, NodePoolScaleRequested } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService } from '@flotilla/service-kit/testing';
import { CloudAccess as CloudProviders } from '../../src/clouds/cloud-access.js';
import type { ImporterConfig } from '../../src/config.js';
import { SdkCloudAccess, type CloudAccess } from '../../src/connectivity/cluster-access.js';
import { ImporterModule, type ImporterModuleOverrides } from '../../src/importer.module.js';
import { importerService } from '../../src/service.js';
import { aksKubeconfig, AzureStandin } from '../support/cloud-standins/azure-standin.js';
import { GcpStandin, newServiceAccount } from '../support/cloud-standins/gcp-standin.js';
import { standinSettings } from '../support/cloud-standins/settings.js';
import { testTls } from '../support/cloud-standins/test-tls.js';
import { aksCluster, gkeCluster } from '../support/cluster-fixtures.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { importerClient, importerTestEnv, waitForEvents } from '../support/importer-client.js';
import { createTestPki } from '../support/pki.js';
import { publisher, STANDIN_TIME_SCALE } from './support.js';

/** An importer on its own schema and bus prefix, and what the tests of one cloud do with it. */
async function startImporter(overrides: ImporterModuleOverrides, bus: () => BusConnection) {
  const service = await startTestService(
    { ...importerService, module: (config: ImporterConfig) => ImporterModule.register(config, { ...overrides, managed: { roundIntervalMs: 30, pollIntervalMs: 50, retryBaseMs: 60, maxRetryMs: 600, operationTimeScale: STANDIN_TIME_SCALE } }) },
    importerTestEnv(),
  );
  const prefix = service.env['BUS_PREFIX']!;
  return {
    service,
    prefix,
    http: importerClient(service),
    publish: publisher(bus, () => prefix),
    adopt: async (id: string) => fetch(`${service.url}/api/v1/connected-clusters/${id}/adoption`, { method: 'POST', headers: await service.auth('operator') }),
  };
}

describe('adopting an imported AKS cluster: its agent pools become its desired state, then one is scaled through the ARM stand-in', () => {
  const pki = createTestPki();
  const account = { tenantId: '00000000-0000-0000-0000-0000000000cc', clientId: 'cccccccc-dddd-eeee-ffff-000000000000', clientSecret: 'Ab9Q~adoption.secret-value_0123456789' };
  const subscriptionId = '11111111-2222-3333-4444-777777777777';
  const resourceGroup = 'rg-legacy';
  let arm: AzureStandin;
  let apiServer: FakeApiServer;
  let bus: BusConnection;
  let importer: Awaited<ReturnType<typeof startImporter>>;
  const legacy = () => arm.managed.find(subscriptionId, resourceGroup, 'legacy');

  before(async () => {
    apiServer = await FakeApiServer.start({ pki, clusters: new Map([['/legacy', { ...aksCluster(3, 'v1.31.4'), tokens: { 'aks-local-account-token': 'admin' } }]]) });
    arm = await AzureStandin.start({ durations: { clusterCreate: 50, poolScale: 100 } });
    arm.principals.set(account.clientId, { ...account, subscriptions: [subscriptionId] });
    // A cluster someone made at AKS without Flotilla (no ownership tag): a System pool and a User pool.
    const made = arm.managed.putCluster(subscriptionId, resourceGroup, 'legacy', {}, {
      location: 'westeurope',
      tags: { owner: 'platform-team' },
      properties: {
        kubernetesVersion: '1.31',
        dnsPrefix: 'legacy',
        agentPoolProfiles: [
          { name: 'system', mode: 'System', count: 1, vmSize: 'Standard_D2s_v5' },
          { name: 'apps', mode: 'User', count: 2, vmSize: 'Standard_D4s_v5' },
        ],
      },
    });
    assert.equal(made.status, 201, JSON.stringify(made.json));
    await eventually(() => {
      arm.managed.tick();
      return legacy()?.provisioningState === 'Succeeded' ? true : undefined;
    }, 10_000, 'the cluster made at AKS');
    // Its API server is the stand-in Kubernetes API, reached with the local account AKS hands out.
    legacy()!.kubeconfig = aksKubeconfig({ name: 'legacy', resourceGroup, server: apiServer.url('/legacy'), caPem: pki.caCertificatePem, user: { token: 'aks-local-account-token', certPem: pki.clientCertificatePem, keyPem: pki.clientKeyPem } });
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-adoption-aks-test');
    importer = await startImporter({ cloudSettings: standinSettings({ aks: arm.url }) }, () => bus);
    await importer.http.register({ ref: 'azure-legacy', kind: 'cloud-account', provider: 'aks', account });
    assert.equal((await importer.http.post({ id: 'legacy', name: 'legacy', credentialRef: 'azure-legacy', provider: 'aks', cloud: { clusterName: 'legacy', subscriptionId, resourceGroup } })).status, 202);
    const imported = await importer.http.settled('legacy');
    assert.equal(imported.state, 'Imported', JSON.stringify(imported.reasons));
  });

  after(async () => {
    await importer.service.dispose();
    await apiServer.stop();
    await arm.close();
    await deleteTestStreams(bus.jsm, importer.prefix);
    await bus.drain();
  });

  it('adopts it: the User pool read from AKS with the stored account (the System pool goes with the control plane), ClusterAdopted', async () => {
    const response = await importer.adopt('legacy');
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { provider: string; cloudName: string; nodePools: { name: string; count: number; machineSize: string }[] };
    assert.deepEqual([body.provider, body.cloudName], ['aks', 'legacy']);
    assert.deepEqual(body.nodePools.map((pool) => [pool.name, pool.count, pool.machineSize]), [['apps', 2, 'Standard_D4s_v5']]);
    const [adopted] = await waitForEvents(bus, importer.prefix, ClusterAdopted, 'legacy');
    assert.deepEqual([adopted?.data.provider, adopted?.data.region, adopted?.data.nodePools.map((pool) => pool.name)], ['aks', 'westeurope', ['apps']]);
  });

  it('scales the adopted cluster at AKS: NodePoolScaled, the agent pool at its new size, nothing else created', async () => {
    const createsBefore = arm.counts().creates;
    await importer.publish(NodePoolScaleRequested, 'legacy', { pool: 'apps', count: 4 });
    const [scaled] = await waitForEvents(bus, importer.prefix, NodePoolScaled, 'legacy', 1, 20_000);
    assert.deepEqual([scaled?.data.model, scaled?.data.from, scaled?.data.to], ['public-cloud', 2, 4]);
    assert.equal(legacy()?.pools.get('apps')?.count, 4);
    assert.equal(legacy()?.pools.get('system')?.count, 1, 'the System pool is left alone');
    assert.deepEqual(arm.counts().creates, createsBefore);
  });
});

describe('adopting an imported GKE cluster: its node pools become its desired state, then one is scaled through the GKE stand-in', () => {
  const serviceAccount = newServiceAccount('flotilla-importer@acme-legacy.iam.gserviceaccount.com', ['acme-legacy']);
  const location = 'europe-west1';
  const clusterPath = `projects/acme-legacy/locations/${location}/clusters/legacy`;
  let gcp: GcpStandin;
  let apiServer: FakeApiServer;
  let bus: BusConnection;
  let importer: Awaited<ReturnType<typeof startImporter>>;
  const poolState = (name: string) => gcp.lifecycle.clusters.get(clusterPath)?.pools.get(name);

  before(async () => {
    const tls = testTls();
    // The API server of every cluster the GKE stand-in runs (its endpoint 34.76.12.34), with the stand-in's CA, taking GCP access tokens.
    apiServer = await FakeApiServer.start({
      pki: { caCertificatePem: tls.caPem, serverCertificatePem: tls.certPem, serverKeyPem: tls.keyPem, clientCertificatePem: '', clientKeyPem: '' },
      clusters: new Map([['/legacy', { ...gkeCluster(3, 'v1.31.5-gke.1233000'), acceptToken: (token) => token.startsWith('ya29.') }]]),
    });
    gcp = await GcpStandin.start({ durations: { createCluster: 50, setNodePoolSize: 100, setNodePoolAutoscaling: 50 }, versions: { [location]: ['1.30.9-gke.1127000', '1.31.5-gke.1233000'] } });
    gcp.addAccount(serviceAccount);
    // A cluster someone made at GKE without Flotilla (no ownership label), one node pool of one node per zone.
    const made = gcp.lifecycle.handle(
      {
        method: 'POST',
        rawPath: `/v1/projects/acme-legacy/locations/${location}/clusters`,
        url: new URL(`${gcp.url}/v1/projects/acme-legacy/locations/${location}/clusters`),
        headers: {},
        body: JSON.stringify({ cluster: { name: 'legacy', initialClusterVersion: '1.31', nodePools: [{ name: 'default-pool', initialNodeCount: 1, config: { machineType: 'e2-standard-4' } }] } }),
      },
      'acme-legacy',
    );
    assert.equal(made?.status, 200, JSON.stringify(made?.json));
    await eventually(() => {
      gcp.lifecycle.advance();
      return gcp.lifecycle.clusters.get(clusterPath)?.body.status === 'RUNNING' ? true : undefined;
    }, 10_000, 'the cluster made at GKE');
    // The cloud access of the SDKs, with the stand-in's endpoint address routed to the stand-in API server.
    const settings = standinSettings({ gke: gcp.url });
    const sdk = new SdkCloudAccess(CloudProviders.fromSettings(settings));
    const cloudAccess: CloudAccess = {
      apiAccess: async (request, signal) => {
        const access = await sdk.apiAccess(request, signal);
        return access.apiServer === 'https://34.76.12.34' ? { ...access, apiServer: apiServer.url('/legacy') } : access;
      },
    };
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-adoption-gke-test');
    importer = await startImporter({ cloudSettings: settings, cloudAccess }, () => bus);
    await importer.http.register({ ref: 'gcp-legacy', kind: 'cloud-account', provider: 'gke', account: serviceAccount.keyFile });
    assert.equal((await importer.http.post({ id: 'legacy', name: 'legacy', credentialRef: 'gcp-legacy', provider: 'gke', cloud: { clusterName: 'legacy', projectId: 'acme-legacy', location } })).status, 202);
    const imported = await importer.http.settled('legacy');
    assert.equal(imported.state, 'Imported', JSON.stringify(imported.reasons));
  });

  after(async () => {
    await importer.service.dispose();
    await apiServer.stop();
    await gcp.close();
    await deleteTestStreams(bus.jsm, importer.prefix);
    await bus.drain();
  });

  it('adopts it: the node pool read from GKE with the stored account, ClusterAdopted', async () => {
    const response = await importer.adopt('legacy');
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { provider: string; cloudName: string; nodePools: { name: string; count: number; machineSize: string }[] };
    assert.deepEqual([body.provider, body.cloudName], ['gke', 'legacy']);
    assert.deepEqual(body.nodePools.map((group) => [group.name, group.machineSize]), [['default-pool', 'e2-standard-4']]);
    const [adopted] = await waitForEvents(bus, importer.prefix, ClusterAdopted, 'legacy');
    assert.deepEqual([adopted?.data.provider, adopted?.data.region, adopted?.data.nodePools.map((group) => group.name)], ['gke', location, ['default-pool']]);
  });

  it('scales the adopted cluster at GKE: NodePoolScaled, the node pool at its new size, nothing else created', async () => {
    const createsBefore = gcp.counts().creates;
    await importer.publish(NodePoolScaleRequested, 'legacy', { pool: 'default-pool', count: 2 });
    const [scaled] = await waitForEvents(bus, importer.prefix, NodePoolScaled, 'legacy', 1, 20_000);
    assert.deepEqual([scaled?.data.model, scaled?.data.from, scaled?.data.to], ['public-cloud', 1, 2]);
    // Its size per zone, where GKE keeps it (a resize leaves initialNodeCount as created).
    assert.equal(poolState('default-pool')?.size, 2);
    assert.deepEqual(gcp.counts().creates, createsBefore);
  });
});
