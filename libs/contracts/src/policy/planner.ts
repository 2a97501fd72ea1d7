import type { z } from 'zod';
import type { ClusterModel } from '../events/common.js';
import type { ClusterAction } from '../events/upgrade.js';
import { describePolicyCode, type PolicyCode } from './codes.js';
import type { FleetCluster, FleetNodePool } from './fleet.js';
import { releaseOrder, type SupportMatrix, type UpgradeGateKind } from './matrix.js';
import { describeGateFailure, gatePosition, prereleaseReason, resolveUpgradeRequirement, type UpgradeRequirement } from './rules.js';
import { PLAIN_MOVE_TEXT, kubeletWithinSkew, movesForStep, type MoveText, type NodePoolMove } from './skew.js';
import { compareMinors, formatMinor, minorKey, minorRange, parseKubernetesVersion, parseMinor, type KubernetesMinor, type ParsedKubernetesVersion } from './version.js';

/** The actions of the UpgradePlanned event. */
export type ClusterUpgradeAction = z.infer<typeof ClusterAction>;

export type ClusterPlanCode = Extract<
  PolicyCode,
  | 'on-target'
  | 'optional-upgrade-after'
  | 'provider-managed'
  | 'below-latest-compatible'
  | 'outside-compatible-range'
  | 'newer-than-target'
  | 'older-than-supported-path'
  | 'major-version-mismatch'
  | 'version-invalid'
  | 'version-prerelease'
  | 'node-pool-version-invalid'
  | 'kubelet-newer-than-api-server'
  | 'workload-ahead-of-global'
  | 'duplicate-cluster-id'
  | 'release-unknown'
  | 'upgrade-path-unsupported'
  | 'upgrade-path-same-release'
  | 'upgrade-path-downgrade'
>;

export interface ClusterUpgradePlan {
  readonly clusterId: string;
  readonly model: ClusterModel;
  readonly distribution: string | null;
  /** The API server version as reported. */
  readonly currentVersion: string;
  /** The minor the cluster runs once its path is done (its current minor when there is none); null when blocked. */
  readonly target: string | null;
  readonly action: ClusterUpgradeAction;
  /** Control-plane minors one at a time, starting at the current minor, e.g. ['1.29', '1.30', '1.31']; [] when none. */
  readonly path: readonly string[];
  /** Node pools to move before the control-plane step that would put them out of skew. */
  readonly nodePoolMoves: readonly NodePoolMove[];
  /** 1-based wave within its phase: pre-global for 'upgrade-before-global', post-global for 'may-upgrade-after'. */
  readonly wave: number | null;
  readonly code: ClusterPlanCode;
  readonly reason: string;
}

export type PlanIssueCode = Extract<
  PolicyCode,
  'release-unknown' | 'upgrade-path-unsupported' | 'upgrade-path-same-release' | 'upgrade-path-downgrade' | 'concurrency-invalid'
> | ClusterPlanCode;

/** Why a plan cannot be carried out; cluster problems are grouped by code. */
export interface PlanIssue {
  readonly code: PlanIssueCode;
  readonly reason: string;
  readonly clusterIds: readonly string[];
}

export type PlanStep =
  | { readonly type: 'workload-wave'; readonly phase: 'pre-global' | 'post-global'; readonly wave: number; readonly clusterIds: readonly string[] }
  | {
      readonly type: 'global-upgrade';
      readonly fromRelease: string;
      readonly toRelease: string;
      /** Connected clusters whose providers must upgrade them before this step can start. */
      readonly awaitingProvider: readonly string[];
    };

export interface UpgradePlan {
  readonly fromRelease: string;
  readonly toRelease: string;
  readonly policyRevision: string;
  readonly gate: UpgradeGateKind | null;
  /** Minors that satisfy the target's gate, oldest first. */
  readonly accepted: readonly string[];
  readonly maxConcurrency: number;
  readonly satisfiable: boolean;
  readonly issues: readonly PlanIssue[];
  /** Sorted by cluster id. */
  readonly clusters: readonly ClusterUpgradePlan[];
  /** Pre-global waves, the global upgrade, post-global waves; only the pre-global waves when not satisfiable. */
  readonly steps: readonly PlanStep[];
  readonly summary: Readonly<Record<ClusterUpgradeAction, number>>;
}

