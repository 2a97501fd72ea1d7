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
} from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { deleteTestStreams, eventually, TEST_NATS_URL } from '@flotilla/messaging/testing';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import pg from 'pg';
import type { ImporterConfig } from '../../src/config.js';
import { ImporterModule } from '../../src/importer.module.js';
import { cloudNameFor } from '../../src/managed/managed-cluster.js';
import { importerService } from '../../src/service.js';
import { EksStandin } from '../support/cloud-standins/eks-standin.js';
import { standinSettings } from '../support/cloud-standins/settings.js';
import { testTls } from '../support/cloud-standins/test-tls.js';
import { importerClient, importerTestEnv, waitForEvents } from '../support/importer-client.js';
import { eksClusterRequest as request, publisher, STANDIN_TIME_SCALE } from './support.js';

const account = { accessKeyId: 'AKIAMANAGEDEKSTEST01', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYMANAGEDKEY' };
const region = 'eu-west-1';

describe('public cloud clusters at EKS: the reconciler through EksLifecycle and @aws-sdk/client-eks against the stateful EKS stand-in', () => {
  let standin: EksStandin;
  let service: TestService;
  let bus: BusConnection;
  let prefix: string;
  const fast = { roundIntervalMs: 30, pollIntervalMs: 60, retryBaseMs: 60, maxRetryMs: 1_500, throttleFallbackMs: 300, operationTimeScale: STANDIN_TIME_SCALE };
  const start = (env: Record<string, string>) =>
    startTestService(
      { ...importerService, module: (config: ImporterConfig) => ImporterModule.register(config, { cloudSettings: standinSettings({ eks: standin.url }), managed: fast }) },
      env,
    );
  const publish = publisher(
    () => bus,
    () => prefix,
  );
  const creates = (clusterId: string, what = '') => standin.lifecycle.creates.get(what === '' ? `cluster/${region}/${cloudNameFor(clusterId)}` : `nodegroup/${region}/${cloudNameFor(clusterId)}/${what}`);

  before(async () => {
    testTls();
    standin = await EksStandin.start({
      durations: { createCluster: 300, deleteCluster: 150, updateClusterVersion: 200, createNodegroup: 200, deleteNodegroup: 150, updateNodegroupConfig: 100, updateNodegroupVersion: 150 },
      versions: { [region]: ['1.29', '1.30', '1.31'] },
    });
    standin.identities.set(account.accessKeyId, { ...account, arn: 'arn:aws:iam::123456789012:user/flotilla-importer', eksAllowed: true });
    service = await start(importerTestEnv());
    prefix = service.env['BUS_PREFIX']!;
    bus = await BusConnection.open(TEST_NATS_URL, 'importer-managed-eks-test');
    await importerClient(service).register({ ref: 'aws-fleet', kind: 'cloud-account', provider: 'eks', account });
  });

  after(async () => {
    await service.dispose();
    await standin.close();
    await deleteTestStreams(bus.jsm, prefix);
    await bus.drain();
  });

  it('creates a cluster to ClusterReady: one control plane, then one of each node group', async () => {
    await publish(ClusterRequested, 'payments', request('payments'));
    const [ready] = await waitForEvents(bus, prefix, ClusterReady, 'payments', 1, 30_000);
    assert.equal(ready?.data.model, 'public-cloud');
    assert.equal(ready?.data.nodeCount, 5);
    assert.match(ready?.data.kubernetesVersion ?? '', /^1\.30/);
    assert.match(ready?.data.apiServerEndpoint ?? '', /^https:\/\/.*\.eu-west-1\.eks\.amazonaws\.com$/);
    assert.deepEqual([creates('payments'), creates('payments', 'system'), creates('payments', 'workers')], [1, 1, 1]);
    // Once its node groups are started, the create looks at them alone: the control plane seen
    // ready then (its endpoint and version, in the ClusterReady above) is not described again.
    const name = cloudNameFor('payments');
    const calls = standin.server.calls.filter((call) => call.includes(`/clusters/${name}`));
    const started = calls.findLastIndex((call) => call === `POST /clusters/${name}/node-groups`);
    assert.ok(started > 0, `node groups created: ${calls.join(', ')}`);
    const after = calls.slice(started + 1);
    assert.ok(after.some((call) => call.startsWith(`GET /clusters/${name}/node-groups/`)), `node groups described after: ${after.join(', ')}`);
    assert.deepEqual(after.filter((call) => call === `GET /clusters/${name}`), [], `the cluster described again after its node groups started: ${after.join(', ')}`);
  });

  it('a replica stopped in the middle of a create: a new one resumes it from what EKS has, exactly one cluster and one of each node group', async () => {
    standin.lifecycle.durations.createCluster = 1_500;
    try {
      await publish(ClusterRequested, 'resumed', request('resumed'));
      await eventually(async () => Promise.resolve(creates('resumed')), 15_000, 'the control plane create');
      const env = service.env;
      await service.dispose({ keepSchema: true });
      service = await start(env);
      await waitForEvents(bus, prefix, ClusterReady, 'resumed', 1, 30_000);
      assert.deepEqual([creates('resumed'), creates('resumed', 'system'), creates('resumed', 'workers')], [1, 1, 1]);
    } finally {
      standin.lifecycle.durations.createCluster = 300;
    }
  });

  it('scales a node group to NodePoolScaled', async () => {
    await publish(NodePoolScaleRequested, 'payments', { pool: 'workers', count: 4 });
    const [scaled] = await waitForEvents(bus, prefix, NodePoolScaled, 'payments', 1, 30_000);
    assert.deepEqual([scaled?.data.from, scaled?.data.to, scaled?.data.requested], [3, 4, 4]);
  });

  it('upgrades one minor: the control plane, then each node group, to ClusterUpgraded', async () => {
    await publish(UpgradeStepApproved, 'payments', { planId: 'plan-7', toVersion: '1.31' });
    const [upgraded] = await waitForEvents(bus, prefix, ClusterUpgraded, 'payments', 1, 30_000);
    assert.equal(upgraded?.data.fromVersion, '1.30');
    assert.match(upgraded?.data.toVersion ?? '', /^1\.31/);
  });

  it('under EKS\'s rate limit: the account\'s gate is closed for the Retry-After, and the work still finishes', async () => {
    // Room for one step's calls at once (burst: a step makes up to six), refilled slower than the
    // reconciler looks again (it is throttled while it waits), and full again within the longest
    // backoff (maxRetryMs), so a throttled step goes through at last.
    standin.rateLimit = { requestsPerSecond: 4, burst: 6, fractionalRetryAfter: true };
    // The first call is throttled whatever the machine's speed (a slow reconciler may stay under the rate).
    standin.throttleNext = 1;
    standin.throttleNextRetryAfter = '0.400';
    try {
      await publish(ClusterDeletionRequested, 'resumed', { reason: 'test' });
      await waitForEvents(bus, prefix, ClusterDeleted, 'resumed', 1, 30_000);
      const client = new pg.Client({ connectionString: service.env['DATABASE_URL'] });
      await client.connect();
      try {
        const { rows } = await client.query<{ provider: string; credential_ref: string }>(`SELECT provider, credential_ref FROM "${service.env['DATABASE_SCHEMA']}".cloud_throttle_gates`);
        assert.deepEqual(rows, [{ provider: 'eks', credential_ref: 'aws-fleet' }], 'EKS throttled the account and the gate was closed');
      } finally {
        await client.end();
      }
    } finally {
      standin.rateLimit = null;
      standin.throttleNext = 0;
      standin.throttleNextRetryAfter = null;
    }
  });

  it('deletes a cluster: node groups, then the control plane; ClusterDeleted', async () => {
    await publish(ClusterDeletionRequested, 'payments', { reason: 'test' });
    const [deleted] = await waitForEvents(bus, prefix, ClusterDeleted, 'payments', 1, 30_000);
    assert.deepEqual(deleted?.data, { model: 'public-cloud' });
  });
});
