import type { ClusterUpgradeAction, ClusterUpgradePlan, EventData, PlanIssue, PlanStep, UpgradePlan, UpgradePlanned } from '@flotilla/contracts';

export type UpgradePlannedData = EventData<typeof UpgradePlanned>;
type PlannedCluster = UpgradePlannedData['clusters'][number];
type PlannedIssue = UpgradePlannedData['issues'][number];
type PlannedStep = NonNullable<UpgradePlannedData['steps']>[number];

/** A plan revision to announce. */
export interface PlannedEventInput {
  plan: UpgradePlan;
  /** Its revision number: 1 for a new plan. */
  revision: number;
  /** What changed against the previous revision. */
  changes: readonly string[];
}

export interface PlannedEventDraft {
  data: UpgradePlannedData;
  /** Clusters and changes the event lists, out of how many the revision has. */
  listedClusters: number;
  totalClusters: number;
  listedChanges: number;
  totalChanges: number;
  /** Whether the ordered steps fit in the event (they do only when everything else does too). */
  listedSteps: boolean;
  /** Whether every issue lists every cluster it concerns. */
  listedIssueClusters: boolean;
}

export interface PlannedEventOptions {
  /** Cap on the JSON payload; consumers dead-letter events over their limit. */
  maxBytes: number;
  /** Where the whole revision can be read, named in the event when it lists only part of its changes. */
  planHref: string;
}

/**
 * Clusters that need someone to act come first when not every cluster fits in one event: a
 * consumer learns about blockers and required upgrades before clusters with nothing to do.
 */
const PRIORITY: Record<ClusterUpgradeAction, number> = { blocked: 0, 'upgrade-before-global': 1, 'provider-action-required': 2, 'may-upgrade-after': 3, none: 4 };

/** Room kept for the note that says the changes are listed in part. */
const NOTE_RESERVE = 400;

/** One cluster of the plan in the event's shape. */
export function toPlannedCluster(cluster: ClusterUpgradePlan): PlannedCluster {
  const planned: PlannedCluster = {
    clusterId: cluster.clusterId,
    model: cluster.model,
    currentVersion: cluster.currentVersion,
    target: cluster.target,
    action: cluster.action,
    path: [...cluster.path],
    nodePoolMoves: cluster.nodePoolMoves.map((move) => ({
      pool: move.pool,
      fromVersion: move.fromVersion,
      to: move.to,
      beforeControlPlane: move.beforeControlPlane,
      reason: move.reason,
    })),
    code: cluster.code,
    reason: cluster.reason,
  };
  if (cluster.wave !== null) planned.wave = cluster.wave;
  return planned;
}

/** One issue of the plan in the event's shape, listing at most `limit` of its clusters. */
export function toPlannedIssue(issue: PlanIssue, limit = issue.clusterIds.length): PlannedIssue {
  return { code: issue.code, reason: issue.reason, clusterIds: issue.clusterIds.slice(0, limit), clusterCount: issue.clusterIds.length };
}

export function toPlannedStep(step: PlanStep): PlannedStep {
  return step.type === 'workload-wave'
    ? { type: step.type, phase: step.phase, wave: step.wave, clusterIds: [...step.clusterIds] }
    : { type: step.type, fromRelease: step.fromRelease, toRelease: step.toRelease, awaitingProvider: [...step.awaitingProvider] };
}

/**
 * Maps a plan revision onto UpgradePlanned. Every cluster, issue and change is listed when the
 * payload fits `maxBytes`, and the ordered steps too when they also fit. Otherwise the steps are
 * left out (each cluster's action and wave say the same), the clusters named by issues take at
 * most a quarter of the room, changes at most half of what is left, and clusters are listed by
 * priority (blocked, required, provider, optional, none) in the rest. `clusterCount` (and each
 * issue's `clusterCount`) say how many there are in all; a closing change line says how many
 * changes were left out and where the whole revision is.
 */
