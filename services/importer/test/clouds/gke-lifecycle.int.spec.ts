import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CloudError, isTransientCloudError } from '../../src/clouds/errors.js';
import { GkeClients } from '../../src/clouds/gke/gke-client.js';
import { GkeLifecycle } from '../../src/clouds/gke/gke-lifecycle.js';
import { OWNERSHIP_TAG, type CloudClusterSpec, type CloudNodeGroupSpec, type CloudOperation, type CloudOperationStatus, type CloudTarget } from '../../src/clouds/lifecycle.js';
import { GcpStandin, gkeCreateCriticalPathMs, newServiceAccount } from '../support/cloud-standins/gcp-standin.js';
import { standinSettings } from '../support/cloud-standins/settings.js';

const serviceAccount = newServiceAccount('flotilla-importer@acme-prod.iam.gserviceaccount.com', ['acme-prod']);
const account = serviceAccount.keyFile;
const VERSIONS = { 'europe-west1': ['1.30.9-gke.1127000', '1.31.5-gke.1233000', '1.32.1-gke.1357000'], 'us-east4': ['1.30.9-gke.1127000'] };
const DURATIONS = { createCluster: 200, deleteCluster: 120, upgradeMaster: 150, createNodePool: 150, deleteNodePool: 100, setNodePoolSize: 80, setNodePoolAutoscaling: 50, upgradeNodes: 120 };

