import type { z } from 'zod';
import type { CreateClusterBody } from './cluster-requests.js';

type ClusterRequestExample = z.input<typeof CreateClusterBody>;

/**
 * Example requests of POST /api/v1/clusters, one per model Flotilla creates: shown in the API
 * document (checked against CreateClusterBody when the controller loads) and in the README.
 */
export const CLUSTER_REQUEST_EXAMPLES = {
  'platform-provisioned': {
    summary: 'The platform provisions the machines and their immutable OS',
    value: {
      id: 'prod-eu-1',
      name: 'prod-eu-1',
      model: 'platform-provisioned',
      kubernetesVersion: '1.34',
      labels: { team: 'payments', env: 'prod' },
      controlPlane: { count: 3, machineSize: 'cp-large' },
      nodePools: [{ name: 'workers', count: 5, machineSize: 'm-xlarge' }],
      nodeOs: 'microos',
      infrastructure: { provider: 'simulated' },
    },
  },
  'user-provisioned': {
    summary: "Users bring the machines (over SSH, with a registered key); kube-vip holds the control plane's address",
    value: {
      id: 'store-042',
      name: 'store-042',
      model: 'user-provisioned',
      kubernetesVersion: '1.34',
      labels: { team: 'retail' },
      controlPlane: { count: 1, machineSize: 'host', vip: '192.168.10.50' },
      nodePools: [{ name: 'workers', count: 2, machineSize: 'host' }],
      hosts: [
        { address: '192.168.10.11', user: 'flotilla', sshKeyRef: 'sshkey-rack-7', role: 'control-plane' },
        { address: '192.168.10.21', user: 'flotilla', sshKeyRef: 'sshkey-rack-7', role: 'worker', pool: 'workers' },
        { address: '192.168.10.22', user: 'flotilla', sshKeyRef: 'sshkey-rack-7', role: 'worker', pool: 'workers' },
      ],
    },
  },
  'hosted-control-plane': {
    summary: 'The control plane runs in a management cluster; the platform provisions the workers',
    value: {
      id: 'dev-team-a',
      name: 'dev-team-a',
      model: 'hosted-control-plane',
      kubernetesVersion: '1.34',
      labels: { team: 'a' },
      controlPlane: { count: 3, machineSize: 'hosted' },
      nodePools: [{ name: 'workers', count: 3, machineSize: 'm-large' }],
      hosted: { workerModel: 'platform-provisioned' },
      infrastructure: { provider: 'simulated' },
    },
  },
  'public-cloud': {
    summary: 'Created at a public cloud (here EKS) by the importer, with a cloud account it holds; no control plane to size',
    value: {
      id: 'shop-eks-1',
      name: 'shop-eks-1',
      model: 'public-cloud',
      kubernetesVersion: '1.33',
      labels: { team: 'shop' },
      nodePools: [{ name: 'general', count: 3, minCount: 2, maxCount: 6, machineSize: 'm5.large' }],
      cloud: {
        provider: 'eks',
        credentialRef: 'aws-shop',
        region: 'eu-west-1',
        networking: {
          subnetIds: ['subnet-0a1b2c3d', 'subnet-4e5f6a7b'],
          clusterRoleArn: 'arn:aws:iam::123456789012:role/flotilla-eks-cluster',
          nodeRoleArn: 'arn:aws:iam::123456789012:role/flotilla-eks-nodes',
        },
        tags: { 'cost-centre': 'shop' },
      },
    },
  },
} satisfies Record<string, { summary: string; value: ClusterRequestExample }>;
