/**
 * What real clusters answer on /version and /api/v1/nodes, trimmed to the fields a reader
 * relies on: gitVersions, labels, providerIDs, capacity/allocatable and nodeInfo as EKS, GKE,
 * AKS, k3s and kubeadm write them.
 */

export interface VersionBody {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

export interface NodeBody {
  kind?: 'Node';
  apiVersion?: 'v1';
  metadata: { name: string; uid: string; creationTimestamp: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: { providerID?: string; podCIDR?: string; taints?: { key: string; effect: string }[] };
  status: {
    capacity: Record<string, string>;
    allocatable: Record<string, string>;
    conditions: { type: string; status: string; reason: string; lastHeartbeatTime: string; lastTransitionTime: string; message: string }[];
    addresses: { type: string; address: string }[];
    nodeInfo: {
      machineID: string;
      systemUUID: string;
      bootID: string;
      kernelVersion: string;
      osImage: string;
      containerRuntimeVersion: string;
      kubeletVersion: string;
      kubeProxyVersion: string;
      operatingSystem: string;
      architecture: string;
    };
  };
}

export interface ClusterFixture {
  version: VersionBody;
  nodes: NodeBody[];
}

export function versionBody(gitVersion: string, goVersion = 'go1.22.8'): VersionBody {
  const [, major = '1', minor = '0'] = /^v(\d+)\.(\d+)/.exec(gitVersion) ?? [];
  // EKS and GKE report minor with a trailing '+'.
  const managed = /-(eks|gke)/.test(gitVersion);
  return {
    major,
    minor: managed ? `${minor}+` : minor,
    gitVersion,
    gitCommit: 'f3ba2b6a1d0b7a65b09c1a3c4a9f2f1c2b7d8e90',
    gitTreeState: 'clean',
    buildDate: '2025-01-15T10:21:33Z',
    goVersion,
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

const hex = (seed: string, length: number) => Buffer.from(seed.repeat(8)).toString('hex').slice(0, length);

interface NodeSpec {
  name: string;
  labels: Record<string, string>;
  providerID?: string;
  cpu: string;
  memory: string;
  pods: string;
  allocatableCpu: string;
  allocatableMemory: string;
  kubeletVersion: string;
  osImage: string;
  kernelVersion: string;
  containerRuntime: string;
  internalIp: string;
  controlPlane?: boolean;
}

function node(spec: NodeSpec): NodeBody {
  const time = '2025-02-01T08:00:00Z';
  return {
    metadata: {
      name: spec.name,
      uid: `${hex(spec.name, 8)}-${hex(spec.name, 4)}-4${hex(spec.name, 3)}-8${hex(spec.name, 3)}-${hex(spec.name, 12)}`,
      creationTimestamp: time,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        ...spec.labels,
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: {
      ...(spec.providerID ? { providerID: spec.providerID } : {}),
      ...(spec.controlPlane ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } : {}),
    },
    status: {
      capacity: { cpu: spec.cpu, 'ephemeral-storage': '83873772Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: spec.memory, pods: spec.pods },
      allocatable: { cpu: spec.allocatableCpu, 'ephemeral-storage': '76224326324', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: spec.allocatableMemory, pods: spec.pods },
      conditions: [
        { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: time, lastTransitionTime: time, message: 'kubelet has sufficient memory available' },
        { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: time, lastTransitionTime: time, message: 'kubelet is posting ready status' },
      ],
      addresses: [
        { type: 'InternalIP', address: spec.internalIp },
        { type: 'Hostname', address: spec.name },
      ],
      nodeInfo: {
        machineID: hex(`${spec.name}m`, 32),
        systemUUID: hex(`${spec.name}s`, 32),
        bootID: hex(`${spec.name}b`, 32),
        kernelVersion: spec.kernelVersion,
        osImage: spec.osImage,
        containerRuntimeVersion: spec.containerRuntime,
        kubeletVersion: spec.kubeletVersion,
        kubeProxyVersion: spec.kubeletVersion,
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

/** EKS 1.31: managed node group of m5.xlarge (Amazon Linux 2023), control plane not visible. */
export function eksCluster(nodes = 3, gitVersion = 'v1.31.5-eks-8cce635'): ClusterFixture {
  return {
    version: versionBody(gitVersion),
    nodes: Array.from({ length: nodes }, (_, i) =>
      node({
        name: `ip-10-0-${10 + i}-${100 + i}.eu-west-1.compute.internal`,
        labels: {
          'eks.amazonaws.com/capacityType': 'ON_DEMAND',
          'eks.amazonaws.com/nodegroup': 'general-purpose',
          'eks.amazonaws.com/nodegroup-image': 'ami-0c1d2e3f4a5b6c7d8',
          'node.kubernetes.io/instance-type': 'm5.xlarge',
          'topology.kubernetes.io/region': 'eu-west-1',
          'topology.kubernetes.io/zone': `eu-west-1${'abc'[i % 3]}`,
        },
        providerID: `aws:///eu-west-1${'abc'[i % 3]}/i-0${hex(`eks${i}`, 16)}`,
        cpu: '4',
        memory: '15896988Ki',
        pods: '58',
        allocatableCpu: '3920m',
        allocatableMemory: '14880156Ki',
        kubeletVersion: 'v1.31.4-eks-aeac579',
        osImage: 'Amazon Linux 2023.6.20250115',
        kernelVersion: '6.1.124-134.200.amzn2023.x86_64',
        containerRuntime: 'containerd://1.7.25',
        internalIp: `10.0.${10 + i}.${100 + i}`,
      }),
    ),
  };
}

/** GKE 1.30 standard: default-pool of e2-standard-4 (Container-Optimized OS). */
export function gkeCluster(nodes = 3, gitVersion = 'v1.30.8-gke.1051000'): ClusterFixture {
  return {
    version: versionBody(gitVersion),
    nodes: Array.from({ length: nodes }, (_, i) =>
      node({
        name: `gke-prod-default-pool-5f8a2c1d-${'xkqz'[i % 4]}${i}ab`,
        labels: {
          'cloud.google.com/gke-boot-disk': 'pd-balanced',
          'cloud.google.com/gke-container-runtime': 'containerd',
          'cloud.google.com/gke-nodepool': 'default-pool',
          'cloud.google.com/gke-os-distribution': 'cos',
          'cloud.google.com/machine-family': 'e2',
          'node.kubernetes.io/instance-type': 'e2-standard-4',
          'topology.kubernetes.io/region': 'europe-west1',
          'topology.kubernetes.io/zone': 'europe-west1-b',
        },
        providerID: `gce://acme-prod/europe-west1-b/gke-prod-default-pool-5f8a2c1d-${'xkqz'[i % 4]}${i}ab`,
        cpu: '4',
        memory: '16393356Ki',
        pods: '110',
        allocatableCpu: '3920m',
        allocatableMemory: '13219980Ki',
        kubeletVersion: 'v1.30.8-gke.1051000',
        osImage: 'Container-Optimized OS from Google',
        kernelVersion: '6.1.112+',
        containerRuntime: 'containerd://1.7.24',
        internalIp: `10.132.0.${20 + i}`,
      }),
    ),
  };
}

/** AKS 1.30: system and user agent pools on Standard_D4s_v5 (Ubuntu 22.04); plain upstream gitVersion. */
export function aksCluster(nodes = 3, gitVersion = 'v1.30.7'): ClusterFixture {
  return {
    version: versionBody(gitVersion),
    nodes: Array.from({ length: nodes }, (_, i) => {
      const pool = i === 0 ? 'system' : 'user';
      const name = `aks-${pool}-32187946-vmss00000${i}`;
      return node({
        name,
        labels: {
          agentpool: pool,
          'kubernetes.azure.com/agentpool': pool,
          'kubernetes.azure.com/cluster': 'MC_rg-prod_aks-prod_westeurope',
          'kubernetes.azure.com/mode': pool,
          'kubernetes.azure.com/node-image-version': 'AKSUbuntu-2204gen2containerd-202501.12.0',
          'kubernetes.azure.com/os-sku': 'Ubuntu',
          'node.kubernetes.io/instance-type': 'Standard_D4s_v5',
          'topology.kubernetes.io/region': 'westeurope',
        },
        providerID: `azure:///subscriptions/6b1f0a2c-3d4e-4f5a-9b8c-7d6e5f4a3b2c/resourceGroups/mc_rg-prod_aks-prod_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-${pool}-32187946-vmss/virtualMachines/${i}`,
        cpu: '4',
        memory: '16379480Ki',
        pods: '110',
        allocatableCpu: '3860m',
        allocatableMemory: '12880472Ki',
        kubeletVersion: gitVersion,
        osImage: 'Ubuntu 22.04.5 LTS',
        kernelVersion: '5.15.0-1079-azure',
        containerRuntime: 'containerd://1.7.25-1',
        internalIp: `10.224.0.${4 + i}`,
      });
    }),
  };
}

/** k3s 1.30: one server (control-plane, etcd) and agents on small machines. */
export function k3sCluster(nodes = 2, gitVersion = 'v1.30.8+k3s1'): ClusterFixture {
  return {
    version: versionBody(gitVersion, 'go1.22.9'),
    nodes: Array.from({ length: nodes }, (_, i) =>
      node({
        name: i === 0 ? 'k3s-server-0' : `k3s-agent-${i}`,
        labels: {
          'node.kubernetes.io/instance-type': 'k3s',
          ...(i === 0 ? { 'node-role.kubernetes.io/control-plane': 'true', 'node-role.kubernetes.io/master': 'true', 'node-role.kubernetes.io/etcd': 'true' } : {}),
        },
        providerID: `k3s://${i === 0 ? 'k3s-server-0' : `k3s-agent-${i}`}`,
        cpu: '2',
        memory: '3915568Ki',
        pods: '110',
        allocatableCpu: '2',
        allocatableMemory: '3915568Ki',
        kubeletVersion: gitVersion,
        osImage: 'Ubuntu 24.04.1 LTS',
        kernelVersion: '6.8.0-51-generic',
        containerRuntime: 'containerd://1.7.23-k3s2',
        internalIp: `192.168.56.${10 + i}`,
        controlPlane: i === 0,
      }),
    ),
  };
}

/** kubeadm 1.31: three control-plane nodes and workers, no cloud provider. */
export function kubeadmCluster(workers = 3, gitVersion = 'v1.31.4'): ClusterFixture {
  const controlPlanes = Array.from({ length: 3 }, (_, i) =>
    node({
      name: `cp-${i}`,
      labels: { 'node-role.kubernetes.io/control-plane': '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' },
      cpu: '4',
      memory: '8139304Ki',
      pods: '110',
      allocatableCpu: '4',
      allocatableMemory: '8036904Ki',
      kubeletVersion: gitVersion,
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      kernelVersion: '6.1.0-28-amd64',
      containerRuntime: 'containerd://1.7.24',
      internalIp: `10.10.0.${10 + i}`,
      controlPlane: true,
    }),
  );
  const workerNodes = Array.from({ length: workers }, (_, i) =>
    node({
      name: `worker-${i}`,
      labels: {},
      cpu: '16',
      memory: '65842004Ki',
      pods: '110',
      allocatableCpu: '15800m',
      allocatableMemory: '64715604Ki',
      kubeletVersion: gitVersion,
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      kernelVersion: '6.1.0-28-amd64',
      containerRuntime: 'containerd://1.7.24',
      internalIp: `10.10.1.${10 + i}`,
    }),
  );
  return { version: versionBody(gitVersion), nodes: [...controlPlanes, ...workerNodes] };
}
