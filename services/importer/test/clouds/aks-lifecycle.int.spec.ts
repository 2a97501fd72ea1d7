import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AzureAccount } from '../../src/clouds/accounts.js';
import { AksClients } from '../../src/clouds/aks/aks-client.js';
import { AksLifecycle } from '../../src/clouds/aks/aks-lifecycle.js';
import { aksAgentPoolName, aksLifecycleError } from '../../src/clouds/aks/aks-mapping.js';
import { CloudError, isTransientCloudError } from '../../src/clouds/errors.js';
import { OWNERSHIP_TAG, type CloudClusterSpec, type CloudNodeGroupSpec, type CloudOperation, type CloudTarget } from '../../src/clouds/lifecycle.js';
import { aksKubeconfig, AzureStandin, managedClusterBody } from '../support/cloud-standins/azure-standin.js';
import { cloudRejection } from '../support/cloud-standins/cloud-rejection.js';
import { standinSettings } from '../support/cloud-standins/settings.js';
import { testTls } from '../support/cloud-standins/test-tls.js';

const SUBSCRIPTION = '11111111-2222-3333-4444-555555555555';
const RG = 'rg-fleet';
const account: AzureAccount = { tenantId: '00000000-0000-0000-0000-0000000000aa', clientId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', clientSecret: 'Xy8Q~lifecycle.secret-value_0123456789' };

const target = (clusterName: string, location = 'westeurope'): CloudTarget => ({ provider: 'aks', subscriptionId: SUBSCRIPTION, resourceGroup: RG, location, clusterName });
const spec = (clusterId: string, kubernetesVersion = '1.30', endpointAccess: 'public' | 'private' = 'public'): CloudClusterSpec => ({
  kubernetesVersion,
  endpointAccess,
  networking: { provider: 'aks' },
  tags: { [OWNERSHIP_TAG]: clusterId, team: 'platform' },
});
const general: CloudNodeGroupSpec = { name: 'general-purpose', instanceType: 'Standard_D4s_v5', minSize: 2, maxSize: 2, desiredSize: 2, labels: { tier: 'general' }, taints: [] };
const gpu: CloudNodeGroupSpec = { name: 'gpu', instanceType: 'Standard_NC6s_v3', minSize: 0, maxSize: 3, desiredSize: 1, labels: {}, taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] };

