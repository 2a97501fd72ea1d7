import type { ClusterUpgradeAction, ClusterUpgradePlan, EventData, PlanIssue, PlanStep, PlanViolationGroup, UpgradePlan, UpgradePlanned } from '@flotilla/contracts';

export type UpgradePlannedData = EventData<typeof UpgradePlanned>;
type PlannedCluster = UpgradePlannedData['clusters'][number];
type PlannedIssue = UpgradePlannedData['issues'][number];
type PlannedViolationGroup = NonNullable<UpgradePlannedData['violations']>[number];
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
  /** Whether every issue and violation group lists every cluster it concerns. */
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
 * consumer learns about what is already broken, then blockers and required upgrades, before
 * clusters with nothing to do.
 */
const PRIORITY: Record<ClusterUpgradeAction, number> = { blocked: 1, 'upgrade-before-global': 2, 'provider-action-required': 3, 'may-upgrade-after': 4, none: 5 };
/** The bucket of clusters that already break the policy, whatever their action. */
const VIOLATING = 0;

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
  if (cluster.steps.length > 0) planned.steps = cluster.steps.map((step) => ({ from: step.from, to: step.to, release: step.release, beforeGlobal: step.beforeGlobal }));
  // Revisions stored before violations were planned have none.
  const violations: ClusterUpgradePlan['violations'] | undefined = cluster.violations;
  if (violations !== undefined && violations.length > 0) {
    planned.violations = violations.map((violation) => ({
      code: violation.code,
      pool: violation.pool,
      reason: violation.reason,
      repair: violation.repair.map((move) => ({ kind: move.kind, pool: move.pool, to: move.to, reason: move.reason })),
    }));
  }
  if (cluster.wave !== null) planned.wave = cluster.wave;
  return planned;
}

/** One group of today's violations in the event's shape, listing at most `limit` of its clusters. */
export function toPlannedViolationGroup(group: PlanViolationGroup, limit = group.clusterIds.length): PlannedViolationGroup {
  return { code: group.code, reason: group.reason, clusterIds: group.clusterIds.slice(0, limit), clusterCount: group.clusterIds.length };
}

/** One issue of the plan in the event's shape, listing at most `limit` of its clusters. */
export function toPlannedIssue(issue: PlanIssue, limit = issue.clusterIds.length): PlannedIssue {
  return { code: issue.code, reason: issue.reason, clusterIds: issue.clusterIds.slice(0, limit), clusterCount: issue.clusterIds.length };
}

export function toPlannedStep(step: PlanStep): PlannedStep {
  return step.type === 'workload-wave'
    ? { type: step.type, phase: step.phase, wave: step.wave, globalRelease: step.globalRelease, clusterIds: [...step.clusterIds] }
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
    ...(plan.toVersion !== undefined ? { toVersion: plan.toVersion } : {}),
    ...(plan.route.length > 0 ? { route: [...plan.route] } : {}),
    satisfiable: plan.satisfiable,
    clusterCount: total,
    issues: [],
    clusters: [],
    changes: [],
  };
  const mapped = new Array<PlannedCluster | undefined>(total);
  const mappedAt = (index: number): PlannedCluster => (mapped[index] ??= toPlannedCluster(plan.clusters[index]!));
  const issues = plan.issues.map((issue) => toPlannedIssue(issue));
  // Revisions stored before violations were planned have none.
  const planViolations: UpgradePlan['violations'] | undefined = plan.violations;
  const violationGroups = planViolations ?? [];
  const violations = violationGroups.map((group) => toPlannedViolationGroup(group));
  if (violations.length > 0) head.violations = violations;

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

  // Violation groups and issues themselves are few and always listed; the clusters they name share
  // a quarter of the room, today's violations first.
  const skeletons = plan.issues.map((issue) => toPlannedIssue(issue, 0));
  const violationSkeletons = violationGroups.map((group) => toPlannedViolationGroup(group, 0));
  if (violationSkeletons.length > 0) head.violations = violationSkeletons;
  let room = options.maxBytes - bytes({ ...head, issues: skeletons }) - NOTE_RESERVE;
  let idRoom = Math.floor(room / 4);
  let listedIssueClusters = true;
  // Today's violations take at most half of that, so the issues that stop the plan name clusters too.
  let violationRoom = Math.floor(idRoom / 2);
  const partialViolations = violationGroups.map((group, i) => {
    let limit = 0;
    for (const id of group.clusterIds) {
      const idSize = bytes(id) + 1;
      if (idSize > violationRoom) break;
      violationRoom -= idSize;
      idRoom -= idSize;
      room -= idSize;
      limit++;
    }
    if (limit < group.clusterIds.length) listedIssueClusters = false;
    return limit === 0 ? violationSkeletons[i]! : toPlannedViolationGroup(group, limit);
  });
  if (partialViolations.length > 0) head.violations = partialViolations;
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
  const buckets: number[][] = [[], [], [], [], [], []];
  plan.clusters.forEach((cluster, index) => buckets[(cluster.violations as ClusterUpgradePlan['violations'] | undefined)?.length ? VIOLATING : PRIORITY[cluster.action]]!.push(index));
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