export interface PlanGlobalUpgradeInput {
  readonly fleet: readonly FleetCluster[];
  readonly fromRelease: string;
  readonly toRelease: string;
  readonly matrix: SupportMatrix;
  readonly maxConcurrency: number;
}

/** Plans are built once and get their wave in place, instead of being copied for it. */
type PlanDraft = { -readonly [K in keyof ClusterUpgradePlan]: ClusterUpgradePlan[K] };

const NO_PATH: readonly string[] = Object.freeze([]);
const NO_MOVES: readonly NodePoolMove[] = Object.freeze([]);

/** What every cluster on one control-plane minor gets; computed once per minor and model class. */
interface Outcome {
  readonly action: ClusterUpgradeAction;
  readonly code: ClusterPlanCode;
  readonly reason: string;
  readonly target: string | null;
  readonly path: readonly string[];
  readonly pathMinors: readonly KubernetesMinor[];
}

/**
 * Plans upgrading the global cluster `fromRelease` -> `toRelease` for a fleet of workload clusters.
 * Pure and deterministic: the same input gives a deeply equal plan.
 */
export function planGlobalUpgrade(input: PlanGlobalUpgradeInput): UpgradePlan {
  const { fleet, fromRelease, toRelease, matrix, maxConcurrency } = input;
  const order = sortedIndexes(fleet);
  const resolved = resolveUpgradeRequirement(fromRelease, toRelease, matrix);
  const issues: PlanIssue[] = [];
  const concurrencyValid = Number.isInteger(maxConcurrency) && maxConcurrency >= 1;
  if (!resolved.ok) issues.push({ code: resolved.decision.code, reason: resolved.decision.reason, clusterIds: [] });
  if (!concurrencyValid) {
    issues.push({ code: 'concurrency-invalid', reason: `maxConcurrency must be a whole number of at least 1, got ${String(maxConcurrency)}`, clusterIds: [] });
  }

  const clusters: PlanDraft[] = new Array<PlanDraft>(order.length);
  if (!resolved.ok) {
    const { code, reason } = resolved.decision;
    for (let i = 0; i < order.length; i++) clusters[i] = blockedPlan(fleet[order[i]!]!, code, reason);
    return finish(input, null, [], clusters, issues, concurrencyValid);
  }

  const planner = new ClusterPlanner(resolved.requirement);
  for (let i = 0; i < order.length; i++) {
    const cluster = fleet[order[i]!]!;
    const duplicate = (i > 0 && fleet[order[i - 1]!]!.id === cluster.id) || (i + 1 < order.length && fleet[order[i + 1]!]!.id === cluster.id);
    clusters[i] = duplicate
      ? blockedPlan(cluster, 'duplicate-cluster-id', `cluster id "${cluster.id}" appears more than once in the fleet`)
      : planner.plan(cluster);
  }
  return finish(input, resolved.requirement.gate, resolved.requirement.accepted, clusters, issues, concurrencyValid);
}

/** Per-plan caches: versions repeat across a fleet, so each string is parsed once. */
class ClusterPlanner {
  private readonly versions = new Map<string, ParsedKubernetesVersion | string>();
  private readonly managedOutcomes = new Map<number, Outcome>();
  private readonly connectedOutcomes = new Map<number, Outcome>();
  private readonly fromOrder: number;

  constructor(private readonly requirement: UpgradeRequirement) {
    this.fromOrder = requirement.from.order;
  }

