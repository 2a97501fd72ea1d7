import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterSpec } from '@flotilla/contracts';
import { REASON_CODES, describeReasonCode, type ReasonCode } from './reasons.js';
import { validateClusterRequest } from './spec-validation.js';

const platform: ClusterSpec = {
  name: 'edge',
  model: 'platform-provisioned',
  kubernetesVersion: '1.34',
  controlPlane: { count: 1, machineSize: 'cp' },
  nodePools: [{ name: 'general', count: 2, machineSize: 'm', labels: {}, taints: [] }],
  network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
};

const host = (address: string, role: 'control-plane' | 'worker', pool?: string) => ({ address, port: 22, user: 'core', sshKeyRef: 'key-1', role, ...(pool ? { pool } : {}) });

const userProvisioned: ClusterSpec = {
  ...platform,
  model: 'user-provisioned',
  controlPlane: { count: 1, machineSize: 'cp', vip: '192.168.1.100' },
  nodePools: [{ name: 'general', count: 1, machineSize: 'm', labels: {}, taints: [] }],
  hosts: [host('192.168.1.10', 'control-plane'), host('192.168.1.11', 'worker', 'general'), host('192.168.1.12', 'worker')],
};

const hosted: ClusterSpec = { ...platform, model: 'hosted-control-plane', hosted: { workerModel: 'platform-provisioned' } };

function check(spec: ClusterSpec, clusterId = 'edge-1', release = '4.3') {
  return validateClusterRequest({ clusterId, spec, release, providers: ['simulated'] });
}

function codes(spec: ClusterSpec, clusterId?: string): [string, string | undefined][] {
  return check(spec, clusterId).map((reason) => [reason.code, reason.field]);
}

