import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSupportMatrix } from '@flotilla/contracts';
import type { ObservedCloudNodeGroup } from '../clouds/lifecycle.js';
import type { ManagedCluster } from './managed-cluster.js';
import { MAX_TRANSIENT_FAILURES, settleDone, settleFailed, settleThrottled, settleTransient } from './outcome.js';
import { decideDelete, decideScale, decideUpgrade, newManagedCluster } from './requests.js';

const now = new Date('2026-12-06T12:00:00Z');
const policy = { release: '4.3', matrix: defaultSupportMatrix };

const running = (overrides: Partial<ManagedCluster> = {}): ManagedCluster => ({
  ...newManagedCluster(
    'shop-prod',
    'shop',
    {
      provider: 'eks',
      credentialRef: 'aws-main',
      place: { provider: 'eks', region: 'eu-west-1' },
      spec: {
        kubernetesVersion: '1.31',
        endpointAccess: 'public',
        networking: { provider: 'eks', subnetIds: ['a', 'b'], securityGroupIds: [], clusterRoleArn: 'r', nodeRoleArn: 'n' },
        tags: { 'flotilla-cluster-id': 'shop-prod' },
      },
      nodeGroups: [{ name: 'workers', instanceType: 'm6i.large', minSize: 2, maxSize: 4, desiredSize: 3, labels: {}, taints: [] }],
    },
    'req-1',
    { release: '4.3', policyRevision: defaultSupportMatrix.revision },
    now,
  ),
  phase: 'Running',
  work: null,
  observedVersion: '1.31.4',
  ...overrides,
});

describe('requests about a managed cluster', () => {
  it('a new request: work create, due at once, generation 1, the cloud name from the id', () => {
    const cluster = running({ phase: 'Provisioning', work: { kind: 'create' } });
    assert.equal(cluster.cloudName, 'fl-shop-prod');
    assert.equal(cluster.generation, 1);
  });

  it('scale: the desired size, bounds widened to take it, a new generation (new request tokens)', () => {
    const up = decideScale(running(), 'workers', 6, 'scale-1', now);
    assert.equal(up.kind, 'work');
    if (up.kind !== 'work') return;
    assert.deepEqual(up.cluster.nodeGroups[0], { name: 'workers', instanceType: 'm6i.large', minSize: 2, maxSize: 6, desiredSize: 6, labels: {}, taints: [] });
    assert.deepEqual(up.cluster.work, { kind: 'scale', pool: 'workers', from: 3, to: 6, requestEventId: 'scale-1' });
    assert.equal(up.cluster.generation, 2);
    const down = decideScale(running(), 'workers', 0, 'scale-2', now);
    assert.deepEqual(down.kind === 'work' && [down.cluster.nodeGroups[0]?.minSize, down.cluster.nodeGroups[0]?.maxSize], [0, 4]);
  });

  it('scale of a fixed pool (min = max) keeps it fixed at the new count: no autoscaler is turned on', () => {
    const fixed = running();
    fixed.nodeGroups = [{ ...fixed.nodeGroups[0]!, minSize: 2, maxSize: 2, desiredSize: 2 }];
    const up = decideScale(fixed, 'workers', 3, 'scale-3', now);
    assert.deepEqual(up.kind === 'work' && [up.cluster.nodeGroups[0]?.minSize, up.cluster.nodeGroups[0]?.maxSize, up.cluster.nodeGroups[0]?.desiredSize], [3, 3, 3]);
  });

  it('scale of an unknown pool, or while other work runs: refused on the bus with a code', () => {
    assert.deepEqual(decideScale(running(), 'gpu', 1, 's', now).kind === 'reject' && 'node-pool-not-found', 'node-pool-not-found');
    const busy = decideScale(running({ work: { kind: 'create' } }), 'workers', 1, 's', now);
    assert.equal(busy.kind === 'reject' && busy.code, 'operation-in-progress');
  });

  it('upgrade: one minor above what runs, allowed by the policy; the desired version moves', () => {
    const next = decideUpgrade(running(), 'plan-1', '1.32', 'up-1', policy, now);
    assert.equal(next.kind === 'work' && next.cluster.spec.kubernetesVersion, '1.32');
    assert.deepEqual(next.kind === 'work' && next.cluster.work, { kind: 'upgrade', planId: 'plan-1', fromVersion: '1.31', toVersion: '1.32', requestEventId: 'up-1', policyRevision: defaultSupportMatrix.revision });
  });

  it('upgrade skipping a minor, going back, or of a cluster not running: answered with reasons on toVersion', () => {
    const codes = (outcome: ReturnType<typeof decideUpgrade>) => (outcome.kind === 'answer' ? outcome.reasons.map((reason) => reason.code) : outcome.kind);
    assert.deepEqual(codes(decideUpgrade(running(), 'p', '1.33', 'u', policy, now)), ['upgrade-skips-minor']);
    assert.deepEqual(codes(decideUpgrade(running(), 'p', '1.31', 'u', policy, now)), ['upgrade-not-newer']);
    assert.deepEqual(codes(decideUpgrade(running({ phase: 'Failed' }), 'p', '1.32', 'u', policy, now)), ['cluster-not-running']);
    assert.deepEqual(codes(decideUpgrade(running({ observedVersion: '1.34.1', spec: { ...running().spec, kubernetesVersion: '1.34' } }), 'p', '1.35', 'u', policy, now)), ['onboard-out-of-range']);
  });

  it('delete: takes over any work, once; a deleted cluster refuses', () => {
    const deleting = decideDelete(running({ work: { kind: 'scale', pool: 'workers', from: 3, to: 4, requestEventId: 's' } }), 'del-1', now);
    assert.deepEqual(deleting.kind === 'work' && [deleting.cluster.phase, deleting.cluster.work?.kind], ['Deleting', 'delete']);
    assert.equal(decideDelete(running({ phase: 'Deleting', work: { kind: 'delete', requestEventId: 'del-1' } }), 'del-2', now).kind, 'none');
    assert.equal(decideDelete(running({ phase: 'Deleted' }), 'del-3', now).kind, 'reject');
  });
});

