import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterReady } from '@flotilla/contracts';
import { eventsOf, eventually } from '@flotilla/messaging/testing';
import { cloudNameFor } from '../../src/managed/managed-cluster.js';
import { AzureStandin } from '../support/cloud-standins/azure-standin.js';
import { ImporterProcesses } from './importer-process.js';

const account = { tenantId: '00000000-0000-0000-0000-0000000000dd', clientId: 'dddddddd-eeee-ffff-0000-111111111111', clientSecret: 'Kq7Q~process.kill-secret_0123456789' };
const subscriptionId = '11111111-2222-3333-4444-888888888888';
const resourceGroup = 'rg-killed';
const clusterId = 'killed-aks';

describe('the importer process killed with SIGKILL in the middle of a public cloud create (AKS): restarted, it finishes it from what ARM has', () => {
  let arm: AzureStandin;
  let importers: ImporterProcesses;
  // ARM's clock, held while a process dies so no operation can end before the kill.
  let held: number | null = null;
  const cloudName = cloudNameFor(clusterId);
  const cluster = () => arm.managed.find(subscriptionId, resourceGroup, cloudName);
  /** Creates at ARM of this cluster's resources (the cluster, the System pool AKS needs, each agent pool). */
  const creates = () => Object.entries(arm.counts().creates).filter(([resource]) => resource.startsWith(`${resourceGroup}/${cloudName}`));

  before(async () => {
    arm = await AzureStandin.start({ durations: { clusterCreate: 800, poolCreate: 600 }, clock: () => held ?? Date.now() });
    arm.principals.set(account.clientId, { ...account, subscriptions: [subscriptionId] });
    importers = await ImporterProcesses.open({ CLOUD_AZURE_ARM_ENDPOINT: arm.url, CLOUD_AZURE_AUTHORITY_HOST: arm.url });
  });

  after(async () => {
    await importers.close();
    await arm.close();
  });

  it('killed while the managed cluster is Creating, then while its agent pools are Creating: ClusterReady once, each resource created once at ARM', async () => {
    const first = await importers.start();
    await importers.registerAccount('azure-fleet', 'aks', account);
    held = Date.now();
    await importers.request(clusterId, {
      name: clusterId,
      model: 'public-cloud',
      kubernetesVersion: '1.31',
      nodePools: [
        { name: 'apps', count: 2, machineSize: 'Standard_D4s_v5', labels: {}, taints: [] },
        { name: 'batch', count: 1, machineSize: 'Standard_D8s_v5', maxCount: 3, labels: {}, taints: [] },
      ],
      network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
      cloud: { provider: 'aks', credentialRef: 'azure-fleet', region: 'westeurope', subscriptionId, resourceGroup, networking: {}, endpointAccess: 'public', tags: {} },
    });
    await eventually(() => (cluster() !== undefined ? true : undefined), 60_000, 'the managed cluster create at ARM');
    await importers.kill(first);
    assert.equal(cluster()?.provisioningState, 'Creating', 'killed while the managed cluster was being created');

    const second = await importers.start();
    held = null;
    const userPools = () => [...(cluster()?.pools.values() ?? [])].filter((pool) => pool.mode === 'User');
    await eventually(() => (userPools().length > 0 ? true : undefined), 60_000, 'an agent pool create at ARM');
    held = Date.now();
    await importers.kill(second);
    assert.ok(userPools().every((pool) => pool.provisioningState === 'Creating'), `killed while agent pools were being created: ${JSON.stringify(userPools().map((pool) => [pool.name, pool.provisioningState]))}`);

    await importers.start();
    held = null;
    const [ready] = await eventually(async () => {
      const seen = await eventsOf(importers.bus, importers.prefix, ClusterReady, clusterId);
      return seen.length > 0 ? seen : undefined;
    }, 60_000, 'ClusterReady');
    assert.equal(ready?.data.nodeCount, 3);

    // The cluster, its System pool and each agent pool: once each.
    const made = creates();
    assert.equal(made.length, 4, JSON.stringify(made));
    assert.ok(made.every(([, count]) => count === 1), JSON.stringify(made));
    assert.deepEqual(userPools().map((pool) => [pool.name, pool.provisioningState]).sort(), [
      ['apps', 'Succeeded'],
      ['batch', 'Succeeded'],
    ]);
    assert.deepEqual(await importers.managedRow(clusterId), [{ phase: 'Running', work: null }]);
    assert.equal((await eventsOf(importers.bus, importers.prefix, ClusterReady, clusterId)).length, 1);
  });
});