export function toUpgradePlannedData(input: PlannedEventInput, options: PlannedEventOptions): PlannedEventDraft {
  const { plan, revision, changes } = input;
  const total = plan.clusters.length;
  const head: UpgradePlannedData = {
    fromRelease: plan.fromRelease,
    toRelease: plan.toRelease,
    policyRevision: plan.policyRevision,
    revision,
    satisfiable: plan.satisfiable,
    clusterCount: total,
    issues: [],
    clusters: [],
    changes: [],
  };
  const mapped = new Array<PlannedCluster | undefined>(total);
  const mappedAt = (index: number): PlannedCluster => (mapped[index] ??= toPlannedCluster(plan.clusters[index]!));
  const issues = plan.issues.map((issue) => toPlannedIssue(issue));

  // Measure as we go: a fleet of 100,000 is over the limit long before the end.
  let size = bytes({ ...head, issues }) + changes.reduce((sum, change) => sum + bytes(change) + 1, 0);
  let fits = size <= options.maxBytes;
  for (let index = 0; fits && index < total; index++) {
    size += bytes(mappedAt(index)) + 1;
    fits = size <= options.maxBytes;
  }
  if (fits) {
    const data: UpgradePlannedData = { ...head, issues, clusters: mapped as PlannedCluster[], changes: [...changes] };
    const steps = plan.steps.map(toPlannedStep);
    // `,"steps":[...]` on top of what fits already.
    const listedSteps = size + bytes({ steps }) - 1 <= options.maxBytes;
    if (listedSteps) data.steps = steps;
    return { data, listedClusters: total, totalClusters: total, listedChanges: changes.length, totalChanges: changes.length, listedSteps, listedIssueClusters: true };
  }

  // Issues themselves are few and always listed; the clusters they name share a quarter of the room.
  const skeletons = plan.issues.map((issue) => toPlannedIssue(issue, 0));
  let room = options.maxBytes - bytes({ ...head, issues: skeletons }) - NOTE_RESERVE;
  let idRoom = Math.floor(room / 4);
  let listedIssueClusters = true;
  const partialIssues = plan.issues.map((issue, i) => {
    let limit = 0;
    for (const id of issue.clusterIds) {
      const idSize = bytes(id) + 1;
      if (idSize > idRoom) break;
      idRoom -= idSize;
      room -= idSize;
      limit++;
    }
    if (limit < issue.clusterIds.length) listedIssueClusters = false;
    return limit === 0 ? skeletons[i]! : toPlannedIssue(issue, limit);
  });

  const listedChanges: string[] = [];
  let changeRoom = Math.floor(room / 2);
  for (const change of changes) {
    const changeSize = bytes(change) + 1;
    if (changeSize > changeRoom) break;
    listedChanges.push(change);
    changeRoom -= changeSize;
    room -= changeSize;
  }

  // Buckets by priority keep id order inside each bucket without sorting the whole fleet.
  const buckets: number[][] = [[], [], [], [], []];
  plan.clusters.forEach((cluster, index) => buckets[PRIORITY[cluster.action]]!.push(index));
  const chosen: number[] = [];
  fill: for (const bucket of buckets) {
    for (const index of bucket) {
      const clusterSize = bytes(mappedAt(index)) + 1;
      if (clusterSize > room) break fill;
      chosen.push(index);
      room -= clusterSize;
    }
  }
  chosen.sort((a, b) => a - b);

  const notes: string[] = [];
  if (listedChanges.length < changes.length) {
    notes.push(`${changes.length - listedChanges.length} more change(s) not listed here (event size limit): GET ${options.planHref}/revisions`);
  }
  return {
    data: { ...head, issues: partialIssues, clusters: chosen.map(mappedAt), changes: [...listedChanges, ...notes] },
    listedClusters: chosen.length,
    totalClusters: total,
    listedChanges: listedChanges.length,
    totalChanges: changes.length,
    listedSteps: false,
    listedIssueClusters,
  };
}

function bytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
