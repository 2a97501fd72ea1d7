import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster } from '../api/types.js';
import { overviewOf, reasonsForAction } from './overview.js';

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

describe('the overview counted from the cluster list', () => {
  it('says why a cluster needs action: failed, unreachable, tunnel down, refused, behind the policy', () => {
    assert.deepEqual(reasonsForAction(cluster('ok'), ['1.34', '1.33']), []);
    assert.deepEqual(reasonsForAction(cluster('f', { status: 'Failed', reasons: [{ code: 'machine-timeout', message: 'cp-0 never booted' }] })), ['Failed: cp-0 never booted']);
    assert.deepEqual(reasonsForAction(cluster('u', { model: 'connected', reachable: false, tunnel: 'disconnected' })), ['Unreachable', 'Tunnel disconnected']);
    const refused = cluster('r', { lastRefusal: { eventId: 'e', type: 'io.flotilla.event-rejected.v1', source: '/flotilla/provisioner', time: '2026-01-01T00:00:00Z', requestType: 'NodePoolScaleRequested', reasons: [{ code: 'pool-unknown', message: 'no pool gpu' }] } });
    assert.deepEqual(reasonsForAction(refused), ['Refused NodePoolScaleRequested: no pool gpu']);
    assert.deepEqual(reasonsForAction(cluster('old', { kubernetesVersion: 'v1.29.3' }), ['1.34', '1.33']), ['Behind the policy: 1.29 is not among the compatible versions (1.34, 1.33)']);
  });

  it('counts by model, status, provider and version, leaving deleted clusters out of what needs action', () => {
    const clusters = [
      cluster('a'),
      cluster('b', { status: 'Failed' }),
      cluster('c', { model: 'connected', distribution: 'eks', kubernetesVersion: 'v1.33.5-eks-1', nodes: [] }),
      cluster('d', { status: 'Deleted', reachable: false }),
    ];
    const overview = overviewOf(clusters, ['1.34', '1.33'], 1);
    assert.equal(overview.total, 4);
    assert.deepEqual(overview.byModel, [
      { key: 'platform-provisioned', count: 3 },
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
    assert.equal(overview.nodes.total, 2);
    assert.equal(overview.needingAction.count, 1);
    assert.deepEqual(overview.needingAction.clusters, [{ id: 'b', why: ['Failed'] }]);
  });
});
