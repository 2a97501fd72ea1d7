import {
  ClusterAction,
  ClusterModel,
  FleetCluster,
  MatrixFact,
  PlannedClusterStep,
  PlannedNodePoolMove,
  SupportMatrixDocument,
  UpgradeGateKind,
} from '@flotilla/contracts';
import { describes } from '@flotilla/service-kit';
import { z } from 'zod';
import type { FleetEntry } from '../domain/fleet-entry.js';
import type { RevisionSummary } from '../repositories/plan.repository.js';
import type { PlanListItem, PlanView } from '../planning/plan.service.js';
import type { SupportMatrixView } from './support-matrix.controller.js';

const Time = z.iso.datetime({ offset: true });
const PLAN_STATUSES = ['open', 'closed'] as const;
const REVISION_TRIGGERS = ['requested', 're-requested', 'fleet-changed', 'matrix-changed'] as const;
const ACTION_COUNTS = z.record(ClusterAction, z.number().int().nonnegative()).describe('How many clusters get each action');

/** GET /api/v1/fleet: the plannable clusters. */
export const FleetPageAnswer = describes<{ items: readonly FleetCluster[]; total: number; nextCursor: string | null }>()(
  z.object({
    items: z.array(FleetCluster),
    total: z.number().int(),
    nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last'),
  }),
);

/** GET /api/v1/fleet/{id}: what the facts say about a cluster, and how the planner sees it. */
export const FleetEntryAnswer = z.object({
  entry: describes<FleetEntry>()(
    z.object({
      id: z.string(),
      model: ClusterModel.nullable(),
      distribution: z.string().nullable(),
      controlPlaneVersion: z.string().nullable().describe('API server version as last reported'),
      versionTime: Time.nullable().describe('Time of the fact that set controlPlaneVersion'),
      nodes: z.array(
        z.object({
          name: z.string(),
          role: z.enum(['control-plane', 'worker']),
          pool: z.string().nullable(),
          kubeletVersion: z.string().nullable(),
          time: Time,
          removed: z.boolean().describe('Removed machines stay as tombstones'),
        }),
      ),
      upgraded: z
        .object({ toVersion: z.string(), time: Time })
        .nullable()
        .describe('The newest ClusterUpgraded: a node fact older than it that arrives later takes its version'),
      deletedAt: Time.nullable(),
      lastEventTime: Time,
    }),
  ),
  plannable: FleetCluster.nullable().describe('The cluster as plans see it; null when it cannot be planned (deleted, no version yet)'),
});

const VIOLATION_CODES = ['workload-ahead-of-global', 'kubelet-too-old', 'kubelet-newer-than-api-server', 'incompatible', 'onboard-out-of-range'] as const;
const CLUSTER_PLAN_CODES = [
  'on-target',
  'optional-upgrade-after',
  'provider-managed',
  'below-latest-compatible',
  'outside-compatible-range',
  'newer-than-target',
  'older-than-supported-path',
  'major-version-mismatch',
  'version-invalid',
  'version-prerelease',
  'node-pool-version-invalid',
  'kubelet-newer-than-api-server',
  'workload-ahead-of-global',
  'duplicate-cluster-id',
  'release-unknown',
  'upgrade-path-unsupported',
  'upgrade-path-same-release',
  'upgrade-path-downgrade',
  'incompatible',
] as const;
const PLAN_ISSUE_CODES = [...CLUSTER_PLAN_CODES, 'concurrency-invalid'] as const;

const ClusterIds = z.array(z.string());

/** One cluster of a plan: its action, path and why. */
const PlannedCluster = z.object({
  clusterId: z.string(),
  model: ClusterModel,
  distribution: z.string().nullable(),
  currentVersion: z.string(),
  target: z.string().nullable(),
  action: ClusterAction,
  path: z.array(z.string()).describe('Kubernetes minors one at a time'),
  steps: z.array(PlannedClusterStep),
  nodePoolMoves: z.array(PlannedNodePoolMove),
  wave: z.number().int().nullable(),
  code: z.enum(CLUSTER_PLAN_CODES),
  reason: z.string(),
  violations: z.array(
    z.object({
      code: z.enum(VIOLATION_CODES),
      pool: z.string().nullable(),
      reason: z.string(),
      repair: z.array(z.object({ kind: z.enum(['global-upgrade', 'control-plane', 'node-pool', 'provider']), pool: z.string().nullable(), to: z.string(), reason: z.string() })),
    }),
  ),
});

