import { z } from 'zod';
import { defineEvent, EXTERNAL } from '../event-definition.js';
import { PublicCloudProvider, PublicCloudSpec, modelProblems } from './cloud.js';
import { atMost, ClusterLabels, ClusterModel, kubernetesLabels, KubernetesVersion, LABEL_LIMITS, labelKeyProblem, labelValueProblem, Node, Reason } from './common.js';

/**
 * Upper bounds of what one request may ask for, so that no event plans an unbounded amount of
 * work: an over-bound request is refused, naming the field, by the HTTP API and on the bus.
 * Machine counts follow what Kubernetes and the large providers support; label and taint keys
 * and values follow Kubernetes (`LABEL_LIMITS`). Like those, they are checked by validation and
 * stated in the descriptions of the JSON Schema, not written into it as keywords.
 */
export const CLUSTER_LIMITS = {
  /** Node pools of a cluster (AKS allows 100). */
  nodePools: 100,
  /** Machines of one node pool (AKS and GKE: 1,000 nodes per pool). */
  machinesPerPool: 1000,
  /** Worker machines of a cluster, every node pool together: Kubernetes is tested up to 5,000 nodes per cluster. */
  workers: 5000,
  /** Hosts one request lists; a cluster on users' machines grows beyond it by scaling its pools. */
  hostsPerRequest: 1000,
  /** Labels of one node pool. */
  labelsPerPool: 64,
  /** Taints of one node pool. */
  taintsPerPool: 64,
} as const;

/** A DNS label, as node pool names are (they become part of machine and node names). */
const DNS_LABEL_LENGTH = 63;

/** A list of at most `limit` items. */
function boundedArray<T extends z.ZodType>(item: T, limit: number, what: string) {
  return z.array(item).superRefine((items, context) => {
    if (items.length > limit) context.addIssue({ code: 'custom', message: atMost(limit, what, items.length) });
  });
}

/** The problem `problem` finds in a string, as an issue of its own. */
function checked(problem: (value: string) => string | undefined) {
  return (value: string, context: z.RefinementCtx) => {
    const found = problem(value);
    if (found !== undefined) context.addIssue({ code: 'custom', message: found });
  };
}

const MachineSize = z.string().min(1).max(63).describe('Machine size (flavour) name of the infrastructure provider');

const PoolName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label')
  .superRefine(checked((name) => (name.length > DNS_LABEL_LENGTH ? `must be at most ${DNS_LABEL_LENGTH} characters (a DNS label), is ${name.length}` : undefined)));

const Taint = z.object({
  key: z
    .string()
    .min(1)
    .superRefine(checked((key) => (key.length === 0 ? undefined : labelKeyProblem(key))))
    .describe('A label key as Kubernetes takes it: [prefix/]name'),
  value: z.string().superRefine(checked(labelValueProblem)).optional().describe(`At most ${LABEL_LIMITS.value} characters, as a label value`),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});

export const NodePoolSpec = z.object({
  name: PoolName.describe(`Node pool name: a DNS label (at most ${DNS_LABEL_LENGTH} characters), unique in the cluster`),
  count: z.number().int().min(0).max(CLUSTER_LIMITS.machinesPerPool, `must be at most ${CLUSTER_LIMITS.machinesPerPool}`),
  machineSize: MachineSize,
  labels: kubernetesLabels(CLUSTER_LIMITS.labelsPerPool)
    .default({})
    .describe(
      `Labels of the pool's nodes, at most ${CLUSTER_LIMITS.labelsPerPool}, as Kubernetes takes them: keys [prefix/]name (prefix a DNS subdomain of at most ${LABEL_LIMITS.keyPrefix} characters, name at most ${LABEL_LIMITS.keyName}), values at most ${LABEL_LIMITS.value}`,
    ),
  taints: boundedArray(Taint, CLUSTER_LIMITS.taintsPerPool, 'taints').default([]).describe(`Taints of the pool's nodes, at most ${CLUSTER_LIMITS.taintsPerPool}`),
  minCount: z
    .number()
    .int()
    .min(0)
    .max(CLUSTER_LIMITS.machinesPerPool, `must be at most ${CLUSTER_LIMITS.machinesPerPool}`)
    .optional()
    .describe('Public cloud only: the fewest nodes the cloud\'s autoscaler may leave, at most count; count when absent'),
  maxCount: z
    .number()
    .int()
    .min(0)
    .max(CLUSTER_LIMITS.machinesPerPool, `must be at most ${CLUSTER_LIMITS.machinesPerPool}`)
    .optional()
    .describe('Public cloud only: the most nodes the cloud\'s autoscaler may add, at least count; count when absent'),
});

