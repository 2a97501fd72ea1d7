import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObservedCloudCluster, ObservedCloudNodeGroup } from '../clouds/lifecycle.js';
import { cloudNameFor, requestTokenFor, type ManagedCluster, type ManagedWork } from './managed-cluster.js';
import { firstLookMs, nextLookMs } from './look-again.js';
import { decideNextStep, stepKey, type Observation } from './next-step.js';
import { settleWaitOn } from './outcome.js';

const now = '2026-12-06T12:00:00.000Z';

const managed = (work: ManagedWork | null, overrides: Partial<ManagedCluster> = {}): ManagedCluster => ({
  id: 'shop-prod',
  name: 'shop',
  provider: 'eks',
  credentialRef: 'aws-main',
  place: { provider: 'eks', region: 'eu-west-1' },
  cloudName: cloudNameFor('shop-prod'),
  spec: {
    kubernetesVersion: '1.31',
    endpointAccess: 'public',
    networking: { provider: 'eks', subnetIds: ['subnet-a', 'subnet-b'], securityGroupIds: [], clusterRoleArn: 'arn:aws:iam::1:role/c', nodeRoleArn: 'arn:aws:iam::1:role/n' },
    tags: { 'flotilla-cluster-id': 'shop-prod' },
  },
  nodeGroups: [
    { name: 'gpu', instanceType: 'g5.xlarge', minSize: 0, maxSize: 2, desiredSize: 1, labels: {}, taints: [] },
    { name: 'workers', instanceType: 'm6i.large', minSize: 3, maxSize: 3, desiredSize: 3, labels: {}, taints: [] },
  ],
  phase: 'Provisioning',
  work,
  step: null,
  operation: null,
  generation: 1,
  versionOffered: true,
  reasons: [],
  failures: 0,
  nextAttemptAt: now,
  requestEventId: 'req-1',
  observedVersion: null,
  endpoint: null,
  release: null,
  policyRevision: null,
  adopted: false,
  createdAt: now,
  ...overrides,
});

const cloudCluster = (state: ObservedCloudCluster['state'], overrides: Partial<ObservedCloudCluster> = {}): ObservedCloudCluster => ({
  state,
  version: '1.31',
  endpoint: state === 'ready' ? 'https://ABC.gr7.eu-west-1.eks.amazonaws.com' : null,
  owner: 'shop-prod',
  failure: null,
  ...overrides,
});

const group = (name: string, state: ObservedCloudNodeGroup['state'], overrides: Partial<ObservedCloudNodeGroup> = {}): ObservedCloudNodeGroup => ({
  name,
  state,
  version: '1.31',
  instanceType: 'm6i.large',
  minSize: name === 'gpu' ? 0 : 3,
  maxSize: name === 'gpu' ? 2 : 3,
  desiredSize: name === 'gpu' ? 1 : 3,
  failure: null,
  ...overrides,
});

const observe = (cluster: ObservedCloudCluster | null, nodeGroups: ObservedCloudNodeGroup[] = [], operation?: Observation['operation']): Observation =>
  operation === undefined ? { cluster, nodeGroups } : { cluster, nodeGroups, operation };

