import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foldOverview, minorOf, type CountGroup } from './fleet-overview.js';

const group = (fields: Partial<CountGroup>): CountGroup => ({
  model: 'platform-provisioned',
  status: 'Running',
  provider: 'aws',
  kubernetesVersion: '1.34.2',
  access: 'direct',
  tunnel: null,
  attention: [],
  clusters: 1,
  nodes: 3,
  readyNodes: 3,
  ...fields,
});

describe('the fleet overview folded from count groups', () => {
  it('adds groups up by each dimension, versions by minor, unknown values under "unknown"', () => {
    const overview = foldOverview(
      [
        group({ clusters: 5, nodes: 15, readyNodes: 14 }),
        group({ kubernetesVersion: 'v1.34.7+k3s1', model: 'connected', provider: 'cncf', access: 'tunnel', tunnel: 'connected', clusters: 2, nodes: 0, readyNodes: 0 }),
        group({ kubernetesVersion: null, status: 'Pending', provider: null, access: null, clusters: 1, nodes: 0, readyNodes: 0 }),
        group({ model: null, status: 'Importing', access: 'tunnel', tunnel: null, provider: null, kubernetesVersion: null, clusters: 1, nodes: 0, readyNodes: 0 }),
      ],
      [],
    );
    assert.equal(overview.clusters, 9);
    assert.deepEqual(overview.byModel, { 'platform-provisioned': 6, 'user-provisioned': 0, 'hosted-control-plane': 0, connected: 2, 'public-cloud': 0, unknown: 1 });
    assert.deepEqual(overview.byStatus, { Pending: 1, Provisioning: 0, Running: 7, Failed: 0, Importing: 1, Rejected: 0, Deleted: 0 });
    assert.deepEqual(overview.byProvider, { aws: 5, cncf: 2, unknown: 2 });
    assert.deepEqual(overview.byKubernetesVersion, { '1.34': 7, unknown: 2 });
    assert.deepEqual(overview.byAccess, { direct: 5, tunnel: 3, unknown: 1 });
    assert.deepEqual(overview.byTunnel, { connected: 2, disconnected: 0, 'never-connected': 1 });
    assert.deepEqual(overview.nodes, { total: 15, ready: 14 });
  });

  it('counts deleted clusters in byStatus only, and a cluster needing action once whatever its reasons', () => {
    const overview = foldOverview(
      [
        group({ status: 'Deleted', clusters: 4, nodes: 0, readyNodes: 0 }),
        group({ status: 'Failed', attention: ['failed', 'refused'], clusters: 2, readyNodes: 0 }),
        group({ model: 'connected', access: 'tunnel', tunnel: 'disconnected', attention: ['unreachable', 'tunnel-disconnected'], clusters: 1 }),
        group({ clusters: 0, nodes: 0, readyNodes: 0, attention: ['failed'] }),
      ],
      [{ id: 'a', name: 'a', status: 'Failed', reasons: ['failed', 'refused'], message: 'no machines' }],
    );
    assert.equal(overview.clusters, 3);
    assert.equal(overview.byStatus.Deleted, 4);
    assert.equal(overview.byModel['platform-provisioned'], 2);
    assert.deepEqual(overview.needsAction.byReason, { failed: 2, unreachable: 1, refused: 2, 'tunnel-disconnected': 1 });
    assert.equal(overview.needsAction.total, 3);
    assert.deepEqual(overview.needsAction.clusters, [{ id: 'a', name: 'a', status: 'Failed', reasons: ['failed', 'refused'], message: 'no machines' }]);
    assert.deepEqual(overview.nodes, { total: 6, ready: 3 });
  });

  it('names the minor of a version', () => {
    assert.equal(minorOf('v1.33.4+k3s1'), '1.33');
    assert.equal(minorOf('1.34'), '1.34');
    assert.equal(minorOf('latest'), undefined);
  });
});
