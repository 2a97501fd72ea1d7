import { z } from 'zod';
import { defineEvent, EXTERNAL } from '../event-definition.js';
import { ClusterModel, KubernetesVersion } from './common.js';

export const PlatformRelease = z.string().regex(/^\d+\.\d+$/, 'must be a platform release like 4.3');

/** Upgrade plan ids (the subject of plan events): the planner makes `plan-<hex>`; others may use a UUID. */
export const PlanId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be a plan id: 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit')
  .describe('Upgrade plan id');

/** A Kubernetes minor as the planner writes it: major.minor, no patch, no `v`. */
const KubernetesMinorText = z
  .string()
  .regex(/^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/, 'must be a Kubernetes minor like 1.34')
  .describe('Kubernetes minor, e.g. 1.34');

export const UpgradePlanRequested = defineEvent({
  name: 'UpgradePlanRequested',
  topic: 'upgrade.plan-requested',
  version: 1,
  description: 'Plan upgrading the global cluster from one platform release to another. The subject is the plan id.',
  subject: 'plan',
  data: z.object({
    fromRelease: PlatformRelease,
    toRelease: PlatformRelease,
    toVersion: KubernetesMinorText.optional().describe(
      'A Kubernetes minor to take the workload clusters to (one of toRelease\'s compatible minors, at or above what its gate accepts); by default toRelease\'s newest minor for new clusters',
    ),
    maxConcurrency: z.number().int().min(1).max(1000).default(10),
  }),
  producers: [EXTERNAL],
  consumers: ['upgrade-planner', 'inventory'],
});

export const ClusterAction = z.enum(['none', 'upgrade-before-global', 'may-upgrade-after', 'provider-action-required', 'blocked']);


const PlannedClusterIds = z.array(z.string().min(1));

export const PlannedNodePoolMove = z
  .object({
    pool: z.string().min(1).describe('Node pool name (control-plane machines form the pool "control-plane")'),
    fromVersion: KubernetesVersion.describe('Kubelet version the pool runs now, as reported'),
    to: KubernetesMinorText.describe('Minor the pool moves to: the control plane\'s minor at that point'),
    beforeControlPlane: KubernetesMinorText.describe('The control-plane minor whose step needs this move first'),
    reason: z.string().describe('Why the pool must move, e.g. which skew it would break'),
  })
  .describe('A node pool to upgrade before a control-plane step that would otherwise put its kubelets out of skew');

export const PlannedIssue = z
  .object({
    code: z.string().min(1).describe('Stable machine-readable code, e.g. upgrade-path-unsupported or older-than-supported-path'),
    reason: z.string().describe('Human-readable explanation'),
    clusterIds: PlannedClusterIds.describe(
      'Workload clusters to blame, sorted by id; empty when no cluster is (e.g. an unsupported release path). May list fewer than clusterCount when the event would exceed the size limit',
    ),
    clusterCount: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('How many clusters the issue concerns; more than clusterIds lists when the event would exceed the size limit'),
  })
  .describe('Why the plan cannot be carried out; cluster problems are grouped by code');

export const PlannedClusterStep = z
  .object({
    from: KubernetesMinorText.describe('Control-plane minor before the step'),
    to: KubernetesMinorText.describe('Control-plane minor after the step: one minor newer'),
    release: PlatformRelease.describe('The platform release the global cluster is on while the step is taken; it supports `to`'),
    beforeGlobal: PlatformRelease.nullable().describe('The global upgrade (its target release) the step must be done before; null: after the last one, optional'),
  })
  .describe('One single-minor control-plane step of a cluster, with the release that allows it');

export const PlannedRepairMove = z
  .object({
    kind: z.enum(['global-upgrade', 'control-plane', 'node-pool', 'provider']).describe('Who moves: the global cluster (to a release), the control plane or a node pool (to a minor), or a connected cluster\'s provider'),
    pool: z.string().nullable().describe('The node pool the move is about, null otherwise'),
    to: z.string().min(1).describe('The release (global-upgrade) or Kubernetes minor the move goes to'),
    reason: z.string(),
  })
  .describe('One move, in order, that repairs a violation');

export const PlannedViolation = z
  .object({
    code: z.string().min(1).describe('What the cluster already breaks today, e.g. kubelet-too-old, workload-ahead-of-global, incompatible, onboard-out-of-range'),
    pool: z.string().nullable().describe('The node pool at fault, null when the whole cluster is'),
    reason: z.string(),
    repair: z.array(PlannedRepairMove).describe('The moves that repair it; empty when no release of the matrix can'),
  })
  .describe('A rule of the policy in force that the cluster already breaks, before any plan is carried out');