describe('cloud names and request tokens', () => {
  it('derives the cloud name from the cluster id alone, valid on GKE (40 characters, a letter first)', () => {
    assert.equal(cloudNameFor('shop-prod'), 'fl-shop-prod');
    assert.equal(cloudNameFor('1abc'), 'fl-1abc');
    const long = cloudNameFor('a'.repeat(63));
    assert.equal(long.length <= 40, true);
    assert.match(long, /^[a-z]([-a-z0-9]*[a-z0-9])?$/);
    assert.equal(cloudNameFor('a'.repeat(63)), long, 'deterministic');
    assert.notEqual(cloudNameFor(`${'a'.repeat(62)}b`), long, 'two long ids with one start never share a name');
  });

  it('gives a step the same token on every retry and another one for the next request', () => {
    const token = requestTokenFor('shop-prod', 1, 'create-cluster');
    assert.match(token, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(requestTokenFor('shop-prod', 1, 'create-cluster'), token);
    assert.notEqual(requestTokenFor('shop-prod', 2, 'create-cluster'), token);
    assert.notEqual(requestTokenFor('shop-prod', 1, 'create-node-group/workers'), token);
  });
});

describe('creating a cluster (decideNextStep, work create)', () => {
  it('given no cluster at the cloud and the version not yet checked: checks the offered versions first', () => {
    assert.deepEqual(decideNextStep(managed({ kind: 'create' }, { versionOffered: false }), observe(null)), { kind: 'check-version' });
  });

  it('given no cluster at the cloud: creates the control plane', () => {
    assert.deepEqual(decideNextStep(managed({ kind: 'create' }), observe(null)), { kind: 'create-cluster' });
  });

  it('given the control plane being created by our create-cluster step: waits, never creates again', () => {
    const step = decideNextStep(managed({ kind: 'create' }, { step: 'create-cluster' }), observe(cloudCluster('creating')));
    assert.equal(step.kind, 'wait');
  });

  it('given the control plane being created with no handle of its create held (a crash, a new generation): asks the create again, which resumes it', () => {
    assert.deepEqual(decideNextStep(managed({ kind: 'create' }), observe(cloudCluster('creating'))), { kind: 'create-cluster' });
    assert.deepEqual(decideNextStep(managed({ kind: 'create' }, { step: 'check-version' }), observe(cloudCluster('creating'))), { kind: 'create-cluster' });
    // Its handle held: waited on, not asked again.
    assert.equal(decideNextStep(managed({ kind: 'create' }, { step: 'create-cluster', operation: 'op-1' }), observe(cloudCluster('creating'), [], { done: false })).kind, 'wait');
    // Someone else's: never resumed.
    assert.equal(decideNextStep(managed({ kind: 'create' }), observe(cloudCluster('creating', { owner: 'another' }))).kind, 'fail');
  });

  it('given a cluster of that name without our tag, or another cluster\'s: cloud-name-taken on field cloud', () => {
    for (const owner of [null, 'someone-else']) {
      const step = decideNextStep(managed({ kind: 'create' }), observe(cloudCluster('ready', { owner })));
      assert.equal(step.kind, 'fail');
      assert.equal(step.kind === 'fail' && step.reasons[0]?.code, 'cloud-name-taken');
      assert.equal(step.kind === 'fail' && step.reasons[0]?.field, 'cloud');
    }
  });

  it('given a ready control plane: creates the missing node groups one per step, in name order', () => {
    const first = decideNextStep(managed({ kind: 'create' }), observe(cloudCluster('ready')));
    assert.equal(first.kind === 'create-node-group' && first.group.name, 'gpu');
    const second = decideNextStep(managed({ kind: 'create' }), observe(cloudCluster('ready'), [group('gpu', 'creating')]));
    assert.equal(second.kind === 'create-node-group' && second.group.name, 'workers', 'the second does not wait for the first');
  });

  it('given every node group there but one still creating: waits', () => {
    const step = decideNextStep(managed({ kind: 'create' }), observe(cloudCluster('ready'), [group('gpu', 'ready'), group('workers', 'creating')]));
    assert.deepEqual(step, { kind: 'wait', on: 'node group workers creating' });
  });

  it('given everything ready: done, with the endpoint, the version and the nodes asked for', () => {
    const step = decideNextStep(managed({ kind: 'create' }), observe(cloudCluster('ready', { version: '1.31.4' }), [group('gpu', 'ready'), group('workers', 'ready')]));
    assert.deepEqual(step, { kind: 'done', nodeCount: 4, version: '1.31.4', endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com' });
    // A group whose size is per zone (GKE) counts the nodes it runs.
    const zonal = decideNextStep(managed({ kind: 'create' }), observe(cloudCluster('ready'), [{ ...group('gpu', 'ready'), nodes: 6 }, group('workers', 'ready')]));
    assert.equal(zonal.kind === 'done' && zonal.nodeCount, 6 + 3);
  });

  it('given a failed control plane or node group: fails with the cloud\'s message', () => {
    const cluster = decideNextStep(managed({ kind: 'create' }), observe(cloudCluster('failed', { failure: 'subnet has no free addresses' })));
    assert.equal(cluster.kind === 'fail' && cluster.reasons[0]?.code, 'cloud-resource-failed');
    assert.match(cluster.kind === 'fail' ? cluster.reasons[0]?.message ?? '' : '', /subnet has no free addresses/);
    const pool = decideNextStep(managed({ kind: 'create' }), observe(cloudCluster('ready'), [group('gpu', 'failed', { failure: 'InsufficientInstanceCapacity' }), group('workers', 'ready')]));
    assert.equal(pool.kind === 'fail' && pool.reasons[0]?.field, 'nodePools');
  });

  it('given a stored operation handle still running: waits on it, whatever the resources say', () => {
    const cluster = managed({ kind: 'create' }, { operation: 'op-7', step: 'create-cluster' });
    assert.equal(decideNextStep(cluster, observe(null, [], { done: false })).kind, 'wait');
  });

  it('given the stored operation ended in failure: fails naming the step', () => {
    const cluster = managed({ kind: 'create' }, { operation: 'op-7', step: 'create-cluster' });
    const step = decideNextStep(cluster, observe(cloudCluster('creating'), [], { done: true, failure: 'quota of vCPUs reached' }));
    assert.equal(step.kind === 'fail' && step.reasons[0]?.code, 'cloud-operation-failed');
  });

  it('given the stored operation done: goes on from what is observed', () => {
    const cluster = managed({ kind: 'create' }, { operation: 'op-7', step: 'create-cluster' });
    const step = decideNextStep(cluster, observe(cloudCluster('ready'), [], { done: true, failure: null }));
    assert.equal(step.kind, 'create-node-group');
  });
});

describe('scaling a node group (work scale)', () => {
  const scaled = (desiredSize: number) =>
    managed({ kind: 'scale', pool: 'workers', from: 3, to: desiredSize, requestEventId: 'scale-1' }, {
      phase: 'Running',
      nodeGroups: [{ name: 'workers', instanceType: 'm6i.large', minSize: 3, maxSize: desiredSize, desiredSize, labels: {}, taints: [] }],
    });

  it('given the group at its old size: scales it to the wanted size', () => {
    assert.deepEqual(decideNextStep(scaled(5), observe(cloudCluster('ready'), [group('workers', 'ready')])), {
      kind: 'scale-node-group',
      name: 'workers',
      size: { minSize: 3, maxSize: 5, desiredSize: 5 },
    });
  });

  it('given the group updating: waits; then at its size: done', () => {
    assert.equal(decideNextStep(scaled(5), observe(cloudCluster('ready'), [group('workers', 'updating', { desiredSize: 5, maxSize: 5 })])).kind, 'wait');
    const step = decideNextStep(scaled(5), observe(cloudCluster('ready'), [group('workers', 'ready', { desiredSize: 5, maxSize: 5 })]));
    assert.equal(step.kind === 'done' && step.nodeCount, 5);
  });

  it('given no such group at the cloud: node-pool-not-found', () => {
    const step = decideNextStep(scaled(5), observe(cloudCluster('ready'), []));
    assert.equal(step.kind === 'fail' && step.reasons[0]?.code, 'node-pool-not-found');
  });
});

describe('upgrading (work upgrade): the control plane one minor, then each node group', () => {
  const upgrade = managed({ kind: 'upgrade', planId: 'plan-1', fromVersion: '1.31', toVersion: '1.32', requestEventId: 'up-1' }, { phase: 'Running' });

  it('given the control plane on the old minor: upgrades it first', () => {
    assert.deepEqual(decideNextStep(upgrade, observe(cloudCluster('ready', { version: '1.31.4' }), [group('gpu', 'ready'), group('workers', 'ready')])), { kind: 'upgrade-cluster', version: '1.32' });
  });

  it('given the control plane updating: waits; node groups are not touched', () => {
    assert.equal(decideNextStep(upgrade, observe(cloudCluster('updating', { version: '1.31.4' }), [group('gpu', 'ready')])).kind, 'wait');
  });

  it('given the control plane on the new minor: upgrades the node groups one at a time', () => {
    const first = decideNextStep(upgrade, observe(cloudCluster('ready', { version: '1.32.1' }), [group('gpu', 'ready'), group('workers', 'ready')]));
    assert.deepEqual(first, { kind: 'upgrade-node-group', name: 'gpu', version: '1.32' });
    const second = decideNextStep(upgrade, observe(cloudCluster('ready', { version: '1.32.1' }), [group('gpu', 'ready', { version: '1.32' }), group('workers', 'ready')]));
    assert.deepEqual(second, { kind: 'upgrade-node-group', name: 'workers', version: '1.32' });
    const waiting = decideNextStep(upgrade, observe(cloudCluster('ready', { version: '1.32.1' }), [group('gpu', 'updating'), group('workers', 'ready')]));
    assert.equal(waiting.kind, 'wait', 'one node group at a time');
  });

  it('given everything on the new minor: done', () => {
    const step = decideNextStep(upgrade, observe(cloudCluster('ready', { version: '1.32.1' }), [group('gpu', 'ready', { version: '1.32.1' }), group('workers', 'ready', { version: '1.32' })]));
    assert.equal(step.kind === 'done' && step.version, '1.32.1');
  });
});

describe('deleting (work delete): node groups, then the cluster', () => {
  const deleting = managed({ kind: 'delete', requestEventId: 'del-1' }, { phase: 'Deleting' });

  it('given node groups: deletes each, then waits for them', () => {
    assert.deepEqual(decideNextStep(deleting, observe(cloudCluster('ready'), [group('gpu', 'ready'), group('workers', 'ready')])), { kind: 'delete-node-group', name: 'gpu' });
    assert.deepEqual(decideNextStep(deleting, observe(cloudCluster('ready'), [group('gpu', 'deleting'), group('workers', 'ready')])), { kind: 'delete-node-group', name: 'workers' });
    assert.equal(decideNextStep(deleting, observe(cloudCluster('ready'), [group('gpu', 'deleting'), group('workers', 'deleting')])).kind, 'wait');
  });

  it('given a node group still being created: lets it finish before deleting it', () => {
    assert.equal(decideNextStep(deleting, observe(cloudCluster('ready'), [group('gpu', 'creating')])).kind, 'wait');
  });

  it('given no node groups left: deletes the cluster, then waits, then done when it is gone', () => {
    assert.deepEqual(decideNextStep(deleting, observe(cloudCluster('ready'), [])), { kind: 'delete-cluster' });
    assert.equal(decideNextStep(deleting, observe(cloudCluster('deleting'), [])).kind, 'wait');
    assert.equal(decideNextStep(deleting, observe(null)).kind, 'done');
  });

  it('given a GKE cluster still creating and no handle held (a delete asked during its create): deletes it, its bootstrap pool first; EKS and AKS wait for their create', () => {
    const gke = { ...deleting, provider: 'gke' as const };
    assert.deepEqual(decideNextStep(gke, observe(cloudCluster('creating'), [])), { kind: 'delete-cluster' });
    assert.equal(decideNextStep({ ...gke, step: 'delete-cluster', operation: 'op-1' }, observe(cloudCluster('creating'), [], { done: false })).kind, 'wait');
    assert.equal(decideNextStep(deleting, observe(cloudCluster('creating'), [])).kind, 'wait');
    assert.equal(decideNextStep({ ...deleting, provider: 'aks' }, observe(cloudCluster('creating'), [])).kind, 'wait');
  });

  it('given an adopted cluster (no tag of ours): deletes it all the same', () => {
    const adopted = { ...deleting, adopted: true };
    assert.deepEqual(decideNextStep(adopted, observe(cloudCluster('ready', { owner: null }), [])), { kind: 'delete-cluster' });
  });

  it('given a cluster of that name that is not ours (our create was refused): done, without touching it or its node groups', () => {
    assert.equal(decideNextStep(deleting, observe(cloudCluster('ready', { owner: null }), [group('gpu', 'ready')])).kind, 'done');
    assert.equal(decideNextStep(deleting, observe(cloudCluster('ready', { owner: 'another-cluster' }), [])).kind, 'done');
  });
});

describe('step keys', () => {
  it('name each step that starts cloud work distinctly', () => {
    const keys = [
      stepKey({ kind: 'create-cluster' }),
      stepKey({ kind: 'create-node-group', group: managed(null).nodeGroups[0]! }),
      stepKey({ kind: 'scale-node-group', name: 'gpu', size: { minSize: 0, maxSize: 2, desiredSize: 2 } }),
      stepKey({ kind: 'upgrade-cluster', version: '1.32' }),
      stepKey({ kind: 'upgrade-node-group', name: 'gpu', version: '1.32' }),
      stepKey({ kind: 'delete-node-group', name: 'gpu' }),
      stepKey({ kind: 'delete-cluster' }),
    ];
    assert.equal(new Set(keys).size, keys.length);
  });
});

describe('waiting on the second operation of a call that is two (settleWaitOn)', () => {
  const policy = { pollIntervalMs: 100, operationTimeScale: 120, retryBaseMs: 100, maxRetryMs: 1_000 };
  const creating = managed({ kind: 'create' }, { provider: 'gke', step: 'create-cluster', operation: 'operation-1;then=drop-bootstrap' });
  const at = new Date(now);
  const wait = (startedNow: boolean) => Date.parse(settleWaitOn(creating, 'delete-node-group', startedNow, at, policy).next.nextAttemptAt) - at.getTime();

  it('is timed by that operation, not by the step: first when it can be done, then at a share of its time', () => {
    assert.equal(wait(true), firstLookMs('gke', 'delete-node-group', policy));
    assert.equal(wait(false), nextLookMs('gke', 'delete-node-group', policy));
    // A GKE create is looked at on the create's clock: a pool's drop is due far sooner.
    assert.ok(wait(true) < firstLookMs('gke', 'create-cluster', policy));
  });

  it('keeps the step and its operation, and clears what failed before', () => {
    const { next, events } = settleWaitOn({ ...creating, failures: 2 }, 'delete-node-group', true, at, policy);
    assert.deepEqual([next.step, next.operation, next.failures, events], ['create-cluster', 'operation-1;then=drop-bootstrap', 0, []]);
  });
});
