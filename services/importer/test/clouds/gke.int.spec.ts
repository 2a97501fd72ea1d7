import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import { freePort } from '@flotilla/messaging/testing';
import { CloudError } from '../../src/clouds/errors.js';
import { GkeProvider } from '../../src/clouds/gke/gke-provider.js';
import { GcpStandin, gkeClusterBody, newServiceAccount } from '../support/cloud-standins/gcp-standin.js';
import { standinSettings } from '../support/cloud-standins/settings.js';

const clusterCa = '-----BEGIN CERTIFICATE-----\nMIIELTCCApWgAwIBAgIRAgke\n-----END CERTIFICATE-----\n';
const serviceAccount = newServiceAccount('flotilla-importer@acme-prod.iam.gserviceaccount.com', ['acme-prod']);
const account = serviceAccount.keyFile;

async function rejection(promise: Promise<unknown>): Promise<CloudError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CloudError, `expected a CloudError, got ${inspect(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

describe('GKE through @google-cloud/container (REST) and google-auth-library against GCP stand-ins', () => {
  let standin: GcpStandin;
  let gke: GkeProvider;

  before(async () => {
    standin = await GcpStandin.start();
    gke = new GkeProvider(standinSettings({ gke: standin.url }));
  });
  after(async () => standin.close());

  beforeEach(() => {
    standin.accounts.clear();
    standin.addAccount(serviceAccount);
    standin.issued.clear();
    standin.apiAuth.length = 0;
    standin.throttleNext = 0;
    standin.refuseTokens = false;
    standin.fixtures.length = 0;
    standin.fixtures.push(
      {
        projectId: 'acme-prod',
        body: gkeClusterBody({
          projectId: 'acme-prod',
          name: 'web',
          location: 'europe-west1',
          version: '1.30.5-gke.1014001',
          caPem: clusterCa,
          pools: [
            { name: 'default-pool', perZone: 1, machineType: 'e2-standard-4', zones: ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'], version: '1.30.5-gke.1014001' },
            { name: 'highmem', perZone: 2, machineType: 'n2-highmem-8', zones: ['europe-west1-b'], version: '1.29.9-gke.1177000' },
          ],
        }),
      },
      { projectId: 'acme-prod', body: gkeClusterBody({ projectId: 'acme-prod', name: 'ops', location: 'us-central1-a', version: '1.31.1-gke.1678000', caPem: clusterCa, pools: [], status: 'PROVISIONING' }) },
    );
  });

  it('lists the clusters of a project in every location with their node pools', async () => {
    const clusters = await gke.listClusters(account, { provider: 'gke', projectId: 'acme-prod' });
    assert.deepEqual(
      clusters.map(({ name, location, version, status, endpoint }) => ({ name, location, version, status, endpoint })),
      [
        { name: 'web', location: 'europe-west1', version: '1.30.5-gke.1014001', status: 'RUNNING', endpoint: 'https://34.76.12.34' },
        { name: 'ops', location: 'us-central1-a', version: '1.31.1-gke.1678000', status: 'PROVISIONING', endpoint: 'https://34.76.12.34' },
      ],
    );
    assert.deepEqual(clusters[0]?.nodeGroups, [
      { name: 'default-pool', nodeCount: 3, instanceType: 'e2-standard-4', version: '1.30.5-gke.1014001' },
      { name: 'highmem', nodeCount: 2, instanceType: 'n2-highmem-8', version: '1.29.9-gke.1177000' },
    ]);
    assert.ok(standin.server.calls.includes('GET /v1/projects/acme-prod/locations/-/clusters'));
    assert.ok(standin.apiAuth.length > 0);
  });

  it('lists one location only when given, and describes one cluster', async () => {
    const clusters = await gke.listClusters(account, { provider: 'gke', projectId: 'acme-prod', location: 'us-central1-a' });
    assert.deepEqual(clusters.map((cluster) => cluster.name), ['ops']);
    const web = await gke.describeCluster(account, { provider: 'gke', projectId: 'acme-prod', location: 'europe-west1', clusterName: 'web' });
    assert.equal(web.version, '1.30.5-gke.1014001');
    assert.equal(web.nodeGroups.length, 2);
  });

  it('gives API access: endpoint, cluster CA and an OAuth 2.0 access token of the service account', async () => {
    const started = Date.now();
    const access = await gke.apiAccess(account, { provider: 'gke', projectId: 'acme-prod', location: 'europe-west1', clusterName: 'web' });
    assert.equal(access.apiServer, 'https://34.76.12.34');
    assert.equal(access.caCertificatePem, clusterCa);
    assert.equal(access.cloudVersion, '1.30.5-gke.1014001');
    assert.ok(access.auth.kind === 'bearer-token');
    const token = access.auth.token.revealString();
    // Issued by the token endpoint for this account, for the cloud-platform scope.
    assert.deepEqual(standin.issued.get(token), { email: account.client_email, scope: 'https://www.googleapis.com/auth/cloud-platform' });
    assert.ok(standin.server.calls.includes('POST /token'));
    const expiresAt = Date.parse(access.expiresAt ?? '');
    assert.ok(expiresAt > started + 50 * 60_000 && expiresAt <= Date.now() + 3600_000, `expiresAt ${access.expiresAt}`);
    assert.ok(!inspect(access).includes(token) && !JSON.stringify(access).includes(token));
  });

  it('names what went wrong, never the private key', async () => {
    const missing = await rejection(gke.apiAccess(account, { provider: 'gke', projectId: 'acme-prod', location: 'europe-west1', clusterName: 'nope' }));
    assert.equal(missing.code, 'cloud-cluster-not-found');
    assert.match(missing.message, /clusters\/nope/);

    const denied = await rejection(gke.listClusters(account, { provider: 'gke', projectId: 'someone-else' }));
    assert.equal(denied.code, 'cloud-access-denied');

    // A key the stand-in does not know (deleted, or another account's).
    const stranger = newServiceAccount('stranger@acme-prod.iam.gserviceaccount.com', ['acme-prod']).keyFile;
    const unknown = await rejection(gke.listClusters(stranger, { provider: 'gke', projectId: 'acme-prod' }));
    assert.equal(unknown.code, 'cloud-auth-failed');

    // The API answers but the token endpoint refuses (a disabled account): the Kubernetes token fails.
    standin.refuseTokens = true;
    const refused = await rejection(gke.apiAccess(account, { provider: 'gke', projectId: 'acme-prod', location: 'europe-west1', clusterName: 'web' }));
    assert.equal(refused.code, 'cloud-auth-failed');
    assert.match(refused.message, /access token for the service account: invalid_grant/);
    standin.refuseTokens = false;

    standin.throttleNext = 5;
    assert.equal((await rejection(gke.listClusters(account, { provider: 'gke', projectId: 'acme-prod' }))).code, 'cloud-throttled');

    for (const error of [missing, denied, unknown, refused]) assert.ok(!error.message.includes('PRIVATE KEY'));
  });

  it('reports an API that does not answer as cloud-unreachable', async () => {
    const port = await freePort();
    const nowhere = new GkeProvider(standinSettings({ gke: `https://127.0.0.1:${port}` }));
    assert.equal((await rejection(nowhere.listClusters(account, { provider: 'gke', projectId: 'acme-prod' }))).code, 'cloud-unreachable');
  });
});
