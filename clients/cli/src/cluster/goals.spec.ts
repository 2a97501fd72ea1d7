import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterDetail } from '../../test/clusters.js';
import { progressLine, untilDeleted, untilRunning, untilScaled, untilUpgraded, versionMatches } from './goals.js';

const refusal = (requestEventId: string) => ({
  eventId: 'r1',
  type: 'io.flotilla.event.rejected.v1',
  source: '/flotilla/provisioner',
  time: '2026-01-10T11:00:00Z',
  requestEventId,
  requestType: null,
  reasons: [{ code: 'pool-unknown', message: 'no pool gpu', field: 'pool' }],
});

describe('wait goals', () => {
  it('a new cluster: waiting while Pending or unknown, done when Running, failed with the reasons when Failed', () => {
    const goal = untilRunning('prod-1');
    assert.equal(goal.judge(undefined).state, 'waiting');
    assert.equal(goal.judge(clusterDetail({ status: 'Provisioning' })).state, 'waiting');
    assert.deepEqual(goal.judge(clusterDetail()), { state: 'done', message: 'cluster prod-1 is Running (v1.34.1, 2 nodes)' });
    assert.deepEqual(goal.judge(clusterDetail({ status: 'Failed', reasons: [{ code: 'quota', message: 'out of machines' }] })), {
      state: 'failed',
      message: 'cluster prod-1 is Failed: out of machines [quota]',
    });
  });

  it('a scale: done once the pool has its ready machines and the request is answered; its refusal fails it, another request\'s does not', () => {
    const goal = untilScaled('prod-1', 'workers', 2, 'e1');
    const pending = clusterDetail({ pendingRequests: [{ eventId: 'e1', type: 'NodePoolScaleRequested', time: '', summary: '' }] });
    assert.equal(goal.judge(pending).state, 'waiting');
    const grown = clusterDetail({
      nodes: [...clusterDetail().nodes, { name: 'prod-1-workers-1', role: 'worker', pool: 'workers' }],
      progress: { phase: 'Running', controlPlane: { ready: 1, total: 1 }, nodePools: [{ pool: 'workers', ready: 2, total: 2 }], operation: null, time: '' },
    });
    assert.equal(goal.judge(grown).state, 'done');
    assert.equal(goal.judge({ ...grown, progress: { ...grown.progress!, operation: { kind: 'scale', pool: 'workers', from: 1, to: 2 } } }).state, 'waiting');
    assert.deepEqual(goal.judge(clusterDetail({ lastRefusal: refusal('e1') })), { state: 'failed', message: 'event.rejected: pool: no pool gpu [pool-unknown]' });
    assert.equal(goal.judge(clusterDetail({ lastRefusal: refusal('older') })).state, 'waiting');
  });

  it('an upgrade: done on the target minor once answered', () => {
    const goal = untilUpgraded('prod-1', '1.35', 'e2');
    assert.equal(goal.judge(clusterDetail()).state, 'waiting');
    assert.equal(goal.judge(clusterDetail({ kubernetesVersion: 'v1.35.0' })).state, 'done');
    assert.equal(goal.judge(clusterDetail({ kubernetesVersion: 'v1.35.0', pendingRequests: [{ eventId: 'e2', type: 'UpgradeStepApproved', time: '', summary: '' }] })).state, 'waiting');
  });

  it('a deletion: done when Deleted or gone, failed when refused', () => {
    const goal = untilDeleted('prod-1', 'e3');
    assert.equal(goal.judge(clusterDetail()).state, 'waiting');
    assert.equal(goal.judge(clusterDetail({ status: 'Deleted' })).state, 'done');
    assert.equal(goal.judge(undefined).state, 'done');
    assert.equal(goal.judge(clusterDetail({ lastRefusal: refusal('e3') })).state, 'failed');
  });

  it('versions match by minor or exactly', () => {
    assert.ok(versionMatches('v1.35.2', '1.35'));
    assert.ok(versionMatches('v1.35.2-eks-1', '1.35.2'));
    assert.ok(!versionMatches('v1.35.2', '1.35.1'));
    assert.ok(!versionMatches('v1.3.0', '1.35'));
    assert.ok(!versionMatches(null, '1.35'));
  });
});

describe('progressLine', () => {
  it('status, phase, operation, machines ready of total, and what is pending', () => {
    const cluster = clusterDetail({
      status: 'Provisioning',
      progress: { phase: 'Provisioned', controlPlane: { ready: 1, total: 3 }, nodePools: [{ pool: 'workers', ready: 2, total: 2 }], operation: { kind: 'scale', pool: 'workers', from: 1, to: 2 }, time: '' },
      pendingRequests: [{ eventId: 'e', type: 'NodePoolScaleRequested', time: '', summary: '' }],
    });
    assert.equal(progressLine(cluster), 'Provisioning, phase Provisioned, scaling workers 1→2, control plane 1/3, workers 2/2, waiting for NodePoolScaleRequested');
    assert.equal(progressLine(clusterDetail({ progress: null })), 'Running, 2 nodes');
  });
});
