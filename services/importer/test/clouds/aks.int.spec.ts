import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import { freePort } from '@flotilla/messaging/testing';
import type { AzureAccount } from '../../src/clouds/accounts.js';
import { AksProvider } from '../../src/clouds/aks/aks-provider.js';
import { aksKubeconfig, AzureStandin, managedClusterBody } from '../support/cloud-standins/azure-standin.js';
import { cloudRejection } from '../support/cloud-standins/cloud-rejection.js';
import { standinSettings } from '../support/cloud-standins/settings.js';

const SUBSCRIPTION = '11111111-2222-3333-4444-555555555555';
const account: AzureAccount = { tenantId: '00000000-0000-0000-0000-0000000000aa', clientId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', clientSecret: 'Xy8Q~importer.secret-value_0123456789' };
const clusterCa = '-----BEGIN CERTIFICATE-----\nMIIE6DCCAtCgAwIBAgIQaks\n-----END CERTIFICATE-----\n';
const userCert = '-----BEGIN CERTIFICATE-----\nMIIFHjCCAwagAwIBAgIRAclusterUser\n-----END CERTIFICATE-----\n';
const userKey = '-----BEGIN RSA PRIVATE KEY-----\nMIIJKQIBAAKCAgEAclusterUserKey\n-----END RSA PRIVATE KEY-----\n';
const localToken = 'c0ffee0123456789abcdef0123456789c0ffee0123456789abcdef0123456789';

describe('AKS through @azure/arm-containerservice and @azure/identity against Entra ID and ARM stand-ins', () => {
  let standin: AzureStandin;
  let aks: AksProvider;

  before(async () => {
    standin = await AzureStandin.start();
    aks = new AksProvider(standinSettings({ aks: standin.url }));
  });
  after(async () => standin.close());

  beforeEach(() => {
    standin.principals.clear();
    standin.principals.set(account.clientId, { ...account, subscriptions: [SUBSCRIPTION] });
    standin.issued.clear();
    standin.throttleNext = 0;
    standin.pageSize = 1;
    standin.fixtures.length = 0;
    const prod = managedClusterBody({
      subscriptionId: SUBSCRIPTION,
      resourceGroup: 'rg-prod',
      name: 'prod',
      location: 'westeurope',
      version: '1.30.5',
      pools: [
        { name: 'system', count: 3, vmSize: 'Standard_D4s_v5', version: '1.30.5' },
        { name: 'gpu', count: 2, vmSize: 'Standard_NC6s_v3', version: '1.29.9' },
      ],
    });
    const corp = managedClusterBody({ subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-corp', name: 'corp', location: 'northeurope', version: '1.31.2', pools: [{ name: 'system', count: 2, vmSize: 'Standard_D2s_v5', version: '1.31.2' }], entraId: true });
    const idle = managedClusterBody({ subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-corp', name: 'idle', location: 'northeurope', version: '1.29.9', pools: [], powerState: 'Stopped' });
    standin.fixtures.push(
      { subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-prod', body: prod, kubeconfig: aksKubeconfig({ name: 'prod', resourceGroup: 'rg-prod', server: 'https://prod-dns-a1b2c3d4.hcp.westeurope.azmk8s.io:443', caPem: clusterCa, user: { token: localToken, certPem: userCert, keyPem: userKey } }) },
      { subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-corp', body: corp, kubeconfig: aksKubeconfig({ name: 'corp', resourceGroup: 'rg-corp', server: 'https://corp-dns-a1b2c3d4.hcp.northeurope.azmk8s.io:443', caPem: clusterCa, user: { kubeloginTenant: account.tenantId } }) },
      { subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-corp', body: idle, kubeconfig: '' },
    );
  });

  it('lists the managed clusters of a subscription across pages, signed in with the ARM scope', async () => {
    const clusters = await aks.listClusters(account, { provider: 'aks', subscriptionId: SUBSCRIPTION });
    assert.deepEqual(
      clusters.map(({ name, resourceGroup, location, version, status, endpoint }) => ({ name, resourceGroup, location, version, status, endpoint })),
      [
        { name: 'prod', resourceGroup: 'rg-prod', location: 'westeurope', version: '1.30.5', status: 'Succeeded', endpoint: 'https://prod-dns-a1b2c3d4.hcp.westeurope.azmk8s.io:443' },
        { name: 'corp', resourceGroup: 'rg-corp', location: 'northeurope', version: '1.31.2', status: 'Succeeded', endpoint: 'https://corp-dns-a1b2c3d4.hcp.northeurope.azmk8s.io:443' },
        { name: 'idle', resourceGroup: 'rg-corp', location: 'northeurope', version: '1.29.9', status: 'Stopped', endpoint: 'https://idle-dns-a1b2c3d4.hcp.northeurope.azmk8s.io:443' },
      ],
    );
    assert.deepEqual(clusters[0]?.nodeGroups, [
      { name: 'system', nodeCount: 3, instanceType: 'Standard_D4s_v5', version: '1.30.5' },
      { name: 'gpu', nodeCount: 2, instanceType: 'Standard_NC6s_v3', version: '1.29.9' },
    ]);
    assert.deepEqual([...standin.issued.values()].map((grant) => grant.scope), [`${standin.url}/.default`]);
    assert.ok(standin.server.calls.includes(`POST /${account.tenantId}/oauth2/v2.0/token`));
  });

  it('lists one resource group only when given', async () => {
    const clusters = await aks.listClusters(account, { provider: 'aks', subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-corp' });
    assert.deepEqual(clusters.map((cluster) => cluster.name), ['corp', 'idle']);
    assert.ok(standin.server.calls.includes(`GET /subscriptions/${SUBSCRIPTION}/resourceGroups/rg-corp/providers/Microsoft.ContainerService/managedClusters`));
  });

  it('describes one cluster', async () => {
    const cluster = await aks.describeCluster(account, { provider: 'aks', subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-prod', clusterName: 'prod' });
    assert.equal(cluster.version, '1.30.5');
    assert.deepEqual(cluster.nodeGroups.map((pool) => pool.name), ['system', 'gpu']);
  });

  it('gives API access to a local-accounts cluster from its user kubeconfig', async () => {
    const access = await aks.apiAccess(account, { provider: 'aks', subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-prod', clusterName: 'prod' });
    assert.equal(access.apiServer, 'https://prod-dns-a1b2c3d4.hcp.westeurope.azmk8s.io:443');
    assert.equal(access.caCertificatePem, clusterCa);
    assert.ok(access.auth.kind === 'bearer-token');
    assert.equal(access.auth.token.revealString(), localToken);
    assert.equal(access.expiresAt, null);
    assert.equal(access.cloudVersion, '1.30.5');
    assert.ok(!inspect(access).includes(localToken) && !JSON.stringify(access).includes(localToken));
    assert.ok(standin.server.calls.includes(`POST /subscriptions/${SUBSCRIPTION}/resourceGroups/rg-prod/providers/Microsoft.ContainerService/managedClusters/prod/listClusterUserCredential`));
  });

  it('gives API access to an Entra ID cluster with a token for the AKS server application', async () => {
    const before = Date.now();
    const access = await aks.apiAccess(account, { provider: 'aks', subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-corp', clusterName: 'corp' });
    assert.equal(access.apiServer, 'https://corp-dns-a1b2c3d4.hcp.northeurope.azmk8s.io:443');
    assert.ok(access.auth.kind === 'bearer-token');
    const grant = standin.issued.get(access.auth.token.revealString());
    assert.deepEqual(grant, { clientId: account.clientId, scope: '6dae42f8-4368-4678-94ff-3960e28e3630/.default' });
    const expiresAt = Date.parse(access.expiresAt ?? '');
    assert.ok(expiresAt > before + 50 * 60_000 && expiresAt <= Date.now() + 3600_000, `expiresAt ${access.expiresAt}`);
  });

  it('names what went wrong, never the client secret', async () => {
    const wrongSecret = await cloudRejection(aks.listClusters({ ...account, clientSecret: 'not-the-client-secret' }, { provider: 'aks', subscriptionId: SUBSCRIPTION }));
    assert.equal(wrongSecret.code, 'cloud-auth-failed');
    assert.ok(!wrongSecret.message.includes('not-the-client-secret'));

    const unknownClient = await cloudRejection(aks.listClusters({ ...account, clientId: 'ffffffff-0000-0000-0000-000000000000' }, { provider: 'aks', subscriptionId: SUBSCRIPTION }));
    assert.equal(unknownClient.code, 'cloud-auth-failed');

    const otherSubscription = await cloudRejection(aks.listClusters(account, { provider: 'aks', subscriptionId: '99999999-2222-3333-4444-555555555555' }));
    assert.equal(otherSubscription.code, 'cloud-access-denied');

    const missing = await cloudRejection(aks.apiAccess(account, { provider: 'aks', subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-prod', clusterName: 'nope' }));
    assert.equal(missing.code, 'cloud-cluster-not-found');
    assert.match(missing.message, /rg-prod\/nope/);

    standin.throttleNext = 5;
    assert.equal((await cloudRejection(aks.describeCluster(account, { provider: 'aks', subscriptionId: SUBSCRIPTION, resourceGroup: 'rg-prod', clusterName: 'prod' }))).code, 'cloud-throttled');

    for (const error of [wrongSecret, unknownClient, otherSubscription, missing]) assert.ok(!error.message.includes(account.clientSecret));
  });

  it('reports an authority that does not answer as cloud-unreachable', async () => {
    const port = await freePort();
    const nowhere = new AksProvider({ ...standinSettings({ aks: standin.url }), aks: { endpoint: standin.url, authorityHost: `https://127.0.0.1:${port}`, credentialScope: `${standin.url}/.default` } });
    assert.equal((await cloudRejection(nowhere.listClusters(account, { provider: 'aks', subscriptionId: SUBSCRIPTION }))).code, 'cloud-unreachable');
  });
});
