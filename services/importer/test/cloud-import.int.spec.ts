import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterImported, type AuditRecord } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import pg from 'pg';
import type { ImporterConfig } from '../src/config.js';
import { ImporterModule } from '../src/importer.module.js';
import { importerService } from '../src/service.js';
import { eksClusterBody, eksNodegroupBody, EksStandin } from './support/cloud-standins/eks-standin.js';
import { standinSettings } from './support/cloud-standins/settings.js';
import { eksCluster } from './support/cluster-fixtures.js';
import { FakeApiServer } from './support/fake-apiserver.js';
import { importerClient, importerTestEnv, waitForEvents } from './support/importer-client.js';
import { createTestPki } from './support/pki.js';

/** What aws-iam-authenticator accepts: `k8s-aws-v1.` + a presigned STS GetCallerIdentity URL bound to the cluster name. */
function looksLikeEksToken(token: string, clusterName: string): boolean {
  if (!token.startsWith('k8s-aws-v1.')) return false;
  const url = Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8');
  return url.includes('Action=GetCallerIdentity') && /X-Amz-SignedHeaders=host%3Bx-k8s-aws-id/i.test(url) && clusterName.length > 0;
}

describe('importing an EKS cluster through its cloud account (SDK -> endpoint, CA, token -> the same Kubernetes check)', () => {
  const pki = createTestPki();
  const awsKey = { accessKeyId: 'AKIAIMPORTERCLOUD001', secretAccessKey: 'importer/cloud+key/0123456789abcdefghij' };
  let eks: EksStandin;
  let apiServer: FakeApiServer;
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let http: ReturnType<typeof importerClient>;

  before(async () => {
    apiServer = await FakeApiServer.start({ pki, clusters: new Map([['/shop', { ...eksCluster(3), acceptToken: (token) => looksLikeEksToken(token, 'shop') }]]) });
    eks = await EksStandin.start();
    eks.identities.set(awsKey.accessKeyId, { ...awsKey, arn: 'arn:aws:iam::123456789012:user/importer', eksAllowed: true });
    eks.fixtures.push({
      region: 'eu-central-1',
      cluster: { ...eksClusterBody('shop', 'eu-central-1', '1.31', pki.caCertificatePem), endpoint: apiServer.url('/shop') },
      nodegroups: [eksNodegroupBody('shop', 'eu-central-1', 'general-purpose', 3, 'm5.xlarge', '1.31')],
    });
    const cloudSettings = standinSettings({ eks: eks.url });
    service = await startTestService({ ...importerService, module: (config: ImporterConfig) => ImporterModule.register(config, { cloudSettings }) }, importerTestEnv());
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-cloud-test');
    http = importerClient(service);
    await http.register({ ref: 'aws-shop', kind: 'cloud-account', provider: 'eks', account: awsKey });
  });

  after(async () => {
    await service.dispose();
    await apiServer.stop();
    await eks.close();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('lists the clusters the stored account sees', async () => {
    const response = await http.api('/api/v1/cloud-accounts/aws-shop/clusters?provider=eks&region=eu-central-1');
    assert.equal(response.status, 200);
    const body = (await response.json()) as { items: { name: string; endpoint: string }[] };
    assert.deepEqual(body.items.map((cluster) => [cluster.name, cluster.endpoint]), [['shop', apiServer.url('/shop')]]);
  });

  it('imports it: the provider gives endpoint, CA and an EKS token; the cluster answers like any other', async () => {
    const response = await http.post({ id: 'shop', name: 'shop', credentialRef: 'aws-shop', provider: 'eks', cloud: { clusterName: 'shop', region: 'eu-central-1' } });
    assert.equal(response.status, 202);
    const cluster = await http.settled('shop');
    assert.equal(cluster.state, 'Imported', JSON.stringify(cluster.reasons));
    assert.deepEqual([cluster.distribution, cluster.kubernetesVersion, cluster.nodeCount], ['eks', 'v1.31.5-eks-8cce635', 3]);
    const [imported] = await waitForEvents(bus, prefix, ClusterImported, 'shop');
    assert.ok(!imported?.data.warnings.some((warning) => warning.code === 'credential-expires'), 'the short-lived EKS token is renewed at each check: no expiry warning');
  });

  it('a cluster the account cannot find: cloud-access-failed naming it', async () => {
    assert.equal((await http.post({ id: 'ghost', name: 'ghost', credentialRef: 'aws-shop', provider: 'eks', cloud: { clusterName: 'ghost', region: 'eu-central-1' } })).status, 202);
    const cluster = await http.settled('ghost');
    assert.deepEqual(cluster.reasons.map((reason) => reason.code), ['cloud-access-failed']);
    assert.match(cluster.reasons[0]?.message ?? '', /ghost/);
    assert.ok(!JSON.stringify(cluster).includes(awsKey.secretAccessKey));
  });

  it('a cloud account for a cluster without its location: cloud-location-required at once', async () => {
    assert.equal((await http.post({ id: 'nowhere', name: 'nowhere', credentialRef: 'aws-shop', provider: 'eks' })).status, 202);
    const cluster = await http.settled('nowhere');
    assert.deepEqual(cluster.reasons.map((reason) => [reason.code, reason.field]), [['cloud-location-required', 'cloud']]);
  });

  it('every use of the stored account is in the audit trail: who, for which cluster, the outcome; never the account', async () => {
    const client = new pg.Client({ connectionString: service.env['DATABASE_URL'] });
    await client.connect();
    try {
      const { rows } = await client.query<{ record: AuditRecord }>(`SELECT record FROM "${service.env['DATABASE_SCHEMA']}".audit_records WHERE record->>'route' = 'cloud-account' ORDER BY time`);
      const uses = rows.map(({ record }) => record);
      assert.ok(uses.every((use) => use.method === 'USE' && use.service === 'importer'));
      // The listing, by the admin who asked.
      assert.ok(uses.some((use) => use.subject === 'test-admin' && use.clusterId === undefined && use.result === 'ok' && use.reason === 'cloud account "aws-shop": list eks clusters'), JSON.stringify(uses));
      // The import (and any sync since), and the cluster the account cannot find.
      assert.ok(uses.some((use) => use.clusterId === 'shop' && use.result === 'ok' && use.reason === 'cloud account "aws-shop": eks API access to shop'), JSON.stringify(uses));
      assert.ok(uses.some((use) => use.clusterId === 'ghost' && use.result === 'failed' && /^cloud account "aws-shop": .*ghost/.test(use.reason ?? '')), JSON.stringify(uses));
      // No location: the account was never used.
      assert.ok(!uses.some((use) => use.clusterId === 'nowhere'));
      const everything = JSON.stringify(uses);
      assert.ok(!everything.includes(awsKey.secretAccessKey) && !everything.includes(awsKey.accessKeyId), 'no part of the account in the audit trail');
    } finally {
      await client.end();
    }
  });
});