describe('AKS lifecycle through @azure/arm-containerservice against a stateful ARM stand-in', { timeout: 120_000 }, () => {
  let standin: AzureStandin;
  let aks: AksLifecycle;
  // The stand-in's clock: operations advance only when a test polls, so no state is missed on a slow machine.
  let now = Date.now();
  const STEP_MS = 25;

  /** Polls an operation of cluster `name` as the reconciler does, noting the states the resource went through. */
  async function settle(name: string, operation: CloudOperation, observe?: () => Promise<string | null>): Promise<{ failure: string | null; code?: string; seen: string[] }> {
    const seen: string[] = [];
    const note = async () => {
      const state = observe ? await observe() : null;
      if (state !== null && seen.at(-1) !== state) seen.push(state);
    };
    if (operation === null) return { failure: null, seen };
    const deadline = Date.now() + 10_000;
    for (;;) {
      await note();
      const status = await aks.operationStatus(account, target(name), operation);
      if (status.done) {
        await note();
        return { failure: status.failure, ...(status.code === undefined ? {} : { code: status.code }), seen };
      }
      assert.ok(Date.now() < deadline, 'the operation did not end');
      now += STEP_MS;
    }
  }

  const clusterState = (name: string) => async () => (await aks.findCluster(account, target(name)))?.state ?? 'gone';
  const poolState = (cluster: string, group: string) => async () => (await aks.findNodeGroup(account, target(cluster), group))?.state ?? 'gone';

  /** A cluster made ready with its two node groups, the way the reconciler does it. */
  async function readyCluster(name: string, version = '1.30'): Promise<void> {
    assert.equal((await settle(name, await aks.createCluster(account, target(name), spec(`id-${name}`, version), [], `token-${name}`))).failure, null);
    for (const group of [general, gpu]) {
      assert.equal((await settle(name, await aks.createNodeGroup(account, target(name), spec(`id-${name}`, version), group, `token-${name}-${group.name}`))).failure, null);
    }
  }

  before(async () => {
    standin = await AzureStandin.start({ clock: () => now, durations: { clusterCreate: 250, poolCreate: 150, clusterUpgrade: 150, poolUpgrade: 100, poolScale: 100, poolDelete: 100, clusterDelete: 120, clusterUpdate: 100 } });
    standin.principals.set(account.clientId, { ...account, subscriptions: [SUBSCRIPTION] });
    aks = new AksLifecycle(standinSettings({ aks: standin.url }));
  });
  after(async () => standin.close());

  beforeEach(() => {
    standin.rateLimit = null;
    standin.throttleNext = 0;
    standin.managed.options.coreQuota = 10_000;
  });

  it('lists the minors a location offers and refuses one that is no AKS region', async () => {
    assert.deepEqual(await aks.offeredVersions(account, { provider: 'aks', subscriptionId: SUBSCRIPTION, resourceGroup: RG, location: 'westeurope' }), ['1.29', '1.30', '1.31', '1.32']);
    const nowhere = await cloudRejection(aks.offeredVersions(account, { provider: 'aks', subscriptionId: SUBSCRIPTION, resourceGroup: RG, location: 'atlantis' }));
    assert.equal(nowhere.code, 'cloud-location-invalid');
  });

  it('creates the control plane, then two node groups, through Creating to Succeeded, tagged as ours', async () => {
    assert.equal(await aks.findCluster(account, target('alpha')), null);
    const operation = await aks.createCluster(account, target('alpha'), spec('id-alpha'), [], 'token-alpha');
    assert.ok(operation !== null);
    assert.ok(!operation.includes(account.clientSecret));

    // The stand-in refuses a node group while the control plane is still being created.
    const early = await cloudRejection(aks.createNodeGroup(account, target('alpha'), spec('id-alpha'), general, 'token-alpha-general'));
    assert.match(early.message, /OperationNotAllowed.*in progress managed cluster create/);

    const created = await settle('alpha', operation, clusterState('alpha'));
    assert.deepEqual(created, { failure: null, seen: ['creating', 'ready'] });
    const cluster = await aks.findCluster(account, target('alpha'));
    assert.deepEqual(cluster, {
      state: 'ready',
      version: '1.30.4',
      endpoint: 'https://alpha-a1b2c3d4.hcp.westeurope.azmk8s.io:443',
      owner: 'id-alpha',
      failure: null,
    });

    const general_ = await aks.createNodeGroup(account, target('alpha'), spec('id-alpha'), general, 'token-alpha-general');
    const gpu_ = await aks.createNodeGroup(account, target('alpha'), spec('id-alpha'), gpu, 'token-alpha-gpu');
    assert.deepEqual((await settle('alpha', general_, poolState('alpha', general.name))).seen, ['creating', 'ready']);
    assert.equal((await settle('alpha', gpu_)).failure, null);

    const groups = await aks.listNodeGroups(account, target('alpha'));
    assert.deepEqual(
      groups.map(({ name, state, version, instanceType, minSize, maxSize, desiredSize }) => ({ name, state, version, instanceType, minSize, maxSize, desiredSize })),
      [
        { name: 'general-purpose', state: 'ready', version: '1.30.4', instanceType: 'Standard_D4s_v5', minSize: 2, maxSize: 2, desiredSize: 2 },
        { name: 'gpu', state: 'ready', version: '1.30.4', instanceType: 'Standard_NC6s_v3', minSize: 0, maxSize: 3, desiredSize: 1 },
      ],
    );
    const state = standin.managed.find(SUBSCRIPTION, RG, 'alpha');
    const pools = [...(state?.pools.values() ?? [])];
    assert.deepEqual(pools.map((pool) => [pool.mode, pool.tags[OWNERSHIP_TAG]]), [['System', 'id-alpha'], ['User', 'id-alpha'], ['User', 'id-alpha']]);
    assert.equal(pools[0]?.name, 'flotillasys');
    assert.match(pools[1]?.name ?? '', /^genera[0-9a-f]{6}$/);
    assert.equal(pools[2]?.name, 'gpu');
    assert.equal(pools[1]?.tags['flotilla-node-group'], 'general-purpose');
    assert.deepEqual(pools[2]?.nodeTaints, ['gpu=true:NoSchedule']);
    assert.deepEqual([pools[2]?.enableAutoScaling, pools[2]?.minCount, pools[2]?.maxCount], [true, 0, 3]);
    assert.equal(state?.tags.team, 'platform');

    // Observing a cluster reads its group's list only: its credentials (the CA) are the import side's, read when it connects.
    assert.equal((await aks.findCluster(account, target('alpha')))?.state, 'ready');
    assert.equal(standin.server.calls.filter((call) => call.endsWith('/listClusterUserCredential')).length, 0);
    assert.ok(Object.values(standin.counts().creates).every((count) => count === 1));
  });

  it('creates the control plane with its node groups in one PUT: their pools come up with it', async () => {
    const puts = () => standin.server.calls.filter((call) => call.startsWith('PUT ') && call.includes('/managedClusters/omega')).length;
    const operation = await aks.createCluster(account, target('omega'), spec('id-omega'), [general, gpu], 'token-omega');
    assert.deepEqual((await aks.listNodeGroups(account, target('omega'))).map((group) => [group.name, group.state]), [['general-purpose', 'creating'], ['gpu', 'creating']]);
    assert.equal((await settle('omega', operation)).failure, null);
    assert.deepEqual(
      (await aks.listNodeGroups(account, target('omega'))).map(({ name, state, instanceType, minSize, maxSize, desiredSize }) => ({ name, state, instanceType, minSize, maxSize, desiredSize })),
      [
        { name: 'general-purpose', state: 'ready', instanceType: 'Standard_D4s_v5', minSize: 2, maxSize: 2, desiredSize: 2 },
        { name: 'gpu', state: 'ready', instanceType: 'Standard_NC6s_v3', minSize: 0, maxSize: 3, desiredSize: 1 },
      ],
    );
    const pools = [...(standin.managed.find(SUBSCRIPTION, RG, 'omega')?.pools.values() ?? [])];
    assert.deepEqual(pools.map((pool) => [pool.mode, pool.tags[OWNERSHIP_TAG]]), [['System', 'id-omega'], ['User', 'id-omega'], ['User', 'id-omega']]);
    assert.equal(pools[1]?.tags['flotilla-node-group'], 'general-purpose');
    assert.deepEqual(pools[2]?.nodeTaints, ['gpu=true:NoSchedule']);
    assert.equal(puts(), 1);
    // Each pool is there already: a create of one is nothing to do.
    assert.equal(await aks.createNodeGroup(account, target('omega'), spec('id-omega'), gpu, 'token-omega-gpu'), null);
    assert.equal(puts(), 1);
  });

  it('makes a private cluster when asked', async () => {
    assert.equal((await settle('inside', await aks.createCluster(account, target('inside'), spec('id-inside', '1.31', 'private'), [], 'token-inside'))).failure, null);
    assert.equal((await aks.findCluster(account, target('inside')))?.endpoint, 'https://inside-a1b2c3d4.privatelink.westeurope.azmk8s.io:443');
    await settle('inside', await aks.deleteCluster(account, target('inside')));
  });

  it('resumes after a crash: the repeated create finds its own resources and makes no second one', async () => {
    const operation = await aks.createCluster(account, target('beta'), spec('id-beta'), [], 'token-beta');
    // A new process: new clients, the same name, token and stored operation.
    const restarted = new AksLifecycle(standinSettings({ aks: standin.url }));
    const puts = () => standin.server.calls.filter((call) => call.startsWith('PUT ') && call.includes('/managedClusters/beta')).length;
    const putsBefore = puts();
    assert.equal(await restarted.createCluster(account, target('beta'), spec('id-beta'), [], 'token-beta'), null);
    assert.equal(puts(), putsBefore, 'the repeated create sent no PUT');
    assert.equal((await settle('beta', operation)).failure, null);
    assert.equal(await restarted.createCluster(account, target('beta'), spec('id-beta'), [], 'token-beta'), null);

    const first = await restarted.createNodeGroup(account, target('beta'), spec('id-beta'), general, 'token-beta-general');
    assert.equal(await restarted.createNodeGroup(account, target('beta'), spec('id-beta'), general, 'token-beta-general'), null);
    assert.equal((await settle('beta', first)).failure, null);
    assert.equal(await aks.createNodeGroup(account, target('beta'), spec('id-beta'), general, 'token-beta-general'), null);

    const creates = Object.entries(standin.counts().creates).filter(([resource]) => resource.startsWith(`${RG}/beta`));
    assert.equal(creates.length, 3);
    assert.ok(creates.every(([, count]) => count === 1));
    assert.equal(standin.counts().duplicateCreates, 0);

    // An operation ARM no longer knows of (long finished, or lost) is done, without failure.
    const lost = await aks.scaleNodeGroup(account, target('beta'), 'general-purpose', { minSize: 3, maxSize: 3, desiredSize: 3 }, 'token-beta-scale');
    assert.ok(lost !== null);
    await settle('beta', lost);
    standin.managed.operations.clear();
    assert.deepEqual(await aks.operationStatus(account, target('beta'), lost), { done: true, failure: null });
    assert.equal((await cloudRejection(aks.operationStatus(account, target('beta'), 'not a poller state'))).code, 'cloud-response-invalid');
  });

  it('scales a fixed pool by its count and an autoscaled one within its autoscaler, changing nothing else', async () => {
    await readyCluster('gamma');
    const pools = () => standin.managed.find(SUBSCRIPTION, RG, 'gamma')?.pools;
    const sizeOf = (pool: string) => {
      const found = pools()?.get(pool);
      return [found?.enableAutoScaling, found?.minCount, found?.maxCount, found?.count];
    };
    /** Scales as the reconciler does: asked again after each operation until nothing is left to change. */
    async function scaleFully(pool: string, size: { minSize: number; maxSize: number; desiredSize: number }): Promise<number> {
      for (let operations = 0; operations < 4; operations += 1) {
        const operation = await aks.scaleNodeGroup(account, target('gamma'), pool, size, `token-scale-${pool}-${size.desiredSize}`);
        if (operation === null) return operations;
        assert.equal((await settle('gamma', operation, poolState('gamma', pool))).failure, null);
      }
      assert.fail(`${pool} never reached ${JSON.stringify(size)}`);
    }
    const untouched = (pool: string) => {
      const found = pools()?.get(pool);
      return [found?.vmSize, found?.orchestratorVersion, found?.nodeLabels, found?.nodeTaints, found?.tags];
    };
    const generalPool = aksAgentPoolName('general-purpose');
    const gpuBefore = untouched('gpu');
    const generalBefore = untouched(generalPool);

    // AKS takes no count while the autoscaler runs a pool: the asked count and bounds are reached all the same.
    assert.deepEqual(sizeOf('gpu'), [true, 0, 3, 1]);
    const direct = new AksClients(standinSettings({ aks: standin.url })).client(account, SUBSCRIPTION);
    const manual = direct.agentPools.createOrUpdate(RG, 'gamma', 'gpu', { ...(await direct.agentPools.get(RG, 'gamma', 'gpu')), count: 2 });
    const refused = await cloudRejection(manual.submitted().catch((error: unknown) => Promise.reject(aksLifecycleError(error, 'manual scale of gpu'))));
    assert.equal(refused.code, 'cloud-request-invalid');
    assert.match(refused.message, /Cannot manually scale agent pool 'gpu' while its cluster autoscaler is enabled/);
    assert.equal(await scaleFully('gpu', { minSize: 1, maxSize: 5, desiredSize: 3 }), 2);
    assert.deepEqual(sizeOf('gpu'), [true, 1, 5, 3]);
    const scaled = await aks.findNodeGroup(account, target('gamma'), 'gpu');
    assert.deepEqual([scaled?.state, scaled?.minSize, scaled?.maxSize, scaled?.desiredSize], ['ready', 1, 5, 3]);
    // Bounds only, the count within them: one operation, and the autoscaler stays on.
    assert.equal(await scaleFully('gpu', { minSize: 0, maxSize: 6, desiredSize: 3 }), 1);
    assert.deepEqual(sizeOf('gpu'), [true, 0, 6, 3]);
    // And scaled again later: no manual size is refused.
    assert.equal(await scaleFully('gpu', { minSize: 0, maxSize: 6, desiredSize: 5 }), 2);
    assert.deepEqual(sizeOf('gpu'), [true, 0, 6, 5]);
    assert.equal(await aks.scaleNodeGroup(account, target('gamma'), 'gpu', { minSize: 0, maxSize: 6, desiredSize: 5 }, 'token-again'), null);

    // A fixed pool keeps a fixed count: the autoscaler is never turned on for it.
    assert.deepEqual(sizeOf(generalPool), [false, undefined, undefined, 2]);
    assert.equal(await scaleFully('general-purpose', { minSize: 4, maxSize: 4, desiredSize: 4 }), 1);
    assert.deepEqual(sizeOf(generalPool), [false, undefined, undefined, 4]);
    assert.equal(await scaleFully('general-purpose', { minSize: 1, maxSize: 1, desiredSize: 1 }), 1);
    assert.deepEqual(sizeOf(generalPool), [false, undefined, undefined, 1]);
    const general_ = await aks.findNodeGroup(account, target('gamma'), 'general-purpose');
    assert.deepEqual([general_?.minSize, general_?.maxSize, general_?.desiredSize], [1, 1, 1]);

    assert.deepEqual([untouched('gpu'), untouched(generalPool)], [gpuBefore, generalBefore]);
    assert.equal((await cloudRejection(aks.scaleNodeGroup(account, target('gamma'), 'missing', { minSize: 1, maxSize: 1, desiredSize: 1 }, 't'))).code, 'cloud-cluster-not-found');
  });

  it('upgrades one minor, control plane then node groups; a skipped minor or a pool past the control plane is refused', async () => {
    await readyCluster('delta');
    const skip = await cloudRejection(aks.upgradeCluster(account, target('delta'), '1.32', 'token-up'));
    assert.equal(skip.code, 'cloud-version-not-offered');
    assert.match(skip.message, /UpgradeNotAllowed/);
    const ahead = await cloudRejection(aks.upgradeNodeGroup(account, target('delta'), 'gpu', '1.31', 'token-up-gpu'));
    assert.equal(ahead.code, 'cloud-version-not-offered');
    assert.match(ahead.message, /NodePoolMcVersionIncompatible/);

    const upgrade = await aks.upgradeCluster(account, target('delta'), '1.31', 'token-up');
    // Repeated while under way (a restart): nothing new is sent.
    assert.equal(await aks.upgradeCluster(account, target('delta'), '1.31', 'token-up'), null);
    assert.deepEqual((await settle('delta', upgrade, clusterState('delta'))).seen, ['updating', 'ready']);
    assert.equal((await aks.findCluster(account, target('delta')))?.version, '1.31.4');
    const state = standin.managed.find(SUBSCRIPTION, RG, 'delta');
    assert.equal(state?.pools.get('flotillasys')?.currentOrchestratorVersion, '1.31.4', 'the System pool follows the control plane');
    assert.deepEqual((await aks.listNodeGroups(account, target('delta'))).map((group) => group.version), ['1.30.4', '1.30.4']);

    for (const group of ['general-purpose', 'gpu']) {
      assert.equal((await settle('delta', await aks.upgradeNodeGroup(account, target('delta'), group, '1.31', `token-up-${group}`), poolState('delta', group))).failure, null);
    }
    assert.deepEqual((await aks.listNodeGroups(account, target('delta'))).map((group) => group.version), ['1.31.4', '1.31.4']);
    assert.equal(await aks.upgradeNodeGroup(account, target('delta'), 'gpu', '1.31', 'token-up-gpu'), null);
  });

  it('deletes node groups, then the cluster: everything gone; deleting again is done', async () => {
    await readyCluster('epsilon');
    const early = await cloudRejection(aks.deleteCluster(account, target('epsilon')));
    assert.match(early.message, /OperationNotAllowed.*User agent pools/);

    const deletions = await Promise.all(['general-purpose', 'gpu'].map((group) => aks.deleteNodeGroup(account, target('epsilon'), group)));
    for (const deletion of deletions) assert.equal((await settle('epsilon', deletion)).failure, null);
    assert.deepEqual(await aks.listNodeGroups(account, target('epsilon')), []);
    const deletion = await aks.deleteCluster(account, target('epsilon'));
    assert.deepEqual((await settle('epsilon', deletion, clusterState('epsilon'))).seen, ['deleting', 'gone']);
    assert.equal(await aks.findCluster(account, target('epsilon')), null);
    assert.equal(standin.managed.find(SUBSCRIPTION, RG, 'epsilon'), undefined);
    assert.equal(await aks.deleteCluster(account, target('epsilon')), null);
    assert.equal(await aks.deleteNodeGroup(account, target('epsilon'), 'gpu'), null);
    assert.equal(await aks.findNodeGroup(account, target('epsilon'), 'gpu'), null);
  });

  it('runs a cluster made outside Flotilla (adopted, tagged then): its System pool is no node group, follows the control plane and goes with the cluster; never deleted before', async () => {
    const client = new AksClients(standinSettings({ aks: standin.url })).client(account, SUBSCRIPTION);
    const made = client.managedClusters.createOrUpdate(RG, 'outside', { location: 'westeurope', kubernetesVersion: '1.30', dnsPrefix: 'outside', agentPoolProfiles: [{ name: 'nodepool1', mode: 'System', vmSize: 'Standard_D2s_v5', count: 2 }] });
    await made.submitted();
    assert.equal((await settle('outside', await made.serialize())).failure, null);
    const apps = client.agentPools.createOrUpdate(RG, 'outside', 'apps', { vmSize: 'Standard_D4s_v5', count: 3, mode: 'User' });
    await apps.submitted();
    assert.equal((await settle('outside', await apps.serialize())).failure, null);

    assert.deepEqual((await aks.listNodeGroups(account, target('outside'))).map((group) => group.name), ['apps']);
    assert.equal(await aks.findNodeGroup(account, target('outside'), 'nodepool1'), null);
    assert.equal((await settle('outside', await aks.upgradeCluster(account, target('outside'), '1.31', 'token-outside-up'))).failure, null);
    const pools = standin.managed.find(SUBSCRIPTION, RG, 'outside')?.pools;
    assert.deepEqual([pools?.get('nodepool1')?.currentOrchestratorVersion, pools?.get('apps')?.currentOrchestratorVersion], ['1.31.4', '1.30.4']);
    assert.equal((await settle('outside', await aks.upgradeNodeGroup(account, target('outside'), 'apps', '1.31', 'token-outside-apps'))).failure, null);

    // Not adopted yet: no ownership tag, neither its pool nor the cluster is deleted.
    assert.equal((await cloudRejection(aks.deleteNodeGroup(account, target('outside'), 'apps'))).code, 'cloud-name-taken');
    const notOurs = await cloudRejection(aks.deleteCluster(account, target('outside')));
    assert.equal(notOurs.code, 'cloud-name-taken');
    assert.match(notOurs.message, /has no flotilla-cluster-id tag/);
    assert.ok(!standin.server.calls.some((call) => call.startsWith('DELETE ') && /\/managedClusters\/outside(\/|$)/.test(call)));
    const outside = () => standin.managed.find(SUBSCRIPTION, RG, 'outside');
    const found = outside();
    assert.ok(found !== undefined);
    // Its own tags are kept.
    found.tags = { owner: 'team-a' };
    await aks.adoptCluster(account, target('outside'), 'id-outside');
    assert.deepEqual(outside()?.tags, { owner: 'team-a', [OWNERSHIP_TAG]: 'id-outside' });
    assert.equal((await aks.findCluster(account, target('outside')))?.owner, 'id-outside');
    await aks.adoptCluster(account, target('outside'), 'id-outside');
    assert.equal(standin.server.calls.filter((call) => call.startsWith('PATCH ') && call.endsWith('/managedClusters/outside')).length, 1);
    assert.equal((await cloudRejection(aks.adoptCluster(account, target('outside'), 'id-other'))).code, 'cloud-name-taken');

    // The tag's own update runs a moment: the first delete waits it out like any operation under way.
    let poolDeletion: CloudOperation = null;
    for (let attempt = 0; poolDeletion === null; attempt += 1) {
      assert.ok(attempt < 100, 'the delete never started');
      try {
        poolDeletion = await aks.deleteNodeGroup(account, target('outside'), 'apps');
      } catch (error) {
        assert.ok(error instanceof CloudError && error.code === 'cloud-failed', String(error));
        now += STEP_MS;
      }
    }
    assert.equal((await settle('outside', poolDeletion)).failure, null);
    assert.deepEqual(await aks.listNodeGroups(account, target('outside')), []);
    assert.equal((await settle('outside', await aks.deleteCluster(account, target('outside')))).failure, null);
    assert.equal(await aks.findCluster(account, target('outside')), null);
  });

  it('reports an operation failing half-way with the cloud message typed from its code, and a repeated create reconciles it', async () => {
    const message = "VM has reported a failure when processing extension 'vmssCSE'. Error message: Enable failed: exit status 50.";
    standin.managed.failNext('cluster-create', { code: 'VMExtensionProvisioningError', message }, { name: 'zeta' });
    const started = now;
    const failed = await settle('zeta', await aks.createCluster(account, target('zeta'), spec('id-zeta'), [], 'token-zeta'), clusterState('zeta'));
    assert.equal(failed.failure, `AKS: VMExtensionProvisioningError. ${message}`);
    assert.equal(failed.code, 'cloud-failed');
    assert.deepEqual(failed.seen, ['creating', 'failed']);
    const halfway = standin.managed.options.durations.clusterCreate / 2;
    assert.ok(now - started >= halfway && now - started < halfway + 2 * STEP_MS, `failed after ${now - started} ms`);
    const observed = await aks.findCluster(account, target('zeta'));
    assert.deepEqual([observed?.state, observed?.failure, observed?.failureCode], ['failed', `VMExtensionProvisioningError: ${message}`, 'cloud-failed']);

    const retried = await aks.createCluster(account, target('zeta'), spec('id-zeta'), [], 'token-zeta');
    assert.ok(retried !== null);
    assert.equal((await settle('zeta', retried)).failure, null);
    assert.equal((await aks.findCluster(account, target('zeta')))?.state, 'ready');
    assert.equal(standin.counts().creates[`${RG}/zeta`], 1);

    // A scale that fails half-way for the subscription's quota is a quota to raise.
    const quota = 'Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota.';
    standin.managed.failNext('pool-scale', { code: 'QuotaExceeded', message: quota }, { name: 'gpu' });
    assert.equal((await settle('zeta', await aks.createNodeGroup(account, target('zeta'), spec('id-zeta'), gpu, 'token-zeta-gpu'))).failure, null);
    const scale = await settle('zeta', await aks.scaleNodeGroup(account, target('zeta'), 'gpu', { minSize: 0, maxSize: 3, desiredSize: 2 }, 'token-zeta-scale'));
    assert.deepEqual([scale.failure, scale.code], [`AKS: QuotaExceeded. ${quota}`, 'cloud-quota-exceeded']);
    const pool = await aks.findNodeGroup(account, target('zeta'), 'gpu');
    assert.deepEqual([pool?.state, pool?.failureCode], ['failed', 'cloud-quota-exceeded']);
  });

  it('answers 429 beyond the rate limit with Retry-After, read into retryAfterMs', async () => {
    const created = await aks.createCluster(account, target('eta'), spec('id-eta'), [], 'token-eta');
    assert.ok(created !== null);
    await settle('eta', created);
    const throttledBefore = standin.counts().throttledRequests;
    standin.rateLimit = { perSecond: 0.5, burst: 2 };
    await aks.findNodeGroup(account, target('eta'), 'gpu');
    await aks.findNodeGroup(account, target('eta'), 'gpu');
    const throttled = await cloudRejection(aks.findNodeGroup(account, target('eta'), 'gpu'));
    assert.equal(throttled.code, 'cloud-throttled');
    assert.equal(throttled.retryAfterMs, 2000);
    assert.match(throttled.message, /SubscriptionRequestsThrottled/);
    assert.equal(standin.counts().throttledRequests, throttledBefore + 1);

    // With the SDK's own retries on, a 429 still comes back at once (one request), for the service-wide gate to act on.
    const retrying = new AksLifecycle({ ...standinSettings({ aks: standin.url }), maxAttempts: 3 });
    const requestsBefore = standin.counts().armRequests;
    const atOnce = await cloudRejection(retrying.findNodeGroup(account, target('eta'), 'gpu'));
    assert.deepEqual([atOnce.code, atOnce.retryAfterMs, standin.counts().armRequests - requestsBefore], ['cloud-throttled', 2000, 1]);
    assert.match(atOnce.message, /SubscriptionRequestsThrottled \(Number of 'read' requests/);

    standin.rateLimit = { perSecond: 10, burst: 1, retryAfter: 'fractional' };
    await aks.findNodeGroup(account, target('eta'), 'gpu');
    const fractional = await cloudRejection(aks.findNodeGroup(account, target('eta'), 'gpu'));
    assert.ok(fractional.retryAfterMs !== undefined && fractional.retryAfterMs > 0 && fractional.retryAfterMs <= 100, `retryAfterMs ${fractional.retryAfterMs}`);
    // The operation status call is throttled as well, and says so rather than reporting the operation.
    const status = await cloudRejection(aks.operationStatus(account, target('eta'), created));
    assert.equal(status.code, 'cloud-throttled');
  });

  it('refuses a version the location does not offer, and a create beyond the core quota', async () => {
    standin.managed.options.versions.brazilsouth = ['1.31', '1.32'];
    const place = { provider: 'aks' as const, subscriptionId: SUBSCRIPTION, resourceGroup: RG, location: 'brazilsouth' };
    assert.deepEqual(await aks.offeredVersions(account, place), ['1.31', '1.32']);
    const old = await cloudRejection(aks.createCluster(account, target('theta', 'brazilsouth'), spec('id-theta', '1.30'), [], 'token-theta'));
    assert.equal(old.code, 'cloud-version-not-offered');
    assert.match(old.message, /Version 1\.30 is not supported in this region/);
    assert.equal(await aks.findCluster(account, target('theta', 'brazilsouth')), null);

    await settle('iota', await aks.createCluster(account, target('iota'), spec('id-iota'), [], 'token-iota'));
    standin.managed.options.coreQuota = 0;
    const quota = await cloudRejection(aks.createNodeGroup(account, target('iota'), spec('id-iota'), general, 'token-iota-general'));
    assert.equal(quota.code, 'cloud-quota-exceeded');
    assert.match(quota.message, /Insufficient regional vcpu quota/);
    assert.equal(await aks.findNodeGroup(account, target('iota'), general.name), null);
  });

  it('gives a parameter ARM refuses (InvalidParameter) as cloud-request-invalid (permanent) with its message', async () => {
    await settle('lambda', await aks.createCluster(account, target('lambda'), spec('id-lambda'), [], 'token-lambda'));
    const huge = { ...general, minSize: 1001, maxSize: 1001, desiredSize: 1001 };
    const refused = await cloudRejection(aks.createNodeGroup(account, target('lambda'), spec('id-lambda'), huge, 'token-lambda-general'));
    assert.equal(refused.code, 'cloud-request-invalid');
    assert.ok(!isTransientCloudError(refused.code));
    assert.match(refused.message, /InvalidParameter \(The count of agent pool '\w+' must be between 0 and 1000\.\)/);
    assert.equal(await aks.findNodeGroup(account, target('lambda'), general.name), null);
  });

  it('will not take a name held by a resource without our tag', async () => {
    const foreign = managedClusterBody({ subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: 'legacy', location: 'westeurope', version: '1.30.4', pools: [{ name: 'nodes', count: 3, vmSize: 'Standard_D4s_v5', version: '1.30.4' }] });
    standin.fixtures.push({ subscriptionId: SUBSCRIPTION, resourceGroup: RG, body: foreign, kubeconfig: aksKubeconfig({ name: 'legacy', resourceGroup: RG, server: 'https://legacy:443', caPem: testTls().caPem, user: { token: 't', certPem: 'c', keyPem: 'k' } }) });
    const taken = await cloudRejection(aks.createCluster(account, target('legacy'), spec('id-legacy'), [], 'token-legacy'));
    assert.equal(taken.code, 'cloud-name-taken');
    assert.ok(!standin.server.calls.some((call) => call.startsWith('PUT ') && call.endsWith('/managedClusters/legacy')));

    await settle('kappa', await aks.createCluster(account, target('kappa'), spec('id-kappa'), [], 'token-kappa'));
    assert.equal((await cloudRejection(aks.createCluster(account, target('kappa'), spec('id-other'), [], 'token-other'))).code, 'cloud-name-taken');
    // An agent pool someone added by hand, without our tag.
    const client = new AksClients(standinSettings({ aks: standin.url })).client(account, SUBSCRIPTION);
    const byHand = client.agentPools.createOrUpdate(RG, 'kappa', 'gpu', { vmSize: 'Standard_NC6s_v3', count: 1, mode: 'User' });
    await byHand.submitted();
    assert.equal((await settle('kappa', await byHand.serialize())).failure, null);
    assert.equal((await cloudRejection(aks.createNodeGroup(account, target('kappa'), spec('id-kappa'), gpu, 'token-kappa-gpu'))).code, 'cloud-name-taken');
  });
});