  plan(cluster: FleetCluster): PlanDraft {
    const { requirement } = this;
    if (cluster.platformRelease !== undefined) {
      const workloadOrder = releaseOrder(cluster.platformRelease);
      if (Number.isNaN(workloadOrder)) {
        return blockedPlan(cluster, 'release-unknown', `platform release "${cluster.platformRelease}" of the cluster is not a release like 4.3`);
      }
      if (workloadOrder > this.fromOrder) {
        return blockedPlan(
          cluster,
          'workload-ahead-of-global',
          `the cluster reports platform release ${cluster.platformRelease}, ahead of the global cluster's ${requirement.fromRelease}: the global cluster is always upgraded first`,
        );
      }
    }
    const version = this.parse(cluster.controlPlaneVersion);
    if (typeof version === 'string') return blockedPlan(cluster, 'version-invalid', version);
    if (version.prerelease !== undefined) return blockedPlan(cluster, 'version-prerelease', prereleaseReason(version));

    const connected = cluster.model === 'connected';
    const outcome = this.outcome(version, connected);
    if (outcome.pathMinors.length === 0) return fromOutcome(cluster, outcome, NO_MOVES, null);

    // The cluster has control-plane steps to take: its kubelets decide whether they can be taken.
    const required = outcome.action !== 'may-upgrade-after';
    let newest: KubernetesMinor | undefined;
    let oldest: KubernetesMinor | undefined;
    for (const pool of cluster.nodePools) {
      const parsed = this.parse(pool.version);
      if (typeof parsed === 'string') {
        return poolProblem(cluster, outcome, required, 'node-pool-version-invalid', `node pool ${pool.name}: ${parsed}`);
      }
      if (!newest || compareMinors(parsed, newest) > 0) newest = parsed;
      if (!oldest || compareMinors(parsed, oldest) < 0) oldest = parsed;
    }
    if (oldest && newest && (oldest.major !== version.major || newest.major !== version.major)) {
      return poolProblem(cluster, outcome, required, 'node-pool-version-invalid', `a node pool runs a different Kubernetes major version from the API server ${cluster.controlPlaneVersion}`);
    }
    if (newest && compareMinors(newest, version) > 0) {
      const pool = cluster.nodePools.find((p) => this.parse(p.version) === newest)!;
      return poolProblem(
        cluster,
        outcome,
        required,
        'kubelet-newer-than-api-server',
        `node pool ${pool.name} runs ${pool.version}, newer than the API server ${cluster.controlPlaneVersion}: a kubelet must never be newer; fix the pool before planning control-plane steps`,
      );
    }
    const finalMinor = outcome.pathMinors[outcome.pathMinors.length - 1]!;
    // The oldest kubelet is the only one that can fall out of skew; usually none does.
    if (!oldest || kubeletWithinSkew(finalMinor, oldest)) return fromOutcome(cluster, outcome, NO_MOVES, null);
    return fromOutcome(cluster, outcome, this.walkPools(cluster.nodePools, outcome.pathMinors), null);
  }

  private walkPools(pools: readonly FleetNodePool[], path: readonly KubernetesMinor[]): NodePoolMove[] {
    const minors = pools.map((p) => {
      const parsed = this.parse(p.version) as ParsedKubernetesVersion;
      return { major: parsed.major, minor: parsed.minor };
    });
    const moves: NodePoolMove[] = [];
    for (let step = 0; step + 1 < path.length; step++) movesForStep(path[step]!, path[step + 1]!, pools, minors, moves, this.moveText);
    return moves;
  }

  /** Move wording depends only on minors, so each distinct string is built once per plan. */
  private readonly minorTexts = new Map<number, string>();
  private readonly reasonTexts = new Map<number, Map<number, string>>();
  private readonly moveText: MoveText = {
    minor: (version) => {
      const key = minorKey(version);
      let text = this.minorTexts.get(key);
      if (text === undefined) this.minorTexts.set(key, (text = formatMinor(version)));
      return text;
    },
    reason: (pool, next) => {
      const poolKey = minorKey(pool);
      let byNext = this.reasonTexts.get(poolKey);
      if (byNext === undefined) this.reasonTexts.set(poolKey, (byNext = new Map<number, string>()));
      const nextKey = minorKey(next);
      let text = byNext.get(nextKey);
      if (text === undefined) byNext.set(nextKey, (text = PLAIN_MOVE_TEXT.reason(pool, next)));
      return text;
    },
  };

  private parse(text: string): ParsedKubernetesVersion | string {
    let cached = this.versions.get(text);
    if (cached === undefined) {
      const parsed = parseKubernetesVersion(text);
      cached = parsed.ok ? parsed.version : parsed.reason;
      this.versions.set(text, cached);
    }
    return cached;
  }

  private outcome(version: KubernetesMinor, connected: boolean): Outcome {
    const cache = connected ? this.connectedOutcomes : this.managedOutcomes;
    const key = minorKey(version);
    let outcome = cache.get(key);
    if (!outcome) {
      outcome = decideOutcome({ major: version.major, minor: version.minor }, connected, this.requirement);
      cache.set(key, outcome);
    }
    return outcome;
  }
}