describe('settling a managed cluster\'s work', () => {
  const groups: ObservedCloudNodeGroup[] = [{ name: 'workers', state: 'ready', version: '1.31', instanceType: 'm6i.large', minSize: 2, maxSize: 4, desiredSize: 3, failure: null }];
  const policyTimes = { pollIntervalMs: 1_000, retryBaseMs: 2_000, maxRetryMs: 10_000 };

  it('a finished create: Running, ClusterReady with the endpoint, version, nodes and the policy it was judged under', () => {
    const settled = settleDone(running({ phase: 'Provisioning', work: { kind: 'create' } }), { kind: 'done', nodeCount: 3, version: '1.31.4', endpoint: 'https://x' }, groups, now);
    assert.equal(settled.next.phase, 'Running');
    assert.equal(settled.next.work, null);
    assert.deepEqual(settled.events.map((event) => event.type), ['ClusterProgress', 'ClusterReady']);
    assert.deepEqual(settled.events[1]?.data, { model: 'public-cloud', kubernetesVersion: '1.31.4', nodeCount: 3, apiServerEndpoint: 'https://x', release: '4.3', policyRevision: defaultSupportMatrix.revision });
  });

  it('a failed create: Failed, ClusterProvisioningFailed with the reasons; a failed upgrade: UpgradeStepFailed, still Running', () => {
    const reasons = [{ code: 'cloud-quota-exceeded', message: 'vCPU quota' }];
    const create = settleFailed(running({ phase: 'Provisioning', work: { kind: 'create' } }), reasons, null, now);
    assert.deepEqual([create.next.phase, create.events.map((event) => event.type)], ['Failed', ['ClusterProgress', 'ClusterProvisioningFailed']]);
    const upgrade = settleFailed(running({ work: { kind: 'upgrade', planId: 'p', fromVersion: '1.31', toVersion: '1.32', requestEventId: 'u' } }), reasons, groups, now);
    assert.deepEqual([upgrade.next.phase, upgrade.events.map((event) => event.type)], ['Running', ['ClusterProgress', 'UpgradeStepFailed']]);
  });

  it('a transient failure: backoff doubling, capped; given up with the last reason after MAX_TRANSIENT_FAILURES in a row', () => {
    const first = settleTransient(running({ work: { kind: 'create' } }), { code: 'cloud-unreachable', message: 'x' }, null, now, policyTimes);
    assert.equal(Date.parse(first.next.nextAttemptAt) - now.getTime(), 2_000);
    const third = settleTransient({ ...first.next, failures: 2 }, { code: 'cloud-unreachable', message: 'x' }, null, now, policyTimes);
    assert.equal(Date.parse(third.next.nextAttemptAt) - now.getTime(), 8_000);
    assert.deepEqual(third.events, []);
    const nearly = settleTransient(running({ work: { kind: 'create' }, failures: MAX_TRANSIENT_FAILURES - 2 }), { code: 'cloud-unreachable', message: 'x' }, null, now, policyTimes);
    assert.equal(nearly.next.work?.kind, 'create');
    const last = settleTransient(nearly.next, { code: 'cloud-unreachable', message: 'no route to host' }, null, now, policyTimes);
    assert.equal(last.next.work, null);
    assert.equal(last.next.phase, 'Failed');
    assert.equal(last.next.reasons[0]?.code, 'cloud-unreachable');
    assert.match(last.next.reasons[0]?.message ?? '', /no route to host/);
    assert.deepEqual(last.events.map((event) => event.type), ['ClusterProgress', 'ClusterProvisioningFailed']);
  });

  it('throttled: waits for the gate, with backoff, and is never given up for it', () => {
    const gated = settleThrottled(running({ work: { kind: 'create' } }), { code: 'cloud-throttled', message: 'x' }, new Date(now.getTime() + 30_000), now, policyTimes);
    assert.equal(Date.parse(gated.next.nextAttemptAt) - now.getTime(), 30_000);
    assert.deepEqual(gated.events, []);
    const backedOff = settleThrottled({ ...gated.next, failures: 3 }, { code: 'cloud-throttled', message: 'x' }, new Date(now.getTime() + 100), now, policyTimes);
    assert.equal(Date.parse(backedOff.next.nextAttemptAt) - now.getTime(), 10_000);
    let cluster = gated.next;
    for (let i = 0; i < 3 * MAX_TRANSIENT_FAILURES; i += 1) cluster = settleThrottled(cluster, { code: 'cloud-throttled', message: 'x' }, now, now, policyTimes).next;
    assert.equal(cluster.work?.kind, 'create');
    assert.equal(cluster.failures, MAX_TRANSIENT_FAILURES - 1);
  });
});
