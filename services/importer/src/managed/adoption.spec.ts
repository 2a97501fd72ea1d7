import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CloudCluster } from '../clouds/cloud-provider.js';
import type { ConnectedCluster } from '../domain/connected-cluster.js';
import { adoptedCluster, adoptedEvent, adoptionRefusal, placeOfImport } from './adoption.js';

const now = new Date('2026-12-06T12:00:00Z');
const imported = (overrides: Partial<ConnectedCluster> = {}): ConnectedCluster => ({
  id: 'shop',
  name: 'shop',
  provider: 'aks',
  apiServer: null,
  cloud: { clusterName: 'shop-aks', subscriptionId: 'sub-1', resourceGroup: 'rg-shop' },
  credentialRef: 'azure-main',
  state: 'Imported',
  attempt: 1,
  requestEventId: 'r-1',
  kubernetesVersion: 'v1.31.5',
  distribution: 'aks',
  nodeCount: 4,
  reasons: [],
  warnings: [],
  policyRevision: 'rev-1',
  requestedAt: now.toISOString(),
  checkStartedAt: null,
  importedAt: now.toISOString(),
  deletedAt: null,
  lastEventTime: now.toISOString(),
  ...overrides,
});
const described: CloudCluster = { provider: 'aks', name: 'shop-aks', location: 'westeurope', resourceGroup: 'rg-shop', version: '1.31.5', status: 'Succeeded', endpoint: 'https://shop.hcp.westeurope.azmk8s.io', nodeGroups: [] };

describe('adopting an imported cloud cluster', () => {
  it('given an imported AKS cluster: its place from the import and the cloud, its node groups as they are, Running with no work', () => {
    const place = placeOfImport('aks', imported().cloud!, described);
    assert.deepEqual(place, { provider: 'aks', subscriptionId: 'sub-1', resourceGroup: 'rg-shop', location: 'westeurope' });
    const cluster = adoptedCluster(imported(), place, described, [{ name: 'system', state: 'ready', version: '1.31', instanceType: 'Standard_D4s_v5', minSize: 1, maxSize: 5, desiredSize: 2, failure: null }], now);
    assert.deepEqual([cluster.phase, cluster.work, cluster.adopted, cluster.cloudName, cluster.spec.kubernetesVersion], ['Running', null, true, 'shop-aks', '1.31']);
    assert.deepEqual(adoptedEvent(cluster, described), {
      model: 'public-cloud',
      provider: 'aks',
      region: 'westeurope',
      kubernetesVersion: '1.31.5',
      nodePools: [{ name: 'system', count: 2, machineSize: 'Standard_D4s_v5', minCount: 1, maxCount: 5 }],
    });
  });

  it('refuses what cannot be adopted, each with its status', () => {
    const refused = (cluster: ConnectedCluster | undefined, managed = false) =>
      adoptionRefusal(cluster, 'shop', managed ? adoptedCluster(imported(), placeOfImport('aks', imported().cloud!, described), described, [], now) : undefined);
    assert.equal(refused(imported()), undefined);
    assert.equal(refused(imported({ state: 'Unreachable' })), undefined);
    assert.deepEqual([refused(undefined)?.status, refused(imported({ deletedAt: now.toISOString() }))?.code], [404, 'cluster-not-found']);
    assert.deepEqual([refused(imported({ provider: 'cncf', cloud: null }))?.status, refused(imported({ provider: 'cncf', cloud: null }))?.code], [422, 'cluster-not-cloud']);
    assert.deepEqual([refused(imported({ state: 'Checking' }))?.status, refused(imported({ state: 'Checking' }))?.code], [409, 'cluster-not-imported']);
    assert.deepEqual([refused(imported(), true)?.status, refused(imported(), true)?.code], [409, 'cluster-managed']);
  });
});