function decideOutcome(version: KubernetesMinor, connected: boolean, requirement: UpgradeRequirement): Outcome {
  const { from, to, fromRelease, toRelease } = requirement;
  const minor = formatMinor(version);
  if (version.major !== to.newestCompatible.major) {
    return stay('blocked', 'major-version-mismatch', `Kubernetes ${minor} is a different major version from everything ${toRelease} supports`, null);
  }
  const position = gatePosition(version, requirement);
  if (position === 'above') return stay('blocked', 'newer-than-target', describeGateFailure(version, 'above', requirement).reason, null);
  if (position === 'accepted') {
    const newest = to.newestCreation;
    if (connected) {
      return compareMinors(version, newest) >= 0
        ? stay('none', 'on-target', `Kubernetes ${minor} is accepted by ${toRelease}`, minor)
        : stay('none', 'provider-managed', `Kubernetes ${minor} is accepted by ${toRelease}; later upgrades are the provider's to make`, minor);
    }
    if (compareMinors(version, newest) >= 0) {
      return stay('none', 'on-target', `Kubernetes ${minor} is accepted by ${toRelease} and is its newest version for new clusters`, minor);
    }
    return walk(
      'may-upgrade-after',
      'optional-upgrade-after',
      `Kubernetes ${minor} is accepted by ${toRelease}; the cluster may upgrade to ${formatMinor(newest)} once the global cluster is on ${toRelease}`,
      version,
      newest,
    );
  }
  const failure = describeGateFailure(version, 'below', requirement);
  const goal = requirement.oldestAccepted;
  if (connected) {
    return walk(
      'provider-action-required',
      failure.code,
      `${failure.reason}. The platform does not manage this cluster's Kubernetes: its provider must upgrade it to ${formatMinor(goal)}`,
      version,
      goal,
    );
  }
  if (compareMinors(version, from.oldestCompatible) < 0) {
    return stay(
      'blocked',
      'older-than-supported-path',
      `Kubernetes ${minor} is older than ${fromRelease} supports (${from.entry.compatible.join(', ')}), so no supported path reaches ${toRelease}'s accepted versions (${requirement.accepted.join(', ')})`,
      null,
    );
  }
  return walk('upgrade-before-global', failure.code, failure.reason, version, goal);
}

function stay(action: ClusterUpgradeAction, code: ClusterPlanCode, reason: string, target: string | null): Outcome {
  return { action, code, reason, target, path: NO_PATH, pathMinors: [] };
}

function walk(action: ClusterUpgradeAction, code: ClusterPlanCode, reason: string, from: KubernetesMinor, to: KubernetesMinor): Outcome {
  const path = Object.freeze(minorRange(from, to));
  return { action, code, reason, target: formatMinor(to), path, pathMinors: path.map((m) => parseMinor(m)!) };
}

function fromOutcome(cluster: FleetCluster, outcome: Outcome, nodePoolMoves: readonly NodePoolMove[], wave: number | null): PlanDraft {
  return {
    clusterId: cluster.id,
    model: cluster.model,
    distribution: cluster.distribution ?? null,
    currentVersion: cluster.controlPlaneVersion,
    target: outcome.target,
    action: outcome.action,
    path: outcome.path,
    nodePoolMoves,
    wave,
    code: outcome.code,
    reason: outcome.reason,
  };
}

/** A pool problem stops required steps (blocked) but only cancels optional ones. */
function poolProblem(cluster: FleetCluster, outcome: Outcome, required: boolean, code: ClusterPlanCode, reason: string): PlanDraft {
  if (required) return blockedPlan(cluster, code, reason);
  const current = formatMinor(outcome.pathMinors[0]!);
  return fromOutcome(cluster, { action: 'none', code, reason: `optional upgrade not planned: ${reason}`, target: current, path: NO_PATH, pathMinors: [] }, NO_MOVES, null);
}

function blockedPlan(cluster: FleetCluster, code: ClusterPlanCode, reason: string): PlanDraft {
  return fromOutcome(cluster, { action: 'blocked', code, reason, target: null, path: NO_PATH, pathMinors: [] }, NO_MOVES, null);
}