/** A plan revision as GET /api/v1/upgrade-plans/{id} shows it: the plan and where it stands. */
export const PlanAnswer = describes<PlanView>()(
  z.object({
    id: z.string(),
    status: z.enum(PLAN_STATUSES),
    revision: z.number().int().min(1).describe('The revision shown'),
    currentRevision: z.number().int().min(1),
    trigger: z.enum(REVISION_TRIGGERS).describe('What made this revision'),
    requestedVia: z.enum(['event', 'http']),
    changes: z.array(z.string()).describe('What changed against the previous revision'),
    matrixSequence: z.number().int(),
    eventId: z.string().describe('The UpgradePlanned event of this revision'),
    createdAt: Time,
    revisedAt: Time,
    fromRelease: z.string(),
    toRelease: z.string(),
    toVersion: z.string().optional(),
    route: z.array(z.string()).describe('Every release the global cluster goes through'),
    policyRevision: z.string(),
    gate: UpgradeGateKind.nullable(),
    accepted: z.array(z.string()),
    maxConcurrency: z.number().int(),
    violations: z.array(z.object({ code: z.enum(VIOLATION_CODES), reason: z.string(), clusterIds: ClusterIds })),
    satisfiable: z.boolean(),
    issues: z.array(z.object({ code: z.enum(PLAN_ISSUE_CODES), reason: z.string(), clusterIds: ClusterIds })),
    clusters: z.array(PlannedCluster),
    steps: z.array(
      z.discriminatedUnion('type', [
        z.object({ type: z.literal('workload-wave'), phase: z.enum(['pre-global', 'post-global']), wave: z.number().int(), globalRelease: z.string(), clusterIds: ClusterIds }),
        z.object({ type: z.literal('global-upgrade'), fromRelease: z.string(), toRelease: z.string(), awaitingProvider: ClusterIds }),
      ]),
    ),
    summary: ACTION_COUNTS,
  }),
);

export const PlanListItemAnswer = describes<PlanListItem>()(
  z.object({
    id: z.string(),
    status: z.enum(PLAN_STATUSES),
    fromRelease: z.string(),
    toRelease: z.string(),
    toVersion: z.string().nullable(),
    maxConcurrency: z.number().int(),
    currentRevision: z.number().int(),
    href: z.string(),
  }),
);

export const PlanListAnswer = z.object({ items: z.array(PlanListItemAnswer).describe('Newest first') });

export const PlanRevisionsAnswer = z.object({
  id: z.string(),
  revisions: z.array(
    describes<Omit<RevisionSummary, 'summary'>>()(
      z.object({
        revision: z.number().int(),
        policyRevision: z.string(),
        matrixSequence: z.number().int(),
        matrixPublishedAt: Time.nullable(),
        eventId: z.string(),
        trigger: z.enum(REVISION_TRIGGERS),
        satisfiable: z.boolean(),
        changes: z.array(z.string()),
        createdAt: Time,
      }),
    ).extend({ summary: ACTION_COUNTS }),
  ),
});

/** The table of a plan revision, as `clusterctl upgrade plan` prints one. */
export const PlanTableAnswer = z.string().describe('Columns: cluster, model, current, target, path, action, reason');

const MATRIX_PROBLEM_CODES = [
  'schema-invalid',
  'range-malformed',
  'range-empty',
  'duplicate-release',
  'releases-unsorted',
  'duplicate-minor',
  'minors-unsorted',
  'minors-gapped',
  'creation-not-compatible',
  'validated-outside-range',
  'upgrade-from-unknown',
  'upgrade-from-not-older',
  'upgrade-path-without-common-minor',
  'reconstructed-without-inferred',
  'json-invalid',
  'revision-unchanged',
] as const;
const MatrixProblem = z.object({ code: z.enum(MATRIX_PROBLEM_CODES), field: z.string().describe('Dotted path, (root) for the document'), message: z.string() });
const RejectedEntry = z.object({ sequence: z.number().int(), publishedAt: Time, problems: z.array(MatrixProblem) });

/** GET and PUT /api/v1/support-matrix: the revision in force, the platform release, the document. */
export const SupportMatrixAnswer = describes<SupportMatrixView>()(
  z.object({
    revision: z.string(),
    source: z.enum(['shipped', 'bucket']),
    sequence: z.number().int().describe('Bucket sequence of the revision in force (0: the shipped document)'),
    publishedAt: Time.nullable(),
    bucket: z.string(),
    lastRejected: RejectedEntry.extend({ claimedRevision: z.string().nullable() }).nullable().describe('The last entry of the bucket refused; the revision in force did not change'),
    platformRelease: z.object({
      release: z.string(),
      source: z.enum(['shipped', 'bucket']),
      sequence: z.number().int(),
      lastRejected: RejectedEntry.extend({ key: z.string() }).nullable(),
    }),
    provenance: z
      .record(
        z.string(),
        z.array(z.discriminatedUnion('provenance', [z.object({ fact: MatrixFact, provenance: z.literal('documented') }), z.object({ fact: MatrixFact, provenance: z.literal('inferred'), reasoning: z.string() })])),
      )
      .describe('Per release, where each fact comes from: documented, or inferred with the reasoning'),
    document: SupportMatrixDocument,
  }),
);

export const PublishedMatrixAnswer = SupportMatrixAnswer.extend({ unchanged: z.boolean().describe('The document was already in force') });