async function rejection(promise: Promise<unknown>): Promise<CloudError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CloudError, `expected a CloudError, got ${inspect(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

const spec = (id: string, kubernetesVersion = '1.31'): CloudClusterSpec => ({
  kubernetesVersion,
  endpointAccess: 'public',
  networking: { provider: 'gke', network: 'default', subnetwork: 'nodes' },
  tags: { [OWNERSHIP_TAG]: id, Team: 'Payments' },
});

const general: CloudNodeGroupSpec = { name: 'general', instanceType: 'e2-standard-4', minSize: 2, maxSize: 2, desiredSize: 2, labels: { workload: 'general' }, taints: [] };
const batch: CloudNodeGroupSpec = { name: 'batch', instanceType: 'n2-highmem-8', minSize: 1, maxSize: 4, desiredSize: 1, labels: {}, taints: [{ key: 'batch', value: 'true', effect: 'NoSchedule' }] };

describe('GKE lifecycle through @google-cloud/container (REST) against the stateful GKE stand-in', () => {
  let standin: GcpStandin;
  let gke: GkeLifecycle;

  const targetOf = (id: string, location = 'europe-west1'): CloudTarget => ({ provider: 'gke', projectId: 'acme-prod', location, clusterName: `fl-${id.slice(0, 30)}` });
  const path = (target: CloudTarget) => (target.provider === 'gke' ? `projects/${target.projectId}/locations/${target.location}/clusters/${target.clusterName}` : '');

  async function settle(target: CloudTarget, operation: CloudOperation, lifecycle = gke, seen: CloudOperationStatus[] = []): Promise<CloudOperationStatus> {
    assert.ok(operation !== null, 'expected an operation');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const status = await lifecycle.operationStatus(account, target, operation);
      seen.push(status);
      if (status.done) return status;
      assert.ok(Date.now() < deadline, `operation ${operation} still running`);
      await sleep(25);
    }
  }

  /** A running cluster with no node groups, as a create leaves it. */
  async function runningCluster(id: string, version = '1.31'): Promise<CloudTarget> {
    const target = targetOf(id);
    assert.deepEqual(await settle(target, await gke.createCluster(account, target, spec(id, version), [], randomUUID())), { done: true, failure: null });
    return target;
  }

  before(async () => {
    standin = await GcpStandin.start({ durations: DURATIONS, versions: VERSIONS });
    standin.addAccount(serviceAccount);
    gke = new GkeLifecycle(standinSettings({ gke: standin.url }));
  });
  after(async () => standin.close());
  beforeEach(() => {
    standin.lifecycle.resume();
    standin.lifecycle.cpuQuota = undefined;
    standin.rateLimit = undefined;
    Object.assign(standin.lifecycle.durations, DURATIONS);
  });

  it('says which minors a region offers, for a zone of it too', async () => {
    assert.deepEqual(await gke.offeredVersions(account, { provider: 'gke', projectId: 'acme-prod', location: 'europe-west1' }), ['1.30', '1.31', '1.32']);
    assert.deepEqual(await gke.offeredVersions(account, { provider: 'gke', projectId: 'acme-prod', location: 'europe-west1-c' }), ['1.30', '1.31', '1.32']);
    assert.deepEqual(await gke.offeredVersions(account, { provider: 'gke', projectId: 'acme-prod', location: 'us-east4' }), ['1.30']);
  });

  it('creates the control plane, then two node pools, through GKE status words and operations', async () => {
    const id = randomUUID();
    const target = targetOf(id);
    assert.equal(await gke.findCluster(account, target), null);
    standin.lifecycle.durations.createCluster = 1000;
    const started = Date.now();
    const operation = await gke.createCluster(account, target, spec(id), [], randomUUID());
    // Held while it is looked at, however slow the machine.
    standin.lifecycle.pause();
    assert.match(operation ?? '', /^operation-\d+-[0-9a-f]+;then=drop-bootstrap$/);
    const creating = await gke.findCluster(account, target);
    assert.equal(creating?.state, 'creating');
    assert.equal(creating?.endpoint, null);
    assert.equal(creating?.owner, id);
    assert.deepEqual(await gke.operationStatus(account, target, operation ?? ''), { done: false });
    // Too early: no node pool while the control plane is being created.
    const early = await rejection(gke.createNodeGroup(account, target, spec(id), general, randomUUID()));
    assert.equal(early.code, 'cloud-failed');
    assert.match(early.message, /FAILED_PRECONDITION/);
    assert.equal(standin.lifecycle.creates.get(`${path(target)}/nodePools/general`), undefined);
    standin.lifecycle.resume();
    const statuses: CloudOperationStatus[] = [];
    assert.deepEqual(await settle(target, operation, gke, statuses), { done: true, failure: null });
    // The create, then the drop of the bootstrap pool, started by the look that saw the create over
    // and reported as such: the wait on it is timed as a node pool's deletion, not as a create.
    const followUps = statuses.flatMap((status) => (!status.done && status.followUp !== undefined ? [status.followUp] : []));
    assert.deepEqual(followUps[0], { operation: 'delete-node-group', startedNow: true });
    assert.ok(followUps.slice(1).every((followUp) => followUp.operation === 'delete-node-group' && !followUp.startedNow), inspect(statuses));

    const ready = await gke.findCluster(account, target);
    assert.equal(ready?.state, 'ready');
    assert.equal(ready?.version, '1.31.5-gke.1233000');
    assert.equal(ready?.endpoint, 'https://34.76.12.34');
    // The pool GKE made us create the cluster with is gone, and was never shown as a group.
    assert.deepEqual(await gke.listNodeGroups(account, target), []);
    const stored = standin.lifecycle.clusters.get(path(target));
    assert.deepEqual([...(stored?.pools.keys() ?? [])], []);
    assert.deepEqual(stored?.body['resourceLabels'], { [OWNERSHIP_TAG]: id, team: 'payments' });

    // Long enough to be asked about while it runs, on a slow machine too.
    standin.lifecycle.durations.createNodePool = 1500;
    const first = await gke.createNodeGroup(account, target, spec(id), general, randomUUID());
    standin.lifecycle.pause();
    assert.equal((await gke.findNodeGroup(account, target, 'general'))?.state, 'creating');
    // GKE runs one operation at a time on a cluster.
    const busy = await rejection(gke.createNodeGroup(account, target, spec(id), batch, randomUUID()));
    assert.equal(busy.code, 'cloud-failed');
    assert.match(busy.message, /incompatible operation/);
    standin.lifecycle.resume();
    assert.deepEqual(await settle(target, first), { done: true, failure: null });
    assert.deepEqual(await settle(target, await gke.createNodeGroup(account, target, spec(id), batch, randomUUID())), { done: true, failure: null });

    // No faster than GKE's operations one after the other allow.
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= gkeCreateCriticalPathMs(standin.lifecycle.durations, 2), `${elapsed} ms`);
    const groups = await gke.listNodeGroups(account, target);
    assert.deepEqual(
      groups.map(({ name, state, instanceType, minSize, maxSize, desiredSize, version, failure }) => ({ name, state, instanceType, minSize, maxSize, desiredSize, version, failure })),
      [
        { name: 'general', state: 'ready', instanceType: 'e2-standard-4', minSize: 2, maxSize: 2, desiredSize: 2, version: '1.31.5-gke.1233000', failure: null },
        { name: 'batch', state: 'ready', instanceType: 'n2-highmem-8', minSize: 1, maxSize: 4, desiredSize: 1, version: '1.31.5-gke.1233000', failure: null },
      ],
    );
    const batchPool = stored?.pools.get('batch')?.body;
    assert.deepEqual((batchPool?.config as { resourceLabels?: unknown }).resourceLabels, { [OWNERSHIP_TAG]: id, team: 'payments' });
    assert.equal(((batchPool?.config as { taints?: { key: string }[] }).taints ?? [])[0]?.key, 'batch');
    assert.deepEqual(batchPool?.management, { autoUpgrade: false, autoRepair: true });
    for (const resource of [path(target), `${path(target)}/nodePools/general`, `${path(target)}/nodePools/batch`]) assert.equal(standin.lifecycle.creates.get(resource), 1, resource);
  });

  it('creates the control plane with its node pools in one operation: no bootstrap pool, nothing to drop, a restart waits on the same create', async () => {
    const id = randomUUID();
    const target = targetOf(id);
    standin.lifecycle.durations.createCluster = 600;
    const operation = await gke.createCluster(account, target, spec(id), [general, batch], randomUUID());
    standin.lifecycle.pause();
    assert.match(operation ?? '', /^operation-\d+-[0-9a-f]+$/);
    // A crash right after: the create found again is the same operation, not a second cluster.
    const restarted = new GkeLifecycle(standinSettings({ gke: standin.url }));
    assert.equal(await restarted.createCluster(account, target, spec(id), [general, batch], randomUUID()), operation);
    assert.deepEqual((await gke.listNodeGroups(account, target)).map((group) => [group.name, group.state]), [['general', 'creating'], ['batch', 'creating']]);
    standin.lifecycle.resume();
    const statuses: CloudOperationStatus[] = [];
    assert.deepEqual(await settle(target, operation, gke, statuses), { done: true, failure: null });
    assert.ok(statuses.every((status) => status.done || status.followUp === undefined), inspect(statuses));
    assert.equal((await gke.findCluster(account, target))?.state, 'ready');
    assert.deepEqual((await gke.listNodeGroups(account, target)).map((group) => [group.name, group.state, group.desiredSize]), [['general', 'ready', 2], ['batch', 'ready', 1]]);
    assert.deepEqual([...(standin.lifecycle.clusters.get(path(target))?.pools.keys() ?? [])], ['general', 'batch']);
    for (const resource of [path(target), `${path(target)}/nodePools/general`, `${path(target)}/nodePools/batch`]) assert.equal(standin.lifecycle.creates.get(resource), 1, resource);
    assert.equal(standin.lifecycle.creates.get(`${path(target)}/nodePools/flotilla-bootstrap`), undefined);
    assert.equal(await restarted.createCluster(account, target, spec(id), [general, batch], randomUUID()), null);
  });

  it('resumes a create after a crash: the same names make no second cluster or node pool', async () => {
    const id = randomUUID();
    const target = targetOf(id);
    const token = randomUUID();
    Object.assign(standin.lifecycle.durations, { createCluster: 1500, createNodePool: 1500 });
    const started = await gke.createCluster(account, target, spec(id), [], token);
    standin.lifecycle.pause();
    // A restarted replica (a new lifecycle, no memory) asks again while GKE still provisions.
    const restarted = new GkeLifecycle(standinSettings({ gke: standin.url }));
    const again = await restarted.createCluster(account, target, spec(id), [], token);
    assert.equal(again, started);
    standin.lifecycle.resume();
    assert.deepEqual(await settle(target, again, restarted), { done: true, failure: null });
    // Asked once more when it runs: nothing to wait for.
    assert.equal(await restarted.createCluster(account, target, spec(id), [], token), null);

    const pool = await restarted.createNodeGroup(account, target, spec(id), general, token);
    standin.lifecycle.pause();
    const poolAgain = await new GkeLifecycle(standinSettings({ gke: standin.url })).createNodeGroup(account, target, spec(id), general, token);
    assert.equal(poolAgain, pool);
    standin.lifecycle.resume();
    await settle(target, pool, restarted);
    assert.equal(await restarted.createNodeGroup(account, target, spec(id), general, token), null);

    assert.equal(standin.lifecycle.creates.get(path(target)), 1);
    assert.equal(standin.lifecycle.creates.get(`${path(target)}/nodePools/general`), 1);
    assert.equal(standin.counts().duplicateCreates, 0);
  });

  it('scales a fixed pool, turns on the autoscaler, and resizes within its bounds', async () => {
    const id = randomUUID();
    const target = await runningCluster(id);
    await settle(target, await gke.createNodeGroup(account, target, spec(id), general, randomUUID()));

    const pool = () => standin.lifecycle.clusters.get(path(target))?.pools.get('general');
    const computeBefore = standin.counts().computeRequests;
    await settle(target, await gke.scaleNodeGroup(account, target, 'general', { minSize: 3, maxSize: 3, desiredSize: 3 }, randomUUID()));
    assert.deepEqual(pick(await gke.findNodeGroup(account, target, 'general')), { state: 'ready', minSize: 3, maxSize: 3, desiredSize: 3 });
    // GKE resized the pool's instance group in each of the region's three zones: 3 nodes per zone,
    // 9 nodes; the size it was created with is what GKE still shows as initialNodeCount.
    assert.deepEqual([pool()?.size, pool()?.body.initialNodeCount, pool()?.body.instanceGroupUrls.length], [3, 2, 3]);
    const clients = new GkeClients(standinSettings({ gke: standin.url }));
    const [cluster] = await clients.withClient(account, undefined, (client, options) => client.getCluster({ name: path(target) }, options));
    assert.equal(cluster.currentNodeCount, 9);
    // The size was read where GKE keeps it, the instance groups at Compute Engine.
    assert.ok(standin.counts().computeRequests > computeBefore);
    // Nothing left to change: no operation.
    assert.equal(await gke.scaleNodeGroup(account, target, 'general', { minSize: 3, maxSize: 3, desiredSize: 3 }, randomUUID()), null);

    // Bounds first (the autoscaler keeps the size within them), then the size.
    await settle(target, await gke.scaleNodeGroup(account, target, 'general', { minSize: 1, maxSize: 6, desiredSize: 5 }, randomUUID()));
    assert.deepEqual(pick(await gke.findNodeGroup(account, target, 'general')), { state: 'ready', minSize: 1, maxSize: 6, desiredSize: 3 });
    await settle(target, await gke.scaleNodeGroup(account, target, 'general', { minSize: 1, maxSize: 6, desiredSize: 5 }, randomUUID()));
    assert.deepEqual(pick(await gke.findNodeGroup(account, target, 'general')), { state: 'ready', minSize: 1, maxSize: 6, desiredSize: 5 });
    assert.ok(standin.server.calls.some((call) => call.endsWith('/nodePools/general:setAutoscaling')));
    assert.ok(standin.server.calls.some((call) => call.endsWith('/nodePools/general:setSize')));
    assert.deepEqual([pool()?.size, pool()?.body.initialNodeCount], [5, 2]);
  });

  it('reads the pool sizes of a project’s clusters in one shared Compute listing, asked again after a resize of ours', async () => {
    const watching = new GkeLifecycle({ ...standinSettings({ gke: standin.url }), listMaxAgeMs: 60_000 });
    const ids = [randomUUID(), randomUUID()];
    const targets = await Promise.all(ids.map((id) => runningCluster(id)));
    await Promise.all(targets.map(async (target, index) => settle(target, await gke.createNodeGroup(account, target, spec(ids[index]!), general, randomUUID()))));

    const computeBefore = standin.counts().computeRequests;
    const sizes = async () => Promise.all(targets.map(async (target) => (await watching.listNodeGroups(account, target)).map((group) => group.desiredSize)));
    assert.deepEqual(await sizes(), [[2], [2]]);
    assert.deepEqual(await sizes(), [[2], [2]]);
    assert.equal(standin.counts().computeRequests - computeBefore, 1, 'one listing for both clusters, twice');

    // A resize of ours: what the listing said before it is not taken for after it.
    // (Its operation is followed with lists asked each time: the watching lifecycle's would serve a minute.)
    await settle(targets[0]!, await watching.scaleNodeGroup(account, targets[0]!, 'general', { minSize: 4, maxSize: 4, desiredSize: 4 }, randomUUID()));
    assert.deepEqual(await sizes(), [[4], [2]]);
  });

  it('upgrades one minor, control plane then node pools; a skipped minor or a pool ahead of the control plane is refused', async () => {
    const id = randomUUID();
    const target = await runningCluster(id, '1.30');
    await settle(target, await gke.createNodeGroup(account, target, spec(id, '1.30'), general, randomUUID()));
    assert.equal((await gke.findCluster(account, target))?.version, '1.30.9-gke.1127000');
    Object.assign(standin.lifecycle.durations, { upgradeMaster: 1000, upgradeNodes: 1000 });

    const skipped = await rejection(gke.upgradeCluster(account, target, '1.32', randomUUID()));
    assert.equal(skipped.code, 'cloud-version-not-offered');
    assert.match(skipped.message, /one minor version at a time/);
    const ahead = await rejection(gke.upgradeNodeGroup(account, target, 'general', '1.31', randomUUID()));
    assert.equal(ahead.code, 'cloud-version-not-offered');
    assert.match(ahead.message, /must not be newer than master/);

    const upgrade = await gke.upgradeCluster(account, target, '1.31', randomUUID());
    standin.lifecycle.pause();
    assert.equal((await gke.findCluster(account, target))?.state, 'updating');
    // Asked again while it runs (a restart): the same operation.
    assert.equal(await gke.upgradeCluster(account, target, '1.31', randomUUID()), upgrade);
    standin.lifecycle.resume();
    await settle(target, upgrade);
    assert.equal((await gke.findCluster(account, target))?.version, '1.31.5-gke.1233000');
    assert.equal(await gke.upgradeCluster(account, target, '1.31', randomUUID()), null);

    const nodes = await gke.upgradeNodeGroup(account, target, 'general', '1.31', randomUUID());
    standin.lifecycle.pause();
    assert.equal((await gke.findNodeGroup(account, target, 'general'))?.state, 'updating');
    standin.lifecycle.resume();
    await settle(target, nodes);
    assert.equal((await gke.findNodeGroup(account, target, 'general'))?.version, '1.31.5-gke.1233000');
  });

  it('deletes node pools, then the cluster: everything it made is gone', async () => {
    const id = randomUUID();
    const target = await runningCluster(id);
    await settle(target, await gke.createNodeGroup(account, target, spec(id), general, randomUUID()));
    await settle(target, await gke.createNodeGroup(account, target, spec(id), batch, randomUUID()));

    Object.assign(standin.lifecycle.durations, { deleteNodePool: 600, deleteCluster: 600 });
    // Out of order: the stand-in keeps a cluster with node pools.
    const early = await rejection(gke.deleteCluster(account, target));
    assert.match(early.message, /still has node pools/);

    for (const name of ['general', 'batch']) {
      const deleting = await gke.deleteNodeGroup(account, target, name);
      standin.lifecycle.pause();
      assert.equal((await gke.findNodeGroup(account, target, name))?.state, 'deleting');
      standin.lifecycle.resume();
      await settle(target, deleting);
      assert.equal(await gke.findNodeGroup(account, target, name), null);
      assert.equal(await gke.deleteNodeGroup(account, target, name), null);
    }
    const deleting = await gke.deleteCluster(account, target);
    standin.lifecycle.pause();
    assert.equal((await gke.findCluster(account, target))?.state, 'deleting');
    standin.lifecycle.resume();
    await settle(target, deleting);
    assert.equal(await gke.findCluster(account, target), null);
    assert.equal(await gke.deleteCluster(account, target), null);
    assert.equal(standin.lifecycle.clusters.has(path(target)), false);
  });

  it('deletes a cluster made outside Flotilla once it is adopted (labelled then), and never one that is not', async () => {
    const clients = new GkeClients(standinSettings({ gke: standin.url }));
    const target = targetOf(randomUUID());
    await clients.withClient(account, undefined, (client, options) =>
      client.createCluster(
        { parent: 'projects/acme-prod/locations/europe-west1', cluster: { name: target.clusterName, initialClusterVersion: '1.31', resourceLabels: { env: 'prod' }, nodePools: [{ name: 'default-pool', initialNodeCount: 1 }] } },
        options,
      ),
    );
    const deadline = Date.now() + 10_000;
    while ((await gke.findCluster(account, target))?.state !== 'ready') {
      assert.ok(Date.now() < deadline, 'the cluster never ran');
      await sleep(25);
    }
    // Not adopted: neither its pool nor the cluster is deleted.
    assert.equal((await rejection(gke.deleteNodeGroup(account, target, 'default-pool'))).code, 'cloud-name-taken');
    const notOurs = await rejection(gke.deleteCluster(account, target));
    assert.equal(notOurs.code, 'cloud-name-taken');
    assert.match(notOurs.message, /has no flotilla-cluster-id label/);
    assert.ok(!standin.server.calls.some((call) => call.startsWith('DELETE ') && call.includes(`/clusters/${target.clusterName}`)));

    const id = randomUUID();
    await gke.adoptCluster(account, target, id);
    assert.deepEqual(standin.lifecycle.clusters.get(path(target))?.body['resourceLabels'], { env: 'prod', [OWNERSHIP_TAG]: id });
    assert.equal((await gke.findCluster(account, target))?.owner, id);
    const labelled = () => standin.server.calls.filter((call) => call.endsWith(`/clusters/${target.clusterName}:setResourceLabels`)).length;
    await gke.adoptCluster(account, target, id);
    assert.equal(labelled(), 1);
    assert.equal((await rejection(gke.adoptCluster(account, target, randomUUID()))).code, 'cloud-name-taken');
    assert.equal(labelled(), 1);

    // The labels' own operation runs a moment: the first delete waits it out like any conflict.
    let deleting: CloudOperation = null;
    while (deleting === null) {
      assert.ok(Date.now() < deadline, 'the pool delete never started');
      try {
        deleting = await gke.deleteNodeGroup(account, target, 'default-pool');
      } catch (error) {
        assert.ok(error instanceof CloudError && error.code === 'cloud-failed', inspect(error));
        await sleep(25);
      }
    }
    await settle(target, deleting);
    await settle(target, await gke.deleteCluster(account, target));
    assert.equal(await gke.findCluster(account, target), null);
  });

  it('deletes a cluster whose create still runs and whose handle is lost: nothing refused meanwhile, then its bootstrap pool and the cluster go', async () => {
    const id = randomUUID();
    const target = targetOf(id);
    Object.assign(standin.lifecycle.durations, { createCluster: 600 });
    // The create's handle (which drops the bootstrap pool) is forgotten: only a delete is asked.
    await gke.createCluster(account, target, spec(id), [], randomUUID());
    standin.lifecycle.pause();
    assert.equal((await gke.findCluster(account, target))?.state, 'creating');
    // GKE refuses pool changes while the create runs: nothing started, asked again later.
    assert.equal(await gke.deleteCluster(account, target), null);
    standin.lifecycle.resume();
    const deadline = Date.now() + 10_000;
    let deleting: CloudOperation = null;
    while (deleting === null) {
      assert.ok(Date.now() < deadline, 'the delete never started');
      await sleep(50);
      deleting = await gke.deleteCluster(account, target);
    }
    await settle(target, deleting);
    assert.equal(await gke.findCluster(account, target), null);
    assert.equal(standin.lifecycle.clusters.has(path(target)), false);
  });

  it('reports an operation that fails half-way with GKE’s message typed from its code, and cleans up a failed create', async () => {
    const id = randomUUID();
    const target = await runningCluster(id);
    const message = 'Google Compute Engine: Not enough resources are available to fulfill the request. Try a different zone, or try again later.';
    standin.lifecycle.failNext('CREATE_NODE_POOL', message, 8);
    standin.lifecycle.durations.createNodePool = 4000;
    const started = Date.now();
    // A stockout (RESOURCE_EXHAUSTED, no quota named) is no quota to raise.
    assert.deepEqual(await settle(target, await gke.createNodeGroup(account, target, spec(id), general, randomUUID())), { done: true, failure: message, code: 'cloud-failed' });
    assert.ok(Date.now() - started < 4000, 'it fails half-way');
    const failed = await gke.findNodeGroup(account, target, 'general');
    assert.equal(failed?.state, 'failed');
    assert.equal(failed?.failure, message);

    // A cluster whose create failed still has its bootstrap pool: a delete takes it first, then the cluster.
    const other = randomUUID();
    const otherTarget = targetOf(other);
    standin.lifecycle.failNext('CREATE_CLUSTER', 'Failed to create cluster: the subnetwork "nodes" has no secondary ranges left.', 3);
    assert.deepEqual(await settle(otherTarget, await gke.createCluster(account, otherTarget, spec(other), [], randomUUID())), {
      done: true,
      failure: 'Failed to create cluster: the subnetwork "nodes" has no secondary ranges left.',
      code: 'cloud-request-invalid',
    });
    assert.equal((await gke.findCluster(account, otherTarget))?.state, 'failed');
    const deleting = await gke.deleteCluster(account, otherTarget);
    assert.match(deleting ?? '', /;then=delete-cluster$/);
    assert.deepEqual(await settle(otherTarget, deleting), { done: true, failure: null });
    assert.equal(await gke.findCluster(account, otherTarget), null);
  });

  it('gives the Retry-After of a 429 as retryAfterMs, and counts what it throttled', async () => {
    const throttled = standin.counts().throttledRequests;
    // A window far longer than the calls take, however slow the machine: the fourth is throttled.
    standin.rateLimit = { requests: 3, windowMs: 60_000 };
    // A lifecycle of its own: the account's pacing holds its calls for the Retry-After, not the other tests'.
    const throttledGke = new GkeLifecycle(standinSettings({ gke: standin.url }));
    const place = { provider: 'gke' as const, projectId: 'acme-prod', location: 'europe-west1' };
    let error: CloudError | undefined;
    for (let attempt = 0; attempt < 6 && error === undefined; attempt += 1) {
      try {
        await throttledGke.offeredVersions(account, place);
      } catch (caught) {
        error = caught instanceof CloudError ? caught : undefined;
        assert.ok(error, `expected a CloudError, got ${inspect(caught)}`);
      }
    }
    assert.equal(error?.code, 'cloud-throttled');
    assert.match(error?.message ?? '', /RESOURCE_EXHAUSTED/);
    assert.ok(error?.retryAfterMs !== undefined && error.retryAfterMs >= 30_000 && error.retryAfterMs <= 60_000, `retryAfterMs ${error?.retryAfterMs}`);
    assert.equal(standin.counts().throttledRequests, throttled + 1);
    standin.rateLimit = undefined;
  });

  it('refuses a version the region does not offer, and names nothing after creating nothing', async () => {
    const id = randomUUID();
    const target = targetOf(id, 'us-east4');
    const refused = await rejection(gke.createCluster(account, target, spec(id, '1.31'), [], randomUUID()));
    assert.equal(refused.code, 'cloud-version-not-offered');
    assert.match(refused.message, /Master version "1.31" is unsupported/);
    assert.equal(standin.lifecycle.creates.get(path(target)), undefined);
  });

  it('gives an argument GKE refuses (INVALID_ARGUMENT) as cloud-request-invalid (permanent) with its message', async () => {
    const id = randomUUID();
    const target = await runningCluster(id);
    const refused = await rejection(gke.createNodeGroup(account, target, spec(id), { ...general, name: 'General_Pool' }, randomUUID()));
    assert.equal(refused.code, 'cloud-request-invalid');
    assert.ok(!isTransientCloudError(refused.code));
    assert.match(refused.message, /INVALID_ARGUMENT: Invalid node pool name "General_Pool"/);
    assert.equal(standin.lifecycle.creates.get(`${path(target)}/nodePools/General_Pool`), undefined);
  });

  it('refuses a name taken by a cluster or node pool that is not ours, and a quota GKE would not grant', async () => {
    const clients = new GkeClients(standinSettings({ gke: standin.url }));
    const id = randomUUID();
    const target = targetOf(id);
    // Someone made a cluster of that name by hand, without our label.
    await clients.withClient(account, undefined, (client, options) =>
      client.createCluster({ parent: 'projects/acme-prod/locations/europe-west1', cluster: { name: target.clusterName, initialClusterVersion: '1.31', nodePools: [{ name: 'default-pool', initialNodeCount: 1 }] } }, options),
    );
    const taken = await rejection(gke.createCluster(account, target, spec(id), [], randomUUID()));
    assert.equal(taken.code, 'cloud-name-taken');
    assert.match(taken.message, /has no flotilla-cluster-id label/);
    // Another Flotilla cluster's name is not ours either.
    const theirs = randomUUID();
    const theirTarget = await runningCluster(theirs);
    assert.equal((await rejection(gke.createCluster(account, theirTarget, spec(id), [], randomUUID()))).code, 'cloud-name-taken');

    // A node pool of ours' name made by hand in our cluster.
    const ours = randomUUID();
    const ourTarget = await runningCluster(ours);
    await clients.withClient(account, undefined, (client, options) =>
      client.createNodePool({ parent: path(ourTarget), nodePool: { name: 'general', initialNodeCount: 1, config: { machineType: 'e2-medium' } } }, options),
    );
    await sleep(DURATIONS.createNodePool + 20);
    assert.equal((await rejection(gke.createNodeGroup(account, ourTarget, spec(ours), general, randomUUID()))).code, 'cloud-name-taken');

    standin.lifecycle.cpuQuota = 24;
    const quota = await rejection(gke.createNodeGroup(account, ourTarget, spec(ours), { ...batch, desiredSize: 2 }, randomUUID()));
    assert.equal(quota.code, 'cloud-quota-exceeded');
    assert.match(quota.message, /Insufficient regional quota/);
  });
});

function pick(group: { state: string; minSize: number; maxSize: number; desiredSize: number } | null) {
  assert.ok(group !== null);
  return { state: group.state, minSize: group.minSize, maxSize: group.maxSize, desiredSize: group.desiredSize };
}