export const HostSpec = z.object({
  address: z.string().min(1).describe('IP address or DNS name reachable over SSH'),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1),
  sshKeyRef: z.string().min(1).describe('Reference to an SSH private key held by Flotilla (never the key itself)'),
  hostKeyFingerprint: z
    .string()
    .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'must be an OpenSSH SHA256 fingerprint, e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s')
    .optional()
    .describe('The host key the host must present (ssh-keygen -lf); without it the first key seen is pinned'),
  role: z.enum(['control-plane', 'worker']),
  pool: z.string().optional(),
});

/** The fields of a cluster request, without the checks across them (`ClusterSpec` has those). */
export const ClusterSpecFields = z.object({
  name: z.string().min(1).max(253).describe('Display name'),
  labels: ClusterLabels.optional(),
  model: z
    .enum(['platform-provisioned', 'user-provisioned', 'hosted-control-plane', 'public-cloud'])
    .describe('How the cluster is run; public-cloud: created at EKS, AKS or GKE by the importer (with `cloud`, without `controlPlane`)'),
  kubernetesVersion: KubernetesVersion,
  controlPlane: z.object({
    count: z.union([z.literal(1), z.literal(3), z.literal(5)], { error: 'must be 1, 3 or 5 (an odd number keeps etcd quorum)' }),
    machineSize: MachineSize,
    vip: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Users' hosts (user-provisioned, required there): a free IP address on the control-plane hosts' network that kube-vip holds on one of them at a time, the cluster's API endpoint whichever host goes",
      ),
  })
    .optional()
    .describe('Control-plane machines: required for platform-provisioned, user-provisioned and hosted-control-plane, absent for public-cloud (the cloud runs it)'),
  nodePools: z
    .array(NodePoolSpec)
    .superRefine((pools, context) => {
      if (pools.length > CLUSTER_LIMITS.nodePools) context.addIssue({ code: 'custom', message: atMost(CLUSTER_LIMITS.nodePools, 'node pools', pools.length) });
      const machines = pools.reduce((sum, pool) => sum + (Number.isInteger(pool.count) && pool.count > 0 ? pool.count : 0), 0);
      if (machines > CLUSTER_LIMITS.workers) {
        context.addIssue({ code: 'custom', message: `must have at most ${CLUSTER_LIMITS.workers} machines in all, has ${machines} (Kubernetes is tested up to ${CLUSTER_LIMITS.workers} nodes per cluster)` });
      }
    })
    .default([])
    .describe(`Worker node pools, at most ${CLUSTER_LIMITS.nodePools}, with at most ${CLUSTER_LIMITS.workers} machines in all`),
  nodeOs: z.enum(['microos', 'flatcar', 'fedora-coreos']).optional().describe('Immutable node OS, platform-provisioned only'),
  network: z
    .object({ podCidr: z.string().min(1), serviceCidr: z.string().min(1) })
    .default({ podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' }),
  infrastructure: z
    .object({ provider: z.string().min(1), parameters: z.record(z.string(), z.unknown()).default({}) })
    .optional()
    .describe('Infrastructure provider and its parameters (platform-provisioned and hosted workers)'),
  hosts: boundedArray(HostSpec, CLUSTER_LIMITS.hostsPerRequest, 'hosts')
    .optional()
    .describe(`The machines users bring (user-provisioned), at most ${CLUSTER_LIMITS.hostsPerRequest}; scaling a pool adds more`),
  spareHosts: boundedArray(HostSpec, CLUSTER_LIMITS.hostsPerRequest, 'spare hosts')
    .optional()
    .describe(
      `Users' hosts kept in reserve (user-provisioned), at most ${CLUSTER_LIMITS.hostsPerRequest}: a host of the same role (and pool, for workers) that fails its health check is replaced by one of them; nothing is installed on a spare until then`,
    ),
  hostRemediation: z
    .object({
      reboot: z.boolean().default(false).describe('Reboot a host that failed its health check (over SSH) and let it rejoin, before reporting it; off by default'),
    })
    .optional()
    .describe("What the platform may do to users' hosts that fail their health check; without it (or a spare) such a host is only reported"),
  hosted: z
    .object({ workerModel: z.enum(['platform-provisioned', 'user-provisioned']) })
    .optional()
    .describe('Hosted control plane: where the workers come from'),
  cloud: PublicCloudSpec.optional(),
});

/**
 * A cluster request. The checks across fields (what each model requires or refuses, the cloud
 * block per provider, node pools' autoscaling bounds) run even when a field is invalid, so that
 * every problem is listed at once.
 */
export const ClusterSpec = ClusterSpecFields.superRefine(
  (spec, context) => {
    for (const problem of modelProblems(spec)) context.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  },
  { when: () => true },
);
export type ClusterSpec = z.infer<typeof ClusterSpec>;

export const ClusterRequested = defineEvent({
  name: 'ClusterRequested',
  topic: 'cluster.requested',
  version: 1,
  description:
    'Someone asked for a new cluster: a platform-managed one (the provisioner answers) or a public-cloud one at EKS, AKS or GKE (model public-cloud: the importer answers, the provisioner ignores it). The CloudEvents subject is the new cluster id.',
  data: ClusterSpec,
  producers: ['inventory', EXTERNAL],
  consumers: ['provisioner', 'importer', 'inventory'],
});

export const NodesProvisioned = defineEvent({
  name: 'NodesProvisioned',
  topic: 'cluster.nodes-provisioned',
  version: 1,
  description: 'Machines of a cluster came up and joined as nodes.',
  data: z.object({
    model: ClusterModel,
    nodes: z.array(Node).min(1),
  }),
  producers: ['provisioner'],
  consumers: ['inventory', 'upgrade-planner'],
});

export const ClusterReady = defineEvent({
  name: 'ClusterReady',
  topic: 'cluster.ready',
  version: 1,
  description:
    'Every machine of the cluster is a Ready node and the API server answers (provisioner); for a public-cloud cluster, the cloud reports the control plane and every node group ready and the API server answers (importer).',
  data: z.object({
    model: ClusterModel,
    kubernetesVersion: KubernetesVersion,
    nodeCount: z.number().int().nonnegative(),
    apiServerEndpoint: z.string().optional(),
    release: z.string().min(1).optional().describe('Platform release the creation request was judged under'),
    policyRevision: z.string().min(1).optional().describe('Support-matrix revision the creation request was judged under'),
  }),
  producers: ['provisioner', 'importer'],
  consumers: ['inventory', 'upgrade-planner'],
});

export const ClusterProvisioningFailed = defineEvent({
  name: 'ClusterProvisioningFailed',
  topic: 'cluster.provisioning-failed',
  version: 1,
  description:
    'A cluster request was refused or its provisioning failed (the provisioner; the importer for public-cloud clusters, with the cloud\'s typed errors); every reason is listed.',
  data: z.object({
    model: ClusterModel.optional(),
    reasons: z.array(Reason).min(1),
    release: z.string().min(1).optional().describe('Platform release the request was judged under'),
    policyRevision: z.string().min(1).optional().describe('Support-matrix revision the request was judged under'),
  }),
  producers: ['provisioner', 'importer'],
  consumers: ['inventory'],
});

export const ClusterVersionChanged = defineEvent({
  name: 'ClusterVersionChanged',
  topic: 'cluster.version-changed',
  version: 1,
  description: 'The Kubernetes version a cluster reports changed (for connected clusters: upgraded outside the platform).',
  data: z.object({
    previousVersion: KubernetesVersion,
    kubernetesVersion: KubernetesVersion,
  }),
  producers: ['importer'],
  consumers: ['inventory', 'upgrade-planner'],
});

export const ClusterDeleted = defineEvent({
  name: 'ClusterDeleted',
  topic: 'cluster.deleted',
  version: 1,
  description:
    'A cluster was deleted: every machine of it released (provisioner), a public-cloud cluster\'s node groups and control plane deleted at its cloud (importer), or a connected cluster no longer managed, its credential and tunnel agent revoked (importer).',
  data: z.object({ model: ClusterModel }),
  producers: ['provisioner', 'importer'],
  consumers: ['inventory', 'upgrade-planner', 'importer', 'tunnel-broker'],
});

/** One machine as the infrastructure knows it. */
export const MachineRef = z.object({
  name: z.string().min(1).describe('Machine name, which is also its Kubernetes node name'),
  providerId: z
    .string()
    .min(1)
    .optional()
    .describe('Infrastructure provider id of the machine (the node\'s spec.providerID), absent when the provider has none'),
  kubeletVersion: KubernetesVersion.optional().describe('Kubelet version the machine runs, when known'),
});

export const MachineReplaced = defineEvent({
  name: 'MachineReplaced',
  topic: 'cluster.machine-replaced',
  version: 1,
  description:
    'A machine of a platform-managed cluster was replaced by a new one: the new machine joined as a Ready node and the old one was drained and released.',
  data: z.object({
    model: ClusterModel,
    role: z.enum(['control-plane', 'worker']),
    pool: z.string().optional().describe('Node pool, for workers'),
    oldMachine: MachineRef.describe('The machine that was removed'),
    newMachine: MachineRef.describe('The machine that took its place'),
    reason: z
      .enum(['unhealthy', 'upgrade', 'spec-changed', 'requested'])
      .describe(
        'Why: unhealthy = failed its health check; upgrade = rolled to a new Kubernetes version or OS image; spec-changed = machine size or pool settings changed; requested = an operator asked',
      ),
    message: z.string().optional().describe('Human-readable detail, e.g. which health check failed'),
  }),
  producers: ['provisioner'],
  consumers: ['inventory', 'upgrade-planner'],
});

export const NodeUnhealthy = defineEvent({
  name: 'NodeUnhealthy',
  topic: 'cluster.node-unhealthy',
  version: 1,
  description:
    "A node on a user's host failed its health check for the health-check timeout. The platform never replaces a user's host with a machine of its own: it reports the host, reboots it (when the cluster allows it) or replaces it with one of the cluster's spare hosts.",
  data: z.object({
    model: ClusterModel,
    node: z.string().min(1).describe('Node (machine) name'),
    address: z.string().min(1).describe("The host's address"),
    role: z.enum(['control-plane', 'worker']),
    pool: z.string().optional().describe('Node pool, for workers'),
    unhealthySince: z.string().describe('When its node was first seen not Ready (RFC 3339)'),
    remediation: z
      .enum(['reported', 'reboot', 'spare'])
      .describe("What the platform does: reported = nothing on the host, an operator must look at it; reboot = rebooting it over SSH; spare = a spare host joins in its place, then this one is drained and what Flotilla installed on it undone"),
    spare: z.string().optional().describe('remediation spare: the address of the spare host taking its place'),
    message: z.string().describe('What was seen and what to do'),
  }),
  producers: ['provisioner'],
  consumers: ['inventory'],
});

export const ClusterUpgraded = defineEvent({
  name: 'ClusterUpgraded',
  topic: 'cluster.upgraded',
  version: 1,
  description:
    'The platform upgraded a cluster it manages by one step: the control plane and every node (every node group, for a public-cloud cluster: the importer) now run the target Kubernetes version.',
  data: z.object({
    model: ClusterModel,
    fromVersion: KubernetesVersion.describe('Kubernetes version before the upgrade'),
    toVersion: KubernetesVersion.describe('Kubernetes version the whole cluster runs now'),
    planId: z.string().min(1).optional().describe('The upgrade plan this step belongs to, when it came from one'),
    policyRevision: z.string().min(1).optional().describe('Support-matrix revision the step was approved under'),
  }),
  producers: ['provisioner', 'importer'],
  consumers: ['inventory', 'upgrade-planner'],
});

// ---- lifecycle commands and their results (the provisioner acts on them) -------------------------

export const NodePoolScaleRequested = defineEvent({
  name: 'NodePoolScaleRequested',
  topic: 'cluster.node-pool-scale-requested',
  version: 1,
  description:
    'Someone asked to change the number of machines of one node pool of a platform-managed cluster (the provisioner: scaling down removes the newest machines of the pool) or of a public-cloud cluster (the importer: the node group\'s desired size, its autoscaling bounds widened to take it). The CloudEvents subject is the cluster id.',
  data: z.object({
    pool: z
      .string()
      .min(1)
      .superRefine(checked((pool) => (pool.length > DNS_LABEL_LENGTH ? `must be at most ${DNS_LABEL_LENGTH} characters (a DNS label), is ${pool.length}` : undefined)))
      .describe('Name of the node pool, as in the cluster request'),
    count: z
      .number()
      .int()
      .min(0)
      .max(CLUSTER_LIMITS.machinesPerPool, `must be at most ${CLUSTER_LIMITS.machinesPerPool}`)
      .describe(`Machines the pool should have; the cluster's node pools together at most ${CLUSTER_LIMITS.workers}`),
    hosts: boundedArray(HostSpec, CLUSTER_LIMITS.hostsPerRequest, 'hosts')
      .optional()
      .describe(
        `Pools on machines users bring, scaling up only: the hosts to add, exactly \`count\` minus the current size (at most ${CLUSTER_LIMITS.hostsPerRequest}), each with role worker and this pool`,
      ),
  }),
  producers: ['inventory', EXTERNAL],
  consumers: ['provisioner', 'importer', 'inventory'],
});

export const ClusterDeletionRequested = defineEvent({
  name: 'ClusterDeletionRequested',
  topic: 'cluster.deletion-requested',
  version: 1,
  description:
    'Someone asked to delete a cluster: a platform-managed one has every machine drained and released (provisioner), a public-cloud one has its node groups then its control plane deleted at its cloud (importer), a connected one stops being managed and its credential or tunnel agent is revoked (importer); ClusterDeleted follows. The CloudEvents subject is the cluster id.',
  data: z.object({
    reason: z.string().max(1000).optional().describe('Why, for the cluster\'s history'),
  }),
  producers: ['inventory', EXTERNAL],
  consumers: ['provisioner', 'importer', 'inventory'],
});

export const UpgradeStepApproved = defineEvent({
  name: 'UpgradeStepApproved',
  topic: 'cluster.upgrade-step-approved',
  version: 1,
  description:
    'An operator (or an outside service) approved one step of an upgrade plan for one cluster: the provisioner (platform-managed clusters) or the importer (public-cloud clusters, at their cloud) moves the control plane, then every node, to the target version. The CloudEvents subject is the cluster id.',
  data: z.object({
    planId: z.string().min(1).describe('The upgrade plan the step belongs to (UpgradePlanned subject)'),
    toVersion: KubernetesVersion.describe('Kubernetes version the cluster moves to: one minor at most above what it runs'),
  }),
  producers: ['inventory', EXTERNAL],
  consumers: ['provisioner', 'importer', 'inventory'],
});

export const UpgradeStepFailed = defineEvent({
  name: 'UpgradeStepFailed',
  topic: 'cluster.upgrade-step-failed',
  version: 1,
  description:
    'An approved upgrade step was refused (the version policy does not allow it, or the cluster cannot be upgraded now) or could not be completed; every reason is listed. Nodes already moved stay on the new version.',
  data: z.object({
    model: ClusterModel,
    planId: z.string().min(1),
    fromVersion: KubernetesVersion.describe('Kubernetes version the cluster ran when the step was approved'),
    toVersion: KubernetesVersion,
    reasons: z.array(Reason).min(1),
    policyRevision: z.string().min(1).optional().describe('Support-matrix revision the step was judged under'),
  }),
  producers: ['provisioner', 'importer'],
  consumers: ['inventory'],
});

export const NodePoolScaled = defineEvent({
  name: 'NodePoolScaled',
  topic: 'cluster.node-pool-scaled',
  version: 1,
  description:
    'A node pool of a platform-managed cluster changed size: new machines joined as nodes (also announced by NodesProvisioned) and removed ones were drained and released (provisioner); or the node group of a public-cloud cluster reached its new desired size at its cloud (importer).',
  data: z.object({
    model: ClusterModel,
    pool: z.string().min(1),
    from: z.number().int().nonnegative().describe('Nodes of the pool before'),
    to: z.number().int().nonnegative().describe('Nodes of the pool now (less than asked for when a new machine failed)'),
    requested: z.number().int().nonnegative().describe('The count that was asked for'),
    nodes: z.array(Node).describe('Every node of the pool now'),
    removed: z.array(z.string().min(1)).describe('Names of the nodes that were removed'),
  }),
  producers: ['provisioner', 'importer'],
  consumers: ['inventory', 'upgrade-planner'],
});

/** Machines ready of the machines wanted, for the control plane or one node pool. */
export const MachineCount = z.object({
  ready: z.number().int().nonnegative().describe('Machines running as Ready nodes'),
  total: z.number().int().nonnegative().describe('Machines the cluster has or is making (those being released are not counted)'),
});

export const ClusterProgress = defineEvent({
  name: 'ClusterProgress',
  topic: 'cluster.progress',
  version: 1,
  description:
    'Where the work on a platform-managed or public-cloud cluster stands: its phase, machines ready of total for the control plane and each node pool, and the operation under way (the current upgrade step). Emitted when machines change state and when the provisioner (the importer, for public-cloud clusters) takes up a request; the latest by event time is the truth.',
  data: z.object({
    model: ClusterModel,
    phase: z.enum(['Pending', 'Provisioning', 'Provisioned', 'Running', 'Deleting', 'Deleted', 'Failed']).describe('The provisioner\'s (or importer\'s) phase of the cluster'),
    controlPlane: MachineCount.describe('Control-plane machines (none for a hosted control plane)'),
    nodePools: z.array(MachineCount.extend({ pool: z.string().min(1) })).describe('Worker machines, per node pool, sorted by pool'),
    operation: z
      .object({
        kind: z.enum(['scale', 'upgrade', 'delete']),
        pool: z.string().min(1).optional().describe('scale: the node pool'),
        from: z.number().int().nonnegative().optional().describe('scale: machines of the pool before'),
        to: z.number().int().nonnegative().optional().describe('scale: machines the pool should have'),
        planId: z.string().min(1).optional().describe('upgrade: the plan the step belongs to'),
        fromVersion: KubernetesVersion.optional().describe('upgrade: the version the step starts from'),
        toVersion: KubernetesVersion.optional().describe('upgrade: the version the step moves to'),
      })
      .nullable()
      .describe('What the cluster is doing besides running; null when nothing'),
    requestEventId: z
      .string()
      .min(1)
      .optional()
      .describe('The request (CloudEvents id) this answers: the provisioner (or importer) took it up, or found it already done'),
  }),
  producers: ['provisioner', 'importer'],
  consumers: ['inventory'],
});

/** A node group of a cluster at its cloud, as found when it was adopted. */
export const AdoptedNodePool = z.object({
  name: z.string().min(1).describe('The node group (EKS node group, AKS agent pool, GKE node pool) name at the cloud'),
  count: z.number().int().nonnegative().describe('Desired nodes'),
  machineSize: z.string().min(1).describe('EC2 instance type, Azure VM size or GCE machine type'),
  minCount: z.number().int().nonnegative().describe("Autoscaling lower bound (count when the group does not autoscale)"),
  maxCount: z.number().int().nonnegative().describe('Autoscaling upper bound (count when the group does not autoscale)'),
});

export const ClusterAdopted = defineEvent({
  name: 'ClusterAdopted',
  topic: 'cluster.adopted',
  version: 1,
  description:
    'An imported cloud cluster (EKS, AKS, GKE) is managed by Flotilla from now on: it becomes a public-cloud cluster, scaled, upgraded and deleted through approved requests like the clusters Flotilla created. The importer holds its cloud account.',
  data: z.object({
    model: z.literal('public-cloud').describe('What the cluster is from now on'),
    provider: PublicCloudProvider,
    region: z.string().min(1).describe('AWS region, Azure location, or GCP region or zone'),
    kubernetesVersion: KubernetesVersion.describe('The control plane\'s version at adoption'),
    nodePools: z.array(AdoptedNodePool).describe('Its node groups at adoption'),
  }),
  producers: ['importer'],
  consumers: ['inventory', 'upgrade-planner'],
});