describe('cluster request validation', () => {
  it('accepts a valid request of every model', () => {
    assert.deepEqual(check(platform), []);
    assert.deepEqual(check({ ...platform, nodeOs: 'microos', infrastructure: { provider: 'simulated', parameters: { region: 'eu-1' } } }), []);
    assert.deepEqual(check(userProvisioned), []);
    assert.deepEqual(check({ ...userProvisioned, spareHosts: [host('192.168.1.20', 'worker', 'general'), host('192.168.1.21', 'control-plane')], hostRemediation: { reboot: true } }), []);
    assert.deepEqual(check(hosted), []);
    assert.deepEqual(check({ ...hosted, nodePools: [], hosted: { workerModel: 'user-provisioned' }, hosts: [host('192.168.1.12', 'worker')] }), []);
    assert.deepEqual(check({ ...platform, network: { podCidr: 'fd00:10::/56', serviceCidr: 'fd00:20::/108' } }), []);
  });

  it('lists every reason of a request that is wrong in many ways at once', () => {
    const reasons = check(
      {
        ...platform,
        kubernetesVersion: '1.30',
        nodeOs: 'ubuntu' as ClusterSpec['nodeOs'],
        nodePools: [
          { name: 'general', count: 2, machineSize: 'm', labels: {}, taints: [] },
          { name: 'general', count: 1, machineSize: 'm', labels: {}, taints: [] },
        ],
        network: { podCidr: '10.96.0.0/16', serviceCidr: '10.96.0.0/12' },
        hosts: [host('192.168.1.10', 'worker')],
        hosted: { workerModel: 'platform-provisioned' },
      },
      'Edge_1',
    );
    assert.deepEqual(
      reasons.map((reason) => [reason.code, reason.field]),
      [
        ['cluster-id-invalid', 'subject'],
        ['creation-unsupported', 'kubernetesVersion'],
        ['hosted-not-allowed', 'hosted'],
        ['hosts-not-allowed', 'hosts'],
        ['node-os-unsupported', 'nodeOs'],
        ['node-pool-duplicate', 'nodePools.1.name'],
        ['cidr-overlap', 'network'],
      ],
    );
    assert.match(reasons[1]!.message, /4\.3 creates clusters only on Kubernetes 1\.34; 1\.30 is not offered/);
    for (const reason of reasons) assert.ok(reason.message.length > 10, `${reason.code} has a message people can act on`);
  });

  // One request per refusal code: each must name its code and the field to fix.
  const cases: [ReasonCode, ClusterSpec, string | undefined, { clusterId?: string; release?: string }?][] = [
    ['cluster-id-invalid', platform, 'subject', { clusterId: '-bad-' }],
    ['release-unknown', platform, undefined, { release: '9.9' }],
    ['version-invalid', { ...platform, kubernetesVersion: '1.x' }, 'kubernetesVersion'],
    ['version-prerelease', { ...platform, kubernetesVersion: 'v1.34.0-rc.1' }, 'kubernetesVersion'],
    ['creation-unsupported', { ...platform, kubernetesVersion: '1.33' }, 'kubernetesVersion'],
    ['cidr-invalid', { ...platform, network: { podCidr: '10.244.0.0', serviceCidr: '10.96.0.0/12' } }, 'network.podCidr'],
    ['cidr-host-bits-set', { ...platform, network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.1/12' } }, 'network.serviceCidr'],
    ['cidr-family-mismatch', { ...platform, network: { podCidr: 'fd00::/56', serviceCidr: '10.96.0.0/12' } }, 'network'],
    ['cidr-overlap', { ...platform, network: { podCidr: '10.0.0.0/8', serviceCidr: '10.96.0.0/12' } }, 'network'],
    ['service-cidr-too-large', { ...platform, network: { podCidr: '10.244.0.0/16', serviceCidr: '172.0.0.0/8' } }, 'network.serviceCidr'],
    ['pod-cidr-too-small', { ...platform, network: { podCidr: '10.244.0.0/23', serviceCidr: '10.96.0.0/12' } }, 'network.podCidr'],
    ['node-pool-duplicate', { ...platform, nodePools: [...platform.nodePools, ...platform.nodePools] }, 'nodePools.1.name'],
    ['machine-name-conflict', { ...platform, nodePools: [{ name: 'cp', count: 1, machineSize: 'm', labels: {}, taints: [] }] }, 'nodePools.0.name'],
    ['machine-name-too-long', { ...platform, nodePools: [{ name: 'p'.repeat(250), count: 1, machineSize: 'm', labels: {}, taints: [] }] }, 'nodePools.0.name'],
    ['workers-required', { ...hosted, nodePools: [] }, 'nodePools'],
    // The schema allows only the three families; a spec that bypassed it is still refused.
    ['node-os-unsupported', { ...platform, nodeOs: 'ubuntu' as ClusterSpec['nodeOs'] }, 'nodeOs'],
    ['node-os-not-allowed', { ...userProvisioned, nodeOs: 'microos' }, 'nodeOs'],
    ['infrastructure-provider-unavailable', { ...platform, infrastructure: { provider: 'aws', parameters: {} } }, 'infrastructure.provider'],
    ['infrastructure-not-allowed', { ...userProvisioned, infrastructure: { provider: 'simulated', parameters: {} } }, 'infrastructure'],
    ['hosts-required', { ...userProvisioned, hosts: [] }, 'hosts'],
    ['hosts-not-allowed', { ...platform, hosts: [host('192.168.1.10', 'worker')] }, 'hosts'],
    ['host-duplicate', { ...userProvisioned, hosts: [...userProvisioned.hosts!, host('192.168.1.12', 'worker')] }, 'hosts.3.address'],
    ['host-in-cluster-network', { ...userProvisioned, hosts: [host('10.96.0.10', 'control-plane'), ...userProvisioned.hosts!.slice(1)] }, 'hosts.0.address'],
    ['host-role-not-allowed', { ...hosted, nodePools: [], hosted: { workerModel: 'user-provisioned' }, hosts: [host('192.168.1.10', 'control-plane'), host('192.168.1.11', 'worker')] }, 'hosts.0.role'],
    ['host-pool-unknown', { ...userProvisioned, hosts: [...userProvisioned.hosts!, host('192.168.1.13', 'worker', 'gpu')] }, 'hosts.3.pool'],
    ['control-plane-hosts-mismatch', { ...userProvisioned, controlPlane: { count: 3, machineSize: 'cp', vip: '192.168.1.100' } }, 'hosts'],
    ['node-pool-hosts-mismatch', { ...userProvisioned, nodePools: [{ name: 'general', count: 4, machineSize: 'm', labels: {}, taints: [] }] }, 'nodePools.0.count'],
    ['control-plane-vip-required', { ...userProvisioned, controlPlane: { count: 1, machineSize: 'cp' } }, 'controlPlane.vip'],
    ['control-plane-vip-not-allowed', { ...platform, controlPlane: { count: 1, machineSize: 'cp', vip: '192.168.1.100' } }, 'controlPlane.vip'],
    ['control-plane-vip-invalid', { ...userProvisioned, controlPlane: { count: 1, machineSize: 'cp', vip: 'api.example.com' } }, 'controlPlane.vip'],
    ['control-plane-vip-in-use', { ...userProvisioned, controlPlane: { count: 1, machineSize: 'cp', vip: '192.168.1.10' } }, 'controlPlane.vip'],
    ['control-plane-vip-in-cluster-network', { ...userProvisioned, controlPlane: { count: 1, machineSize: 'cp', vip: '10.244.3.1' } }, 'controlPlane.vip'],
    // spare hosts: only on users' hosts, never a host twice, only for pools the cluster has
    ['hosts-not-allowed', { ...platform, spareHosts: [host('192.168.1.20', 'worker')] }, 'spareHosts'],
    ['hosts-not-allowed', { ...platform, hostRemediation: { reboot: true } }, 'hostRemediation'],
    ['host-duplicate', { ...userProvisioned, spareHosts: [host('192.168.1.11', 'worker', 'general')] }, 'spareHosts.0.address'],
    ['host-pool-unknown', { ...userProvisioned, spareHosts: [host('192.168.1.20', 'worker', 'gpu')] }, 'spareHosts.0.pool'],
    ['hosted-required', { ...hosted, hosted: undefined }, 'hosted'],
    ['hosted-not-allowed', { ...platform, hosted: { workerModel: 'platform-provisioned' } }, 'hosted'],
    // The schema requires controlPlane for these models and the handler leaves public-cloud
    // requests to the importer; a spec that bypassed either is still refused, naming the field.
    ['control-plane-required', { ...platform, controlPlane: undefined }, 'controlPlane'],
    ['control-plane-required', { ...userProvisioned, controlPlane: undefined }, 'controlPlane'],
    ['control-plane-required', { ...hosted, controlPlane: undefined }, 'controlPlane'],
    ['model-not-provisioned', { ...platform, model: 'public-cloud', controlPlane: undefined }, 'model'],
  ];

  for (const [code, spec, field, options] of cases) {
    it(`refuses with ${code}: ${describeReasonCode(code)}`, () => {
      const reasons = validateClusterRequest({ clusterId: options?.clusterId ?? 'edge-1', spec, release: options?.release ?? '4.3', providers: ['simulated'] });
      assert.deepEqual(
        reasons.map((reason) => [reason.code, reason.field]),
        [[code, field]],
        `only ${code} expected, got ${JSON.stringify(reasons)}`,
      );
    });
  }

  it('has a case above for every refusal code (machine failures come later, from the reconciler)', () => {
    const covered = new Set(cases.map(([code]) => code));
    const provisioning: ReasonCode[] = [
      'machine-failed',
      'machine-timeout',
      'provider-error',
      // placement and upgrade steps: decided elsewhere (cluster.spec.ts)
      'no-management-cluster',
      'management-capacity-exhausted',
      // a host another cluster holds: decided when a request is taken up (test/hosts/ownership.int.spec.ts)
      'host-in-another-cluster',
      // the hosted control plane in its management cluster (hosted.spec.ts)
      'control-plane-refused',
      'control-plane-timeout',
      'management-cluster-unavailable',
      'cluster-not-running',
      'cluster-busy',
      'upgrade-unsupported',
      'major-version-mismatch',
      'control-plane-skips-minor',
      'control-plane-downgrade',
      'incompatible',
      'kubelet-too-old',
      'kubelet-newer-than-api-server',
    ];
    assert.deepEqual(REASON_CODES.filter((code) => !covered.has(code) && !provisioning.includes(code)), []);
  });

  it('platform machines run MicroOS, Flatcar or Fedora CoreOS', () => {
    for (const nodeOs of ['microos', 'flatcar', 'fedora-coreos'] as const) assert.deepEqual(codes({ ...platform, nodeOs }), []);
    assert.deepEqual(codes({ ...platform, nodeOs: undefined }), [], 'none named: MicroOS');
  });

  it('a user-provisioned request with no hosts at all names only what is missing', () => {
    assert.deepEqual(codes({ ...userProvisioned, hosts: undefined, nodePools: [] }), [['hosts-required', 'hosts']]);
  });
});
