import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectDistribution, nodeRole, type Distribution, type NodeFacts } from './distribution.js';

const node = (labels: Record<string, string>, providerID?: string): NodeFacts => ({ labels: { 'kubernetes.io/os': 'linux', ...labels }, providerID });

describe('detectDistribution', () => {
  const cases: { name: string; version: string; nodes: NodeFacts[]; expected: Distribution }[] = [
    { name: 'EKS by version', version: 'v1.31.5-eks-113cf36', nodes: [], expected: 'eks' },
    { name: 'EKS by node group label', version: 'v1.31.5', nodes: [node({ 'eks.amazonaws.com/nodegroup': 'default' }, 'aws:///eu-west-1a/i-0a1b2c3d4e5f')], expected: 'eks' },
    { name: 'GKE by version', version: 'v1.30.5-gke.1014001', nodes: [], expected: 'gke' },
    { name: 'GKE by node pool label', version: 'v1.30.5', nodes: [node({ 'cloud.google.com/gke-nodepool': 'default-pool' })], expected: 'gke' },
    { name: 'GKE by instance name', version: 'v1.30.5', nodes: [node({}, 'gce://acme-prod/europe-west1-b/gke-prod-default-pool-1a2b3c4d-xyz1')], expected: 'gke' },
    { name: 'AKS by label', version: 'v1.30.4', nodes: [node({ 'kubernetes.azure.com/cluster': 'MC_rg_prod_westeurope', 'kubernetes.azure.com/agentpool': 'system' })], expected: 'aks' },
    {
      name: 'AKS by node resource group',
      version: 'v1.30.4',
      nodes: [node({}, 'azure:///subscriptions/0000/resourceGroups/mc_rg_prod_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-system-123/virtualMachines/0')],
      expected: 'aks',
    },
    { name: 'k3s', version: 'v1.30.6+k3s1', nodes: [node({ 'node-role.kubernetes.io/control-plane': 'true' })], expected: 'k3s' },
    { name: 'k3s by instance type label', version: 'v1.30.6', nodes: [node({ 'node.kubernetes.io/instance-type': 'k3s' })], expected: 'k3s' },
    { name: 'RKE2', version: 'v1.30.6+rke2r1', nodes: [node({ 'node-role.kubernetes.io/etcd': 'true' })], expected: 'rke2' },
    { name: 'OpenShift (even on AWS machines)', version: 'v1.29.8+632b078', nodes: [node({ 'node.openshift.io/os_id': 'rhcos' }, 'aws:///us-east-1a/i-0123')], expected: 'openshift' },
    { name: 'kubeadm', version: 'v1.31.2', nodes: [node({ 'node-role.kubernetes.io/control-plane': '' }), node({})], expected: 'vanilla' },
    { name: 'kubeadm on EC2 (an aws:// id alone is not EKS)', version: 'v1.31.2', nodes: [node({}, 'aws:///eu-west-1a/i-0a1b2c3d')], expected: 'vanilla' },
    { name: 'kubeadm on Azure VMs outside AKS', version: 'v1.31.2', nodes: [node({}, 'azure:///subscriptions/0000/resourceGroups/lab/providers/Microsoft.Compute/virtualMachines/cp-0')], expected: 'vanilla' },
    { name: 'no nodes, no suffix', version: 'v1.31.2', nodes: [], expected: 'vanilla' },
  ];
  for (const { name, version, nodes, expected } of cases) {
    it(`${name}: ${expected}`, () => assert.equal(detectDistribution(version, nodes), expected));
  }
});

describe('nodeRole', () => {
  it('reads both control-plane labels', () => {
    assert.equal(nodeRole({ 'node-role.kubernetes.io/control-plane': '' }), 'control-plane');
    assert.equal(nodeRole({ 'node-role.kubernetes.io/master': '' }), 'control-plane');
    assert.equal(nodeRole({ 'node-role.kubernetes.io/worker': '' }), 'worker');
    assert.equal(nodeRole({}), 'worker');
  });
});