export const PlannedViolationGroup = z
  .object({
    code: z.string().min(1).describe('The violation code'),
    reason: z.string(),
    clusterIds: PlannedClusterIds.describe('Clusters that break it, sorted by id; fewer than clusterCount when the event would exceed the size limit'),
    clusterCount: z.number().int().nonnegative().optional().describe('How many clusters break it; more than clusterIds lists when the event would exceed the size limit'),
  })
  .describe('Clusters that already break the policy today, grouped by code');

export const PlannedStep = z
  .discriminatedUnion('type', [
    z
      .object({
        type: z.literal('workload-wave'),
        phase: z.enum(['pre-global', 'post-global']).describe('pre-global: before the global upgrade, required; post-global: after it, optional'),
        wave: z.number().int().min(1).describe('1-based wave number within its phase'),
        globalRelease: PlatformRelease.optional().describe('The release the global cluster is on during the wave'),
        clusterIds: PlannedClusterIds.describe('Workload clusters upgraded together in this wave'),
      })
      .describe('A wave of workload-cluster upgrades'),
    z
      .object({
        type: z.literal('global-upgrade'),
        fromRelease: PlatformRelease,
        toRelease: PlatformRelease,
        awaitingProvider: PlannedClusterIds.describe('Connected clusters whose providers must upgrade them before this step can start'),
      })
      .describe('The upgrade of the global cluster itself'),
  ])
  .describe('One step of the plan, in order');

export const UpgradePlanned = defineEvent({
  name: 'UpgradePlanned',
  topic: 'upgrade.planned',
  version: 1,
  description: 'A global upgrade plan was computed (or recomputed). The subject is the plan id.',
  subject: 'plan',
  data: z.object({
    fromRelease: PlatformRelease,
    toRelease: PlatformRelease,
    policyRevision: z.string().min(1).describe('Support-matrix revision the plan was decided under'),
    toVersion: KubernetesMinorText.optional().describe('The Kubernetes minor the plan takes clusters to, when one was asked for'),
    revision: z.number().int().min(1).optional().describe('The plan revision this event describes: 1 when the plan is made, one more each time it changes'),
    route: z
      .array(PlatformRelease)
      .optional()
      .describe('Every release the global cluster goes through, fromRelease first and toRelease last (more than two when the upgrade takes several global upgrades)'),
    violations: z
      .array(PlannedViolationGroup)
      .optional()
      .describe('What the fleet already breaks today, whatever was asked: listed first; each listed cluster\'s violations have the detail and the repair'),
    satisfiable: z.boolean().describe('False when an issue stops the plan; issues say why'),
    clusterCount: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe(
        'Workload clusters in the whole plan. clusters lists fewer when the event would exceed the size limit (those needing action first); the upgrade planner\'s API serves the whole revision',
      ),
    issues: z.array(PlannedIssue).default([]).describe('Why the plan cannot be carried out; empty when satisfiable'),
    clusters: z
      .array(
        z.object({
          clusterId: z.string().min(1),
          model: ClusterModel,
          currentVersion: KubernetesVersion.describe('API server version as reported'),
          target: KubernetesMinorText.nullable()
            .optional()
            .describe('Minor the cluster runs once its path is done (its current minor when the path is empty); null when blocked'),
          action: ClusterAction.describe(
            'none: nothing to do; upgrade-before-global: must upgrade before the global cluster; may-upgrade-after: may upgrade once it is done; provider-action-required: a connected cluster its provider must upgrade first; blocked: see code and reason',
          ),
          path: z.array(KubernetesVersion).describe('Kubernetes minors one at a time, e.g. 1.29 -> 1.30 -> 1.31'),
          nodePoolMoves: z.array(PlannedNodePoolMove).default([]).describe('Node pools to move, in order, before the control-plane steps of path'),
          steps: z
            .array(PlannedClusterStep)
            .optional()
            .describe('The steps of path, each with the release that allows it and the global upgrade it must precede'),
          violations: z
            .array(PlannedViolation)
            .optional()
            .describe('What the cluster already breaks today, with the moves that repair it; absent when nothing'),
          wave: z.number().int().nonnegative().optional().describe('1-based wave within its phase (the action tells which); absent when it is in no wave'),
          code: z.string().min(1).optional().describe('Stable machine-readable code of the decision, e.g. below-latest-compatible'),
          reason: z.string().describe('Human-readable explanation of the decision'),
        }),
      )
      .describe('Workload clusters sorted by id; fewer than clusterCount when the event would exceed the size limit'),
    steps: z
      .array(PlannedStep)
      .optional()
      .describe(
        'Pre-global waves, the global upgrade, post-global waves (only the pre-global waves when not satisfiable). Absent when it would not fit the size limit: each cluster\'s action and wave say the same',
      ),
    changes: z.array(z.string()).default([]).describe('What changed against the previous revision of this plan'),
  }),
  producers: ['upgrade-planner'],
  consumers: ['inventory'],
});
