import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterDetail } from '../../test/clusters.js';
import type { Machine, ProvisionerCluster } from '../api/types.js';
import { renderTree } from '../output/tree.js';
import { describeTree } from './describe-tree.js';

const machine = (name: string, role: Machine['role'], pool: string | null, phase: string, extra: Partial<Machine> = {}): Machine => ({
  name,
  role,
  pool,
  phase,
  machineSize: 'small',
  host: null,
  providerId: null,
  kubernetesVersion: 'v1.34.1',
  kubeletVersion: phase === 'Running' ? 'v1.34.1' : null,
  failureReason: null,
  conditions: [],
  ...extra,
});

describe('describeTree', () => {
  const provisioner: ProvisionerCluster = {
    id: 'prod-1',
    model: 'platform-provisioned',
    kubernetesVersion: 'v1.34.1',
    requestedVersion: '1.34',
    release: '4.3',
    phase: 'Provisioning',
    conditions: [{ type: 'WorkersReady', status: 'False', reason: 'WorkersProvisioning', message: '1 of 3', lastTransitionTime: '2026-01-10T11:58:00Z' }],
    failureReasons: [],
    requestedAt: '2026-01-10T11:50:00Z',
    machines: [
      machine('prod-1-cp-0', 'control-plane', null, 'Running'),
      machine('prod-1-workers-0', 'worker', 'workers', 'Running'),
      machine('prod-1-workers-1', 'worker', 'workers', 'Provisioning'),
      machine('prod-1-workers-2', 'worker', 'workers', 'Failed', { failureReason: { code: 'boot-timeout', message: 'did not join in 10m' } }),
    ],
  };
  const cluster = clusterDetail({
    status: 'Provisioning',
    progress: { phase: 'Provisioning', controlPlane: { ready: 1, total: 1 }, nodePools: [{ pool: 'workers', ready: 1, total: 3 }], operation: { kind: 'scale', pool: 'workers', from: 1, to: 3 }, time: '' },
  });
  const text = renderTree(describeTree({ cluster, provisioner, matrix: { revision: 'r1', platformRelease: { release: '4.3' }, document: { releases: [{ release: '4.3', creation: ['1.34'], compatible: ['1.34', '1.33'], upgradeGate: 'within-compatible-range', upgradeFrom: [] }] } } }), new Date('2026-01-10T12:00:00Z'));
  const lines = text.split('\n').map((line) => line.trimEnd());

  it('has the spec with the responsibilities of the model', () => {
    assert.match(text, /├─Spec\n│ ├─Model: platform-provisioned\n/);
    assert.match(text, /Kubernetes: v1\.34\.1 \(requested 1\.34\)/);
    assert.match(text, /│ └─Responsibilities\n│ {3}├─Machines and nodes: Platform\n│ {3}├─Node OS: Platform \(immutable OS only: MicroOS\)\n│ {3}├─Kubernetes: Platform\n│ {3}└─Automation: Full/);
  });

  it('groups machines by state under the control plane and each pool, with ready of total', () => {
    assert.ok(lines.some((line) => /^├─NodePool\/workers\s+False\s+Info\s+ScalingOrProvisioning\s+1\/3 ready$/.test(line)), text);
    assert.match(text, /│ ├─Running \(1\)\n│ │ └─Machine\/prod-1-workers-0\s+True\s+v1\.34\.1\n│ ├─Provisioning \(1\)\n│ │ └─Machine\/prod-1-workers-1\s+False\s+Info\s+Provisioning\s+v1\.34\.1\n│ └─Failed \(1\)\n│ {3}└─Machine\/prod-1-workers-2\s+False\s+Error\s+boot-timeout\s+did not join in 10m/);
  });

  it('shows conditions with reason and since, the operation, the version policy and the access', () => {
    assert.ok(lines.some((line) => /^│ └─WorkersReady\s+False\s+Warning\s+WorkersProvisioning\s+2m\s+1 of 3$/.test(line)), text);
    assert.match(text, /Operation: scaling workers 1→3/);
    assert.match(text, /Release 4\.3 \(in force\)\s+True\s+1\.34 is compatible/);
    assert.match(text, /└─Access: direct \(no tunnel\)|└─Access\s+direct \(no tunnel\)/);
    assert.match(lines[1]!, /^Cluster\/prod-1\s+False\s+Info\s+Provisioning/);
  });

  it('a connected cluster through a tunnel: nodes from its provider, the tunnel state', () => {
    const connected = renderTree(
      describeTree({
        cluster: clusterDetail({ model: 'connected', access: 'tunnel', tunnel: 'disconnected', progress: null, nodes: [] }),
        connected: { id: 'prod-1', provider: 'eks', apiServer: null, cloud: { clusterName: 'shop', region: 'eu-west-1' }, credentialRef: 'aws', state: 'Imported', kubernetesVersion: 'v1.33.1', distribution: 'eks', nodeCount: 7, importedAt: null },
      }),
    );
    assert.match(connected, /Nodes: 7 reported by the cluster/);
    assert.match(connected, /Cloud: shop, eu-west-1/);
    assert.match(renderTree(describeTree({ cluster: clusterDetail({ model: 'connected', progress: null, nodes: [] }) })), /Nodes: not reported yet/);
    assert.match(connected, /Automation: Minimal/);
    assert.match(connected, /└─Tunnel\s+False\s+Warning\s+Disconnected/);
  });

  it('a public-cloud cluster: its cloud and region, a control plane the cloud runs, node pools from the progress', () => {
    const progress = { phase: 'Provisioning', controlPlane: { ready: 0, total: 0 }, nodePools: [{ pool: 'general', ready: 1, total: 3 }], operation: null, time: '2026-12-06T12:00:00.000Z' };
    const text = renderTree(describeTree({ cluster: clusterDetail({ model: 'public-cloud', provider: 'gke', region: 'europe-west1-b', progress, nodes: [] }) }));
    assert.match(text, /Model: public-cloud/);
    assert.match(text, /Provider: gke/);
    assert.match(text, /Region: europe-west1-b/);
    assert.match(text, /ControlPlane \(run by the cloud\)/);
    assert.match(text, /NodePool\/general\s+False\s+Info\s+ScalingOrProvisioning\s+.*1\/3 ready/);
    assert.match(text, /Automation: Full/);
  });
});