function finish(
  input: PlanGlobalUpgradeInput,
  gate: UpgradeGateKind | null,
  accepted: readonly string[],
  clusters: PlanDraft[],
  issues: PlanIssue[],
  concurrencyValid: boolean,
): UpgradePlan {
  const summary: Record<ClusterUpgradeAction, number> = { none: 0, 'upgrade-before-global': 0, 'may-upgrade-after': 0, 'provider-action-required': 0, blocked: 0 };
  const blockedByCode = new Map<ClusterPlanCode, string[]>();
  const awaitingProvider: string[] = [];
  for (const cluster of clusters) {
    summary[cluster.action]++;
    if (cluster.action === 'blocked') {
      const ids = blockedByCode.get(cluster.code);
      if (ids) ids.push(cluster.clusterId);
      else blockedByCode.set(cluster.code, [cluster.clusterId]);
    } else if (cluster.action === 'provider-action-required') {
      awaitingProvider.push(cluster.clusterId);
    }
  }
  // Path problems already explain why every cluster is blocked; repeating them per cluster adds nothing.
  if (gate !== null) {
    for (const [code, clusterIds] of blockedByCode) {
      issues.push({ code, reason: `${clusterIds.length} workload cluster(s) blocked: ${describePolicyCode(code)}`, clusterIds });
    }
  }
  const satisfiable = issues.length === 0;
  const steps: PlanStep[] = [];
  if (concurrencyValid && gate !== null) {
    const pre = assignWaves(clusters, 'upgrade-before-global', input.maxConcurrency);
    for (let w = 0; w < pre.length; w++) steps.push({ type: 'workload-wave', phase: 'pre-global', wave: w + 1, clusterIds: pre[w]! });
    if (satisfiable) {
      steps.push({ type: 'global-upgrade', fromRelease: input.fromRelease, toRelease: input.toRelease, awaitingProvider });
      const post = assignWaves(clusters, 'may-upgrade-after', input.maxConcurrency);
      for (let w = 0; w < post.length; w++) steps.push({ type: 'workload-wave', phase: 'post-global', wave: w + 1, clusterIds: post[w]! });
    }
  }
  return {
    fromRelease: input.fromRelease,
    toRelease: input.toRelease,
    policyRevision: input.matrix.revision,
    gate,
    accepted,
    maxConcurrency: input.maxConcurrency,
    satisfiable,
    issues,
    clusters,
    steps,
    summary,
  };
}

/**
 * Batches of at most `size` clusters. Clusters with the longest paths go first and together, so
 * no short upgrade waits in a wave for a long one; ties by cluster id. Sets each cluster's wave.
 */
function assignWaves(clusters: PlanDraft[], action: 'upgrade-before-global' | 'may-upgrade-after', size: number): string[][] {
  const byLength: number[][] = [];
  for (let i = 0; i < clusters.length; i++) {
    const cluster = clusters[i]!;
    if (cluster.action !== action) continue;
    (byLength[cluster.path.length] ??= []).push(i);
  }
  const waves: string[][] = [];
  let current: string[] = [];
  for (let length = byLength.length - 1; length >= 0; length--) {
    for (const index of byLength[length] ?? []) {
      if (current.length === size) {
        waves.push(current);
        current = [];
      }
      const cluster = clusters[index]!;
      current.push(cluster.clusterId);
      cluster.wave = waves.length + 1;
    }
  }
  if (current.length > 0) waves.push(current);
  return waves;
}

/**
 * Fleet positions in cluster-id order (UTF-16 code units, locale-independent), duplicates in input
 * order. Fleets read from a database usually arrive sorted already: then no sort runs at all.
 */
function sortedIndexes(fleet: readonly FleetCluster[]): number[] {
  const count = fleet.length;
  const order = new Array<number>(count);
  const ids = new Array<string>(count);
  let sorted = true;
  for (let i = 0; i < count; i++) {
    order[i] = i;
    ids[i] = fleet[i]!.id;
    if (i > 0 && ids[i - 1]! > ids[i]!) sorted = false;
  }
  if (sorted) return order;
  return order.sort((a, b) => {
    const x = ids[a]!;
    const y = ids[b]!;
    return x < y ? -1 : x > y ? 1 : a - b;
  });
}
