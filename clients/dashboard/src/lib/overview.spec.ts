import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '../api/types.js';
import { attentionOf, describeAttention, fromOverviewAnswer, overviewOf } from './overview.js';

function cluster(id: string, fields: Partial<Cluster> = {}): Cluster {
  return {
    id,
    name: id,
    model: 'platform-provisioned',
    labels: {},
    status: 'Running',
    kubernetesVersion: '1.34',
    distribution: null,
    nodes: [{ name: `${id}-cp-0`, role: 'control-plane' }],
    reasons: [],
    warnings: [],
    reachable: true,
    tunnel: null,
    access: 'direct',
    lastEventTime: '2026-01-01T00:00:00Z',
    pendingRequests: [],
    lastRefusal: null,
    progress: null,
    ...fields,
  };
}

describe('the overview', () => {
  it('says why a cluster needs action as the inventory does: failed, unreachable, refused since its last news, tunnel down', () => {
    assert.deepEqual(attentionOf(cluster('ok')), []);
    assert.deepEqual(attentionOf(cluster('f', { status: 'Failed' })), ['failed']);
    assert.deepEqual(attentionOf(cluster('u', { model: 'connected', reachable: false, tunnel: 'disconnected' })), ['unreachable', 'tunnel-disconnected']);
    const refusal = { eventId: 'e', type: 'io.flotilla.event-rejected.v1', source: '/flotilla/provisioner', time: '2026-01-01T00:00:00Z', requestType: 'NodePoolScaleRequested', reasons: [{ code: 'pool-unknown', message: 'no pool gpu' }] };
    assert.deepEqual(attentionOf(cluster('r', { lastRefusal: refusal })), ['refused']);
    assert.deepEqual(attentionOf(cluster('later', { lastRefusal: refusal, lastEventTime: '2026-01-02T00:00:00Z' })), [], 'news after the refusal answers it');
    assert.deepEqual(attentionOf(cluster('gone', { status: 'Deleted', reachable: false })), []);
    assert.deepEqual(describeAttention(['failed', 'unreachable'], 'cp-0 never booted'), ['Failed: cp-0 never booted', 'Unreachable']);
  });

  it('counts the list by model, status, provider and version, deleted clusters only by status', () => {
    const clusters = [
      cluster('a'),
      cluster('b', { status: 'Failed', reasons: [{ code: 'machine-timeout', message: 'cp-0 never booted' }] }),
      cluster('c', { model: 'connected', distribution: 'eks', kubernetesVersion: 'v1.33.5-eks-1', nodes: [] }),
      cluster('d', { status: 'Deleted', reachable: false }),
    ];
    const overview = overviewOf(clusters, 1);
    assert.equal(overview.total, 3);
    assert.deepEqual(overview.byModel, [
      { key: 'platform-provisioned', count: 2 },
      { key: 'connected', count: 1 },
    ]);
    assert.deepEqual(overview.byStatus, [
      { key: 'Running', count: 2 },
      { key: 'Deleted', count: 1 },
      { key: 'Failed', count: 1 },
    ]);
    assert.deepEqual(overview.byVersion, [
      { key: '1.34', count: 2 },
      { key: '1.33', count: 1 },
    ]);
    assert.deepEqual(overview.byProvider, [
      { key: 'unknown', count: 2 },
      { key: 'eks', count: 1 },
    ]);
    assert.deepEqual(overview.nodes, { total: 2, ready: 1 });
    assert.deepEqual(overview.needingAction, { count: 1, clusters: [{ id: 'b', why: ['Failed: cp-0 never booted'] }] });
  });

  it("reads the inventory's answer, leaving out what counts nothing", () => {
    const overview = fromOverviewAnswer({
      clusters: 5,
      byModel: { 'platform-provisioned': 4, connected: 1, 'user-provisioned': 0 },
      byStatus: { Running: 4, Failed: 1, Deleted: 2, Pending: 0 },
      byProvider: { simulated: 4, eks: 1 },
      byKubernetesVersion: { '1.34': 3, '1.33': 2 },
      nodes: { total: 20, ready: 18 },
      needsAction: { total: 2, clusters: [{ id: 'x', reasons: ['refused'], message: 'quota exceeded' }] },
    });
    assert.equal(overview.total, 5);
    assert.deepEqual(overview.byModel, [
      { key: 'platform-provisioned', count: 4 },
      { key: 'connected', count: 1 },
    ]);
    assert.deepEqual(overview.byStatus.map((entry) => entry.key), ['Running', 'Deleted', 'Failed']);
    assert.deepEqual(overview.needingAction, { count: 2, clusters: [{ id: 'x', why: ['Refused: quota exceeded'] }] });
  });
});
