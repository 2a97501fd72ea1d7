import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterDetail } from '../../test/clusters.js';
import { renderTable } from '../output/table.js';
import { clusterColumns, matchesFilter, parseLabelSelector } from './cluster-table.js';

describe('get clusters', () => {
  const now = new Date('2026-01-10T12:00:00.000Z');

  it('prints NAME MODEL STATUS VERSION NODES ACCESS AGE; a cluster on its way shows machines ready of total; a tunnel shows its state', () => {
    const clusters = [
      clusterDetail({ createdAt: '2026-01-10T09:00:00.000Z' }),
      clusterDetail({
        id: 'edge-2',
        status: 'Provisioning',
        progress: { phase: 'Provisioning', controlPlane: { ready: 1, total: 3 }, nodePools: [{ pool: 'w', ready: 0, total: 2 }], operation: null, time: '' },
      }),
      clusterDetail({ id: 'shop', model: 'connected', access: 'tunnel', tunnel: 'disconnected', kubernetesVersion: null, progress: null, nodes: [] }),
    ];
    assert.equal(
      renderTable(clusterColumns(now, false), clusters),
      [
        'NAME     MODEL                  STATUS         VERSION   NODES    ACCESS                  AGE',
        'prod-1   platform-provisioned   Running        v1.34.1   2        direct                  3h',
        'edge-2   platform-provisioned   Provisioning   v1.34.1   1/5      direct                  60m',
        'shop     connected              Running        <none>    <none>   tunnel (disconnected)   60m',
        '',
      ].join('\n'),
    );
    assert.match(renderTable(clusterColumns(now, true), clusters).split('\n')[0]!, /AGE {3}DISPLAY NAME {3}PROVIDER {3}LABELS {3}PENDING {3}LAST CHANGE$/);
  });

  it('filters by model, status, version minor, provider and every label', () => {
    const cluster = clusterDetail({ provider: 'openstack' });
    assert.ok(matchesFilter(cluster, { model: 'platform-provisioned', status: 'running', version: '1.34', provider: 'OpenStack', labels: { team: 'a' } }));
    assert.ok(!matchesFilter(cluster, { version: '1.33' }));
    assert.ok(!matchesFilter(cluster, { labels: { team: 'a', env: 'prod' } }));
    assert.ok(!matchesFilter(cluster, { provider: 'eks' }));
    assert.ok(matchesFilter(clusterDetail({ distribution: 'eks' }), { provider: 'eks' }), 'connected clusters without a provider field: their distribution');
  });

  it('reads -l key=value, repeated or comma-separated, and names a malformed one', () => {
    assert.deepEqual(parseLabelSelector(['team=a,env=prod', 'tier=1']), { team: 'a', env: 'prod', tier: '1' });
    assert.throws(() => parseLabelSelector(['team']), /-l\/--selector: "team" is not key=value/);
  });
});
