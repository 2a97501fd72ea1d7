import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AwsAccount } from '../../src/clouds/accounts.js';
import { EksLifecycle } from '../../src/clouds/eks/eks-lifecycle.js';
import { isTransientCloudError } from '../../src/clouds/errors.js';
import { OWNERSHIP_TAG, type CloudClusterSpec, type CloudNodeGroupSpec, type CloudOperationStatus, type CloudTarget } from '../../src/clouds/lifecycle.js';
import { cloudRejection } from '../support/cloud-standins/cloud-rejection.js';
import { eksClusterBody, eksNodegroupBody, EksStandin } from '../support/cloud-standins/eks-standin.js';
import { standinSettings } from '../support/cloud-standins/settings.js';
import { testTls } from '../support/cloud-standins/test-tls.js';

const account: AwsAccount = { accessKeyId: 'AKIALIFECYCLETEST001', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYLIFECYCLEKEY' };
const region = 'eu-west-1';
const clusterId = '3f0c2a54-0d3e-4a8e-9d61-6f1f5b9c1a01';

const target = (clusterName = 'flotilla-3f0c2a54'): CloudTarget => ({ provider: 'eks', region, clusterName });
const spec = (kubernetesVersion = '1.30', owner = clusterId): CloudClusterSpec => ({
  kubernetesVersion,
  endpointAccess: 'public',
  networking: {
    provider: 'eks',
    subnetIds: ['subnet-0a', 'subnet-0b'],
    securityGroupIds: ['sg-0c'],
    clusterRoleArn: 'arn:aws:iam::123456789012:role/flotilla-eks-cluster',
    nodeRoleArn: 'arn:aws:iam::123456789012:role/flotilla-eks-node',
  },
  tags: { [OWNERSHIP_TAG]: owner, team: 'payments' },
});
const group = (name: string, desiredSize = 2): CloudNodeGroupSpec => ({
  name,
  instanceType: 'm6i.large',
  minSize: 1,
  maxSize: 5,
  desiredSize,
  labels: { pool: name },
  taints: name === 'system' ? [{ key: 'CriticalAddonsOnly', value: 'true', effect: 'NoSchedule' }] : [],
});

/** Polls as the reconciler does until `done` holds of what `read` gives. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`still not there after ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('EKS lifecycle through @aws-sdk/client-eks against a stateful EKS stand-in', () => {
  let standin: EksStandin;
  let eks: EksLifecycle;

  const finished = (operation: string | null): Promise<CloudOperationStatus> => {
    assert.ok(operation !== null, 'expected an update id');
    return until(
      () => eks.operationStatus(account, target(), operation),
      (status) => status.done,
    );
  };

  /** A cluster at `version` with the node groups `names`, all ACTIVE. */
  async function readyCluster(version: string, names: string[]): Promise<void> {
    await eks.createCluster(account, target(), spec(version), [], 'create-cluster');
    await until(
      () => eks.findCluster(account, target()),
      (cluster) => cluster?.state === 'ready',
    );
    for (const name of names) await eks.createNodeGroup(account, target(), spec(version), group(name), `create-${name}`);
    await until(
      () => eks.listNodeGroups(account, target()),
      (groups) => groups.length === names.length && groups.every((nodegroup) => nodegroup.state === 'ready'),
    );
  }

  before(async () => {
    testTls();
    standin = await EksStandin.start({
      // Tests that look at a resource while an operation runs pause the stand-in's clock meanwhile.
      durations: { createCluster: 200, deleteCluster: 150, updateClusterVersion: 150, createNodegroup: 150, deleteNodegroup: 150, updateNodegroupConfig: 100, updateNodegroupVersion: 150 },
      versions: { [region]: ['1.29', '1.30', '1.31', '1.32'], 'eu-south-2': ['1.29', '1.30'] },
    });
    eks = new EksLifecycle(standinSettings({ eks: standin.url }));
  });
  after(async () => standin.close());

  beforeEach(() => {
    standin.identities.clear();
    standin.identities.set(account.accessKeyId, { ...account, arn: 'arn:aws:iam::123456789012:user/flotilla-importer', eksAllowed: true });
    standin.fixtures.length = 0;
    standin.resetCounts();
    standin.rateLimit = null;
    standin.lifecycle.clusterQuota = 100;
  });

  it('offers the versions of each region', async () => {
    assert.deepEqual(await eks.offeredVersions(account, { provider: 'eks', region }), ['1.29', '1.30', '1.31', '1.32']);
    assert.deepEqual(await eks.offeredVersions(account, { provider: 'eks', region: 'eu-south-2' }), ['1.29', '1.30']);
  });

  it('creates the control plane, then two node groups once it is ACTIVE, through the real status words', async () => {
    assert.equal(await eks.findCluster(account, target()), null);
    standin.lifecycle.pause();
    assert.equal(await eks.createCluster(account, target(), spec('1.31'), [], 'create-cluster'), null);
    const creating = await eks.findCluster(account, target());
    assert.deepEqual(creating, { state: 'creating', version: '1.31', endpoint: null, owner: clusterId, failure: null });

    // Too early: EKS refuses a node group of a cluster that is not ACTIVE yet.
    const early = await cloudRejection(eks.createNodeGroup(account, target(), spec('1.31'), group('system'), 'create-system'));
    assert.equal(early.code, 'cloud-failed');
    assert.match(early.message, /InvalidRequestException \(Cluster 'flotilla-3f0c2a54' is not in ACTIVE state/);
    standin.lifecycle.resume();

    const ready = await until(
      () => eks.findCluster(account, target()),
      (cluster) => cluster?.state !== 'creating',
    );
    assert.equal(ready?.state, 'ready');
    assert.match(ready?.endpoint ?? '', /^https:\/\/FLOTILLA3F0C2A54.*\.eu-west-1\.eks\.amazonaws\.com$/);

    standin.lifecycle.pause();
    assert.equal(await eks.createNodeGroup(account, target(), spec('1.31'), group('system', 3), 'create-system'), null);
    assert.equal(await eks.createNodeGroup(account, target(), spec('1.31'), group('workers'), 'create-workers'), null);
    assert.equal((await eks.findNodeGroup(account, target(), 'system'))?.state, 'creating');
    standin.lifecycle.resume();
    const groups = await until(
      () => eks.listNodeGroups(account, target()),
      (list) => list.every((nodegroup) => nodegroup.state === 'ready'),
    );
    assert.deepEqual(groups, [
      { name: 'system', state: 'ready', version: '1.31', instanceType: 'm6i.large', minSize: 1, maxSize: 5, desiredSize: 3, failure: null },
      { name: 'workers', state: 'ready', version: '1.31', instanceType: 'm6i.large', minSize: 1, maxSize: 5, desiredSize: 2, failure: null },
    ]);

    // What EKS was asked for: the ownership tag on everything, the creator as admin, taints in EKS words.
    const [stored] = standin.fixtures;
    assert.deepEqual(stored?.cluster.tags, { [OWNERSHIP_TAG]: clusterId, team: 'payments' });
    assert.deepEqual(stored?.cluster.accessConfig, { authenticationMode: 'API_AND_CONFIG_MAP', bootstrapClusterCreatorAdminPermissions: true });
    assert.deepEqual(stored?.nodegroups[0]?.tags, { [OWNERSHIP_TAG]: clusterId, team: 'payments' });
    assert.deepEqual(stored?.nodegroups[0]?.taints, [{ key: 'CriticalAddonsOnly', value: 'true', effect: 'NO_SCHEDULE' }]);
    assert.deepEqual(standin.counts().creates, {
      'cluster/eu-west-1/flotilla-3f0c2a54': 1,
      'nodegroup/eu-west-1/flotilla-3f0c2a54/system': 1,
      'nodegroup/eu-west-1/flotilla-3f0c2a54/workers': 1,
    });
  });

  it('makes nothing twice when a create is repeated after a crash, with its token or without it', async () => {
    await eks.createCluster(account, target(), spec(), [], 'create-cluster');
    // The same step again from a restarted process (a crash before its outcome was recorded): EKS answers from the token.
    const restarted = new EksLifecycle(standinSettings({ eks: standin.url }));
    assert.equal(await restarted.createCluster(account, target(), spec(), [], 'create-cluster'), null);
    // A token lost with the crash: the cluster of that name carries our tag, so it is ours to wait on.
    assert.equal(await restarted.createCluster(account, target(), spec(), [], 'another-token'), null);
    await until(
      () => restarted.findCluster(account, target()),
      (cluster) => cluster?.state === 'ready',
    );
    for (const token of ['create-workers', 'create-workers', 'later-token']) assert.equal(await restarted.createNodeGroup(account, target(), spec(), group('workers'), token), null);

    assert.equal(standin.lifecycle.createCalls.get('cluster/eu-west-1/flotilla-3f0c2a54'), 3);
    assert.equal(standin.lifecycle.createCalls.get('nodegroup/eu-west-1/flotilla-3f0c2a54/workers'), 3);
    assert.deepEqual(standin.counts().creates, { 'cluster/eu-west-1/flotilla-3f0c2a54': 1, 'nodegroup/eu-west-1/flotilla-3f0c2a54/workers': 1 });
    assert.equal(standin.counts().duplicateCreates, 0);
    assert.equal(standin.fixtures.length, 1);
    assert.equal(standin.fixtures[0]?.nodegroups.length, 1);
  });

  it('scales a node group through an update it can wait on, and repeats it safely', async () => {
    await readyCluster('1.31', ['workers']);
    standin.lifecycle.pause();
    const operation = await eks.scaleNodeGroup(account, target(), 'workers', { minSize: 2, maxSize: 8, desiredSize: 4 }, 'scale-1');
    assert.match(operation ?? '', /^nodegroup\/workers\/[0-9a-f-]{36}$/);
    assert.equal((await eks.findNodeGroup(account, target(), 'workers'))?.state, 'updating');
    // The same step again: the same update, not a second one.
    assert.equal(await eks.scaleNodeGroup(account, target(), 'workers', { minSize: 2, maxSize: 8, desiredSize: 4 }, 'scale-1'), operation);
    standin.lifecycle.resume();
    assert.deepEqual(await finished(operation), { done: true, failure: null });
    const scaled = await eks.findNodeGroup(account, target(), 'workers');
    assert.deepEqual([scaled?.state, scaled?.minSize, scaled?.maxSize, scaled?.desiredSize], ['ready', 2, 8, 4]);
    // Its token forgotten, after it is done: EKS has nothing to change, which is done too.
    assert.equal(await eks.scaleNodeGroup(account, target(), 'workers', { minSize: 2, maxSize: 8, desiredSize: 4 }, 'scale-1-again'), null);

    // Its token forgotten while it runs: the update under way is found again.
    standin.lifecycle.pause();
    const second = await eks.scaleNodeGroup(account, target(), 'workers', { minSize: 2, maxSize: 8, desiredSize: 6 }, 'scale-2');
    assert.equal(await eks.scaleNodeGroup(account, target(), 'workers', { minSize: 2, maxSize: 8, desiredSize: 6 }, 'scale-2-lost'), second);
    standin.lifecycle.resume();
    await finished(second);

    const impossible = await cloudRejection(eks.scaleNodeGroup(account, target(), 'workers', { minSize: 3, maxSize: 2, desiredSize: 2 }, 'scale-3'));
    assert.equal(impossible.code, 'cloud-request-invalid');
    assert.match(impossible.message, /Minimum capacity cannot be greater than maximum capacity/);
  });

  it('upgrades one minor at a time, the control plane before its node groups; EKS refuses anything else', async () => {
    await readyCluster('1.30', ['system', 'workers']);

    const skip = await cloudRejection(eks.upgradeCluster(account, target(), '1.32', 'upgrade-1.32'));
    assert.equal(skip.code, 'cloud-version-not-offered');
    assert.match(skip.message, /Unsupported Kubernetes minor version update from 1\.30 to 1\.32/);
    const ahead = await cloudRejection(eks.upgradeNodeGroup(account, target(), 'system', '1.31', 'upgrade-system-1.31'));
    assert.equal(ahead.code, 'cloud-version-not-offered');
    assert.match(ahead.message, /newer than the cluster version 1\.30/);

    standin.lifecycle.pause();
    const controlPlane = await eks.upgradeCluster(account, target(), '1.31', 'upgrade-1.31');
    assert.match(controlPlane ?? '', /^cluster\/[0-9a-f-]{36}$/);
    assert.equal((await eks.findCluster(account, target()))?.state, 'updating');
    standin.lifecycle.resume();
    assert.deepEqual(await finished(controlPlane), { done: true, failure: null });
    assert.deepEqual(await eks.findCluster(account, target()).then((cluster) => [cluster?.state, cluster?.version]), ['ready', '1.31']);
    // Repeated once done, its token lost: the control plane is there already.
    assert.equal(await eks.upgradeCluster(account, target(), '1.31', 'upgrade-1.31-again'), null);

    // The next minor waits for the node groups.
    const behind = await cloudRejection(eks.upgradeCluster(account, target(), '1.32', 'upgrade-1.32'));
    assert.equal(behind.code, 'cloud-failed');
    assert.match(behind.message, /Nodegroups system, workers must be updated to match cluster version 1\.31/);

    for (const name of ['system', 'workers']) {
      const operation = await eks.upgradeNodeGroup(account, target(), name, '1.31', `upgrade-${name}-1.31`);
      assert.match(operation ?? '', new RegExp(`^nodegroup/${name}/`));
      assert.deepEqual(await finished(operation), { done: true, failure: null });
    }
    assert.deepEqual(
      (await eks.listNodeGroups(account, target())).map((nodegroup) => [nodegroup.name, nodegroup.version, nodegroup.state]),
      [
        ['system', '1.31', 'ready'],
        ['workers', '1.31', 'ready'],
      ],
    );
    assert.equal(await eks.upgradeNodeGroup(account, target(), 'system', '1.31', 'upgrade-system-lost'), null);
  });

  it('deletes the node groups, then the cluster: every resource gone, deletes repeatable', async () => {
    await readyCluster('1.31', ['system', 'workers']);
    const attached = await cloudRejection(eks.deleteCluster(account, target()));
    assert.equal(attached.code, 'cloud-failed');
    assert.match(attached.message, /ResourceInUseException \(Cluster has nodegroups attached: system, workers\)/);

    standin.lifecycle.pause();
    assert.equal(await eks.deleteNodeGroup(account, target(), 'system'), null);
    assert.equal((await eks.findNodeGroup(account, target(), 'system'))?.state, 'deleting');
    // Repeated while it goes, and once it is gone: done, no error.
    assert.equal(await eks.deleteNodeGroup(account, target(), 'system'), null);
    assert.equal(await eks.deleteNodeGroup(account, target(), 'workers'), null);
    standin.lifecycle.resume();
    await until(
      () => eks.listNodeGroups(account, target()),
      (groups) => groups.length === 0,
    );
    assert.equal(await eks.findNodeGroup(account, target(), 'system'), null);
    assert.equal(await eks.deleteNodeGroup(account, target(), 'system'), null);

    standin.lifecycle.pause();
    assert.equal(await eks.deleteCluster(account, target()), null);
    assert.equal((await eks.findCluster(account, target()))?.state, 'deleting');
    assert.equal(await eks.deleteCluster(account, target()), null);
    standin.lifecycle.resume();
    await until(
      () => eks.findCluster(account, target()),
      (cluster) => cluster === null,
    );
    assert.equal(await eks.deleteCluster(account, target()), null);
    assert.deepEqual(await eks.listNodeGroups(account, target()), []);
    assert.deepEqual(standin.fixtures, []);
  });

  it('shows an operation that fails half-way with the message EKS gives, typed from its reason', async () => {
    standin.lifecycle.failures.push({ operation: 'createCluster', name: 'flotilla-broken', code: 'Ec2SubnetNotFound', message: 'The subnet ID subnet-0a does not exist' });
    await eks.createCluster(account, target('flotilla-broken'), spec(), [], 'create-broken');
    const broken = await until(
      () => eks.findCluster(account, target('flotilla-broken')),
      (cluster) => cluster?.state !== 'creating',
    );
    assert.deepEqual([broken?.state, broken?.failure, broken?.failureCode], ['failed', 'Ec2SubnetNotFound: The subnet ID subnet-0a does not exist', 'cloud-request-invalid']);

    await readyCluster('1.30', []);
    standin.lifecycle.failures.push({ operation: 'createNodegroup', name: 'gpu', code: 'AsgInstanceLaunchFailures', message: 'Could not launch On-Demand Instances. VcpuLimitExceeded' });
    await eks.createNodeGroup(account, target(), spec(), group('gpu'), 'create-gpu');
    const gpu = await until(
      () => eks.findNodeGroup(account, target(), 'gpu'),
      (nodegroup) => nodegroup?.state !== 'creating',
    );
    assert.deepEqual([gpu?.state, gpu?.failure, gpu?.failureCode], ['failed', 'AsgInstanceLaunchFailures: Could not launch On-Demand Instances. VcpuLimitExceeded', 'cloud-quota-exceeded']);
    // A failed group is deleted like any other.
    assert.equal(await eks.deleteNodeGroup(account, target(), 'gpu'), null);
    await until(
      () => eks.findNodeGroup(account, target(), 'gpu'),
      (nodegroup) => nodegroup === null,
    );

    standin.lifecycle.failures.push({ operation: 'updateClusterVersion', code: 'InsufficientFreeAddresses', message: 'The subnets do not have enough free IP addresses' });
    const operation = await eks.upgradeCluster(account, target(), '1.31', 'upgrade-1.31');
    assert.deepEqual(await finished(operation), { done: true, failure: 'InsufficientFreeAddresses: The subnets do not have enough free IP addresses', code: 'cloud-quota-exceeded' });
    standin.lifecycle.failures.push({ operation: 'updateClusterVersion', code: 'ClusterUnreachable', message: 'The control plane could not be reached during the update' });
    assert.deepEqual(await finished(await eks.upgradeCluster(account, target(), '1.31', 'upgrade-1.31-again')), {
      done: true,
      failure: 'ClusterUnreachable: The control plane could not be reached during the update',
      code: 'cloud-failed',
    });
    assert.deepEqual(await eks.findCluster(account, target()).then((cluster) => [cluster?.state, cluster?.version]), ['ready', '1.30']);
  });

  it('is throttled beyond the rate limit with 429 and Retry-After, and says how long to wait', async () => {
    // Slow refills, so that a busy machine's slow calls do not refill the bucket between them.
    standin.rateLimit = { requestsPerSecond: 0.2, burst: 2 };
    await eks.findCluster(account, target());
    await eks.findCluster(account, target());
    const throttled = await cloudRejection(eks.findCluster(account, target()));
    assert.equal(throttled.code, 'cloud-throttled');
    // Whole seconds, as HTTP has it: up to the 5 s a request's token takes to come back.
    assert.ok(throttled.retryAfterMs !== undefined && throttled.retryAfterMs % 1000 === 0 && throttled.retryAfterMs >= 1000 && throttled.retryAfterMs <= 5000, `retryAfterMs ${throttled.retryAfterMs}`);
    assert.equal(standin.counts().throttledRequests, 1);

    // Scaled-down runs ask for fractions of a second.
    standin.resetCounts();
    standin.rateLimit = { requestsPerSecond: 0.5, burst: 1, fractionalRetryAfter: true };
    await eks.offeredVersions(account, { provider: 'eks', region });
    const soon = await cloudRejection(eks.offeredVersions(account, { provider: 'eks', region }));
    assert.equal(soon.code, 'cloud-throttled');
    assert.ok(soon.retryAfterMs !== undefined && soon.retryAfterMs > 0 && soon.retryAfterMs <= 2000, `retryAfterMs ${soon.retryAfterMs}`);
    assert.equal(standin.counts().throttledRequests, 1);

    // Allowed more attempts, the SDK still does not sleep and retry a throttled call inside it: the
    // throttling is raised at once, for the reconciler's account gate to hold back every call.
    standin.resetCounts();
    standin.rateLimit = null;
    standin.throttleNext = 1;
    const patient = new EksLifecycle({ ...standinSettings({ eks: standin.url }), maxAttempts: 3 });
    const atOnce = await cloudRejection(patient.offeredVersions(account, { provider: 'eks', region }));
    assert.equal(atOnce.code, 'cloud-throttled');
    assert.match(atOnce.message, /ThrottlingException/);
    assert.equal(standin.counts().throttledRequests, 1);
    assert.equal(standin.counts().requests, 1, 'not retried inside the call');
    assert.deepEqual(await patient.offeredVersions(account, { provider: 'eks', region }), ['1.29', '1.30', '1.31', '1.32']);
  });

  it('refuses a version the region does not offer, creating nothing', async () => {
    const refused = await cloudRejection(eks.createCluster(account, { provider: 'eks', region: 'eu-south-2', clusterName: 'flotilla-3f0c2a54' }, spec('1.31'), [], 'create-cluster'));
    assert.equal(refused.code, 'cloud-version-not-offered');
    assert.match(refused.message, /unsupported Kubernetes version 1\.31/);
    assert.deepEqual(standin.counts().creates, {});
  });

  it('gives a parameter EKS refuses as cloud-request-invalid (permanent) with its message, creating nothing', async () => {
    const roleName = spec();
    if (roleName.networking.provider === 'eks') roleName.networking.clusterRoleArn = 'flotilla-eks-cluster';
    const refused = await cloudRejection(eks.createCluster(account, target(), roleName, [], 'create-cluster'));
    assert.equal(refused.code, 'cloud-request-invalid');
    assert.ok(!isTransientCloudError(refused.code));
    assert.match(refused.message, /InvalidParameterException \(roleArn must be the ARN of an IAM role\)/);
    assert.deepEqual(standin.counts().creates, {});
  });

  it('never takes over or deletes a cluster of that name without our tag', async () => {
    const theirs = eksClusterBody('flotilla-3f0c2a54', region, '1.30', testTls().caPem);
    standin.fixtures.push({ region, cluster: theirs, nodegroups: [] });
    const taken = await cloudRejection(eks.createCluster(account, target(), spec(), [], 'create-cluster'));
    assert.equal(taken.code, 'cloud-name-taken');
    assert.match(taken.message, /cluster "flotilla-3f0c2a54" in eu-west-1 already exists and it has no ownership tag/);
    assert.equal((await eks.findCluster(account, target()))?.owner, null);

    const notDeleted = await cloudRejection(eks.deleteCluster(account, target()));
    assert.equal(notDeleted.code, 'cloud-name-taken');
    assert.equal(theirs.status, 'ACTIVE');

    // Another Flotilla cluster's (another id in the tag) is not ours either.
    theirs.tags = { [OWNERSHIP_TAG]: 'another-cluster-id' };
    assert.equal((await cloudRejection(eks.createCluster(account, target(), spec(), [], 'create-cluster'))).code, 'cloud-name-taken');
    assert.deepEqual(standin.counts().creates, {});
  });

  it('deletes a cluster made outside Flotilla once it is adopted (tagged then), and never one that is not', async () => {
    const legacy = eksClusterBody('legacy', region, '1.30', testTls().caPem);
    const workers = eksNodegroupBody('legacy', region, 'workers', 3, 'm6i.large', '1.30');
    standin.fixtures.push({ region, cluster: legacy, nodegroups: [workers] });
    const outside: CloudTarget = { provider: 'eks', region, clusterName: 'legacy' };
    // Not adopted: neither its node group nor the cluster is deleted.
    assert.equal((await cloudRejection(eks.deleteNodeGroup(account, outside, 'workers'))).code, 'cloud-name-taken');
    assert.equal((await cloudRejection(eks.deleteCluster(account, outside))).code, 'cloud-name-taken');
    assert.deepEqual([legacy.status, workers.status], ['ACTIVE', 'ACTIVE']);

    await eks.adoptCluster(account, outside, 'adopted-cluster-id');
    assert.deepEqual([legacy.tags, workers.tags], [{ [OWNERSHIP_TAG]: 'adopted-cluster-id' }, { [OWNERSHIP_TAG]: 'adopted-cluster-id' }]);
    assert.equal((await eks.findCluster(account, outside))?.owner, 'adopted-cluster-id');
    // Adopted again: nothing left to tag. By another Flotilla cluster: refused, nothing changed.
    const tagCalls = () => standin.server.calls.filter((call) => call.startsWith('POST /tags/')).length;
    const tagged = tagCalls();
    assert.equal(tagged, 2);
    await eks.adoptCluster(account, outside, 'adopted-cluster-id');
    assert.equal(tagCalls(), tagged);
    const theirs = await cloudRejection(eks.adoptCluster(account, outside, 'another-cluster-id'));
    assert.equal(theirs.code, 'cloud-name-taken');
    assert.match(theirs.message, /belongs to Flotilla cluster adopted-cluster-id/);
    assert.equal(tagCalls(), tagged);

    assert.equal(await eks.deleteNodeGroup(account, outside, 'workers'), null);
    await until(
      () => eks.listNodeGroups(account, outside),
      (groups) => groups.length === 0,
    );
    assert.equal(await eks.deleteCluster(account, outside), null);
    await until(
      () => eks.findCluster(account, outside),
      (cluster) => cluster === null,
    );
    assert.equal((await cloudRejection(eks.adoptCluster(account, outside, 'adopted-cluster-id'))).code, 'cloud-cluster-not-found');
  });

  it('names a quota reached, an account not allowed and an operation of the wrong shape', async () => {
    standin.fixtures.push({ region, cluster: eksClusterBody('existing', region, '1.30', testTls().caPem), nodegroups: [] });
    standin.lifecycle.clusterQuota = 1;
    const quota = await cloudRejection(eks.createCluster(account, target(), spec(), [], 'create-cluster'));
    assert.equal(quota.code, 'cloud-quota-exceeded');
    assert.match(quota.message, /Cluster limit exceeded/);

    standin.identities.set(account.accessKeyId, { ...account, arn: 'arn:aws:iam::123456789012:user/readonly', eksAllowed: false });
    assert.equal((await cloudRejection(eks.createCluster(account, target(), spec(), [], 'create-cluster'))).code, 'cloud-access-denied');

    standin.identities.set(account.accessKeyId, { ...account, arn: 'arn:aws:iam::123456789012:user/flotilla-importer', eksAllowed: true });
    // An update EKS no longer knows of is done.
    assert.deepEqual(await eks.operationStatus(account, { provider: 'eks', region, clusterName: 'existing' }, 'cluster/00000000-0000-0000-0000-000000000000'), { done: true, failure: null });
    assert.equal((await cloudRejection(eks.operationStatus(account, target(), 'operations/op-1'))).code, 'cloud-response-invalid');
  });
});
