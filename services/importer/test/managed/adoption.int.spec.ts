import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterAdopted, ClusterDeleted, ClusterDeletionRequested, NodePoolScaled, NodePoolScaleRequested } from '@flotilla/contracts';
import { OWNERSHIP_TAG } from '../../src/clouds/lifecycle.js';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import type { ImporterConfig } from '../../src/config.js';
import { ImporterModule } from '../../src/importer.module.js';
import { importerService } from '../../src/service.js';
import { eksClusterBody, eksNodegroupBody, EksStandin } from '../support/cloud-standins/eks-standin.js';
import { standinSettings } from '../support/cloud-standins/settings.js';
import { eksCluster } from '../support/cluster-fixtures.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { importerClient, importerTestEnv, waitForEvents } from '../support/importer-client.js';
import { createTestPki } from '../support/pki.js';
import { publisher, STANDIN_TIME_SCALE } from './support.js';

describe('adopting an imported EKS cluster: its node groups become its desired state, then it is scaled like a cluster Flotilla created', () => {
  const pki = createTestPki();
  const awsKey = { accessKeyId: 'AKIAADOPTIONTEST0001', secretAccessKey: 'adoption/cloud+key/0123456789abcdefghij' };
  const region = 'eu-central-1';
  let eks: EksStandin;
  let apiServer: FakeApiServer;
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  let http: ReturnType<typeof importerClient>;
  const publish = publisher(
    () => bus,
    () => prefix,
  );
  const adopt = async (id: string, role: 'operator' | 'viewer' = 'operator') =>
    fetch(`${service.url}/api/v1/connected-clusters/${id}/adoption`, { method: 'POST', headers: await service.auth(role) });

  before(async () => {
    apiServer = await FakeApiServer.start({ pki, clusters: new Map([['/shop', { ...eksCluster(3), acceptToken: (token) => token.startsWith('k8s-aws-v1.') }]]) });
    eks = await EksStandin.start({ durations: { updateNodegroupConfig: 100 } });
    eks.identities.set(awsKey.accessKeyId, { ...awsKey, arn: 'arn:aws:iam::123456789012:user/importer', eksAllowed: true });
    eks.fixtures.push({
      region,
      cluster: { ...eksClusterBody('shop', region, '1.31', pki.caCertificatePem), endpoint: apiServer.url('/shop') },
      nodegroups: [eksNodegroupBody('shop', region, 'general-purpose', 3, 'm5.xlarge', '1.31')],
    });
    const cloudSettings = standinSettings({ eks: eks.url });
    service = await startTestService(
      { ...importerService, module: (config: ImporterConfig) => ImporterModule.register(config, { cloudSettings, managed: { roundIntervalMs: 30, pollIntervalMs: 50, operationTimeScale: STANDIN_TIME_SCALE } }) },
      importerTestEnv(),
    );
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-adoption-test');
    http = importerClient(service);
    await http.register({ ref: 'aws-shop', kind: 'cloud-account', provider: 'eks', account: awsKey });
    assert.equal((await http.post({ id: 'shop', name: 'shop', credentialRef: 'aws-shop', provider: 'eks', cloud: { clusterName: 'shop', region } })).status, 202);
    assert.equal((await http.settled('shop')).state, 'Imported');
  });

  after(async () => {
    await service.dispose();
    await apiServer.stop();
    await eks.close();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('a viewer may not adopt; an unknown cluster is 404', async () => {
    assert.equal((await adopt('shop', 'viewer')).status, 403);
    assert.equal((await adopt('nowhere')).status, 404);
  });

  it('adopts it: its node groups read from EKS with the stored account, ClusterAdopted; a second adoption is refused', async () => {
    const response = await adopt('shop');
    assert.equal(response.status, 200, await response.clone().text());
    const body = (await response.json()) as { cloudName: string; nodePools: unknown[] };
    assert.equal(body.cloudName, 'shop');
    const pools = [{ name: 'general-purpose', count: 3, machineSize: 'm5.xlarge', minCount: 1, maxCount: 5 }];
    assert.deepEqual(body.nodePools, pools);
    const [adopted] = await waitForEvents(bus, prefix, ClusterAdopted, 'shop');
    assert.deepEqual(adopted?.data, { model: 'public-cloud', provider: 'eks', region, kubernetesVersion: '1.31', nodePools: pools });
    const again = await adopt('shop');
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { code: string }).code, 'cluster-managed');
  });

  it('scales the adopted cluster at EKS: NodePoolScaled, the node group at its new size', async () => {
    await publish(NodePoolScaleRequested, 'shop', { pool: 'general-purpose', count: 6 });
    const [scaled] = await waitForEvents(bus, prefix, NodePoolScaled, 'shop', 1, 20_000);
    assert.deepEqual([scaled?.data.model, scaled?.data.from, scaled?.data.to], ['public-cloud', 3, 6]);
    const nodegroup = eks.fixtures[0]?.nodegroups.find((group) => group.nodegroupName === 'general-purpose');
    assert.deepEqual(nodegroup?.scalingConfig, { minSize: 1, maxSize: 6, desiredSize: 6 });
  });

  it('deletes the adopted cluster at EKS: adoption tagged it and its node groups as Flotilla\'s, so they may go; ClusterDeleted', async () => {
    const fixture = eks.fixtures[0];
    assert.equal((fixture?.cluster.tags as Record<string, string> | undefined)?.[OWNERSHIP_TAG], 'shop', 'the cluster carries the ownership tag');
    for (const group of fixture?.nodegroups ?? []) assert.equal((group.tags as Record<string, string> | undefined)?.[OWNERSHIP_TAG], 'shop', `node group ${group.nodegroupName}`);
    await publish(ClusterDeletionRequested, 'shop', { reason: 'test' });
    const [deleted] = await waitForEvents(bus, prefix, ClusterDeleted, 'shop', 1, 30_000);
    assert.deepEqual(deleted?.data, { model: 'public-cloud' });
  });
});
