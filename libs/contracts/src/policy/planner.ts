import type { z } from 'zod';
import type { ClusterModel } from '../events/common.js';
import type { ClusterAction } from '../events/upgrade.js';
import { describePolicyCode, type PolicyCode } from './codes.js';
import type { FleetCluster, FleetNodePool } from './fleet.js';
import { releaseOrder, type SupportMatrix, type UpgradeGateKind } from './matrix.js';
import { resolveUpgradeRoute, type RouteResult, type UpgradeRoute } from './route.js';
import { describeGateFailure, gatePosition, prereleaseReason } from './rules.js';
import { PLAIN_MOVE_TEXT, kubeletWithinSkew, movesForStep, type MoveText, type NodePoolMove } from './skew.js';
import { NO_VIOLATIONS, ViolationJudge, type PolicyViolation, type ViolationCode } from './violations.js';
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
  | 'incompatible'
>;

/** One control-plane step of a cluster: which release allows it and which global upgrade it comes before. */
export interface ClusterStep {
  readonly from: string;
  readonly to: string;
  /** The release the global cluster is on while the step is taken; `to` is compatible with it. */
  readonly release: string;
  /** The global upgrade (its target release) the step must be done before; null: after the last one, optional. */
  readonly beforeGlobal: string | null;
}

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
  /** The steps of `path`, each with the release that allows it and the global upgrade it precedes. */
  readonly steps: readonly ClusterStep[];
  /** Node pools to move before the control-plane step that would put them out of skew. */
  readonly nodePoolMoves: readonly NodePoolMove[];
  /** 1-based wave within its phase: pre-global for 'upgrade-before-global' (its first), post-global for 'may-upgrade-after'. */
  readonly wave: number | null;
  readonly code: ClusterPlanCode;
  readonly reason: string;
  /** What the cluster already breaks today (against the global cluster's current release), with the moves that repair it. */
  readonly violations: readonly PolicyViolation[];
}

export type PlanIssueCode = Extract<
  PolicyCode,
  'release-unknown' | 'upgrade-path-unsupported' | 'upgrade-path-same-release' | 'upgrade-path-downgrade' | 'concurrency-invalid' | 'version-invalid' | 'incompatible'
> | ClusterPlanCode;

/** Why a plan cannot be carried out; cluster problems are grouped by code. */
export interface PlanIssue {
  readonly code: PlanIssueCode;
  readonly reason: string;
  readonly clusterIds: readonly string[];
}

/** Clusters that already break the policy today, grouped by code; each cluster's `violations` has the detail and repair. */
export interface PlanViolationGroup {
  readonly code: ViolationCode;
  readonly reason: string;
  readonly clusterIds: readonly string[];
}

export type PlanStep =
  | {
      readonly type: 'workload-wave';
      readonly phase: 'pre-global' | 'post-global';
      /** Numbered across the whole phase, also when several global upgrades split it. */
      readonly wave: number;
      /** The release the global cluster is on during the wave. */
      readonly globalRelease: string;
      readonly clusterIds: readonly string[];
    }
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
  /** The Kubernetes minor asked for, when one was: clusters go on to it rather than to toRelease's newest. */
  readonly toVersion?: string;
  /** The releases the global cluster goes through, fromRelease first; [fromRelease, toRelease] for a direct upgrade, [] when there is no route. */
  readonly route: readonly string[];
  readonly policyRevision: string;
  /** The gate of the last global upgrade. */
  readonly gate: UpgradeGateKind | null;
  /** Minors that satisfy the last global upgrade's gate, oldest first. */
  readonly accepted: readonly string[];
  readonly maxConcurrency: number;
  /** What the fleet already breaks today: listed first, whatever was asked. */
  readonly violations: readonly PlanViolationGroup[];
  readonly satisfiable: boolean;
  readonly issues: readonly PlanIssue[];
  /** Sorted by cluster id. */
  readonly clusters: readonly ClusterUpgradePlan[];
  /** For each global upgrade its pre-global waves then itself, then the post-global waves; only the first pre-global waves when not satisfiable. */
  readonly steps: readonly PlanStep[];
  readonly summary: Readonly<Record<ClusterUpgradeAction, number>>;
}

export interface PlanGlobalUpgradeInput {
  readonly fleet: readonly FleetCluster[];
  readonly fromRelease: string;
  readonly toRelease: string;
  readonly matrix: SupportMatrix;
  readonly maxConcurrency: number;
  /** Releases the global cluster must pass through; by default the route with the fewest global upgrades. */
  readonly via?: readonly string[];
  /**
   * The Kubernetes minor the clusters should reach (one of toRelease's compatible minors, at or above
   * what its gate accepts): every cluster below it gets every single-minor step to it, each with the
   * release that allows it. By default, toRelease's newest minor for new clusters.
   */
  readonly toVersion?: string;
}

/** Plans are built once; a wave change copies the plan rather than changing one a previous plan holds. */
type PlanDraft = { -readonly [K in keyof ClusterUpgradePlan]: ClusterUpgradePlan[K] };

const NO_PATH: readonly string[] = Object.freeze([]);
const NO_STEPS: readonly ClusterStep[] = Object.freeze([]);
const NO_MOVES: readonly NodePoolMove[] = Object.freeze([]);
const NO_SEGMENTS: readonly number[] = Object.freeze([]);

/** What every cluster on one control-plane minor gets; computed once per minor and model class. */
interface Outcome {
  readonly action: ClusterUpgradeAction;
  readonly code: ClusterPlanCode;
  readonly reason: string;
  readonly target: string | null;
  readonly path: readonly string[];
  readonly pathMinors: readonly KubernetesMinor[];
  readonly steps: readonly ClusterStep[];
  /** Steps per phase: one count per global upgrade (before it), then after the last. */
  readonly segments: readonly number[];
}

/**
 * Plans upgrading the global cluster `fromRelease` -> `toRelease` for a fleet of workload clusters.
 * Pure and deterministic: the same input gives a deeply equal plan.
 */
export function planGlobalUpgrade(input: PlanGlobalUpgradeInput): UpgradePlan {
  return new FleetPlanner(input).plan(input.fleet);
}

/**
 * A plan kept up to date: `plan` plans a whole fleet, `update` re-plans only the clusters that
 * changed and redoes the fleet-wide parts (waves, issues, summary), so one changed fact costs
 * a fraction of a full plan. `update` gives what `planGlobalUpgrade` would give for the fleet as
 * changed (ids are unique in it). Plans it returned earlier are never modified.
 */
export class FleetPlanner {
  private readonly route: RouteResult;
  private readonly planner: ClusterPlanner | undefined;
  private readonly judge: ViolationJudge;
  private readonly concurrencyValid: boolean;
  // Per cluster, in id order. The numeric arrays mirror the drafts so that the fleet-wide passes
  // (summary, groups, waves) read numbers, not 100,000 objects.
  private ids: string[] = [];
  private drafts: ClusterUpgradePlan[] = [];
  private segments: (readonly number[])[] = [];
  /** ACTIONS index of each draft's action. */
  private actions: number[] = [];
  /** 1 when the draft has violations. */
  private flagged: number[] = [];
  /** The wave each draft carries, 0 for none. */
  private waveNow: number[] = [];
  /** Drafts made since the last plan was returned: no plan holds them yet, so their wave is set in place. */
  private readonly fresh = new Set<ClusterUpgradePlan>();
  private allFresh = false;
  /** Kept up to date cluster by cluster: clusters per action, blocked ids by code, violating ids by code (sorted). */
  private counts = [0, 0, 0, 0, 0];
  private blockedGroups = new Map<ClusterPlanCode, string[]>();
  private violationGroups = new Map<ViolationCode, string[]>();
  /** Group arrays made since the last plan was returned (changed in place); the others are copied before a change. */
  private readonly ownGroups = new Set<string[]>();
  /** Ids whose plan object the last `update` replaced (re-planned, removed or moved to another wave); undefined after `plan`. */
  private touched: Set<string> | undefined;

  /**
   * The clusters whose plans may differ between the plan `update` returned and the one before it:
   * every other cluster's plan is the very same object in both. Undefined when the last call was
   * `plan` (everything may differ).
   */
  changedIds(): ReadonlySet<string> | undefined {
    return this.touched;
  }

  constructor(private readonly parameters: Omit<PlanGlobalUpgradeInput, 'fleet'>) {
    const { fromRelease, toRelease, matrix, maxConcurrency, via, toVersion } = parameters;
    this.route = resolveUpgradeRoute(fromRelease, toRelease, matrix, via, toVersion);
    this.planner = this.route.ok ? new ClusterPlanner(this.route.route) : undefined;
    this.judge = new ViolationJudge(matrix, fromRelease);
    this.concurrencyValid = Number.isInteger(maxConcurrency) && maxConcurrency >= 1;
  }

  plan(fleet: readonly FleetCluster[]): UpgradePlan {
    const order = sortedIndexes(fleet);
    const count = order.length;
    this.ids = new Array<string>(count);
    this.drafts = new Array<ClusterUpgradePlan>(count);
    this.segments = new Array<readonly number[]>(count);
    this.actions = new Array<number>(count).fill(0);
    this.flagged = new Array<number>(count).fill(0);
    this.waveNow = new Array<number>(count).fill(0);
    this.fresh.clear();
    this.allFresh = true;
    this.touched = undefined;
    for (let i = 0; i < count; i++) {
      const cluster = fleet[order[i]!]!;
      const duplicate = (i > 0 && fleet[order[i - 1]!]!.id === cluster.id) || (i + 1 < count && fleet[order[i + 1]!]!.id === cluster.id);
      this.ids[i] = cluster.id;
      this.place(i, cluster, duplicate);
    }
    this.counts = [0, 0, 0, 0, 0];
    this.blockedGroups = new Map();
    this.violationGroups = new Map();
    for (let i = 0; i < count; i++) {
      this.counts[this.actions[i]!]!++;
      if (this.actions[i] === BLOCKED) group(this.blockedGroups, this.drafts[i]!.code, this.ids[i]!);
      if (this.flagged[i] === 1) {
        const list = this.drafts[i]!.violations;
        for (let v = 0; v < list.length; v++) group(this.violationGroups, list[v]!.code, this.ids[i]!);
      }
    }
    return this.finish();
  }

  /** Re-plans the clusters given (added or changed) and drops the ids removed. */
  update(changed: readonly FleetCluster[], removed: readonly string[] = []): UpgradePlan {
    // These arrays are this planner's own: plans get a copy of the clusters (see finish).
    const touched = (this.touched = new Set<string>());
    for (const id of removed) {
      const at = lowerBound(this.ids, id);
      if (this.ids[at] !== id) continue;
      touched.add(id);
      this.leaveGroups(at);
      for (const list of this.lists()) list.splice(at, 1);
    }
    for (const cluster of changed) {
      touched.add(cluster.id);
      const at = lowerBound(this.ids, cluster.id);
      if (this.ids[at] === cluster.id) this.leaveGroups(at);
      else {
        this.ids.splice(at, 0, cluster.id);
        this.drafts.splice(at, 0, undefined as unknown as ClusterUpgradePlan);
        this.segments.splice(at, 0, NO_SEGMENTS);
        this.actions.splice(at, 0, 0);
        this.flagged.splice(at, 0, 0);
        this.waveNow.splice(at, 0, 0);
      }
      this.place(at, cluster, false);
      this.joinGroups(at);
    }
    return this.finish();
  }

  private leaveGroups(index: number): void {
    const id = this.ids[index]!;
    const draft = this.drafts[index]!;
    this.counts[this.actions[index]!]!--;
    if (this.actions[index] === BLOCKED) this.regroup(this.blockedGroups, draft.code, id, false);
    for (const violation of draft.violations) this.regroup(this.violationGroups, violation.code, id, false);
  }

  private joinGroups(index: number): void {
    const id = this.ids[index]!;
    const draft = this.drafts[index]!;
    this.counts[this.actions[index]!]!++;
    if (this.actions[index] === BLOCKED) this.regroup(this.blockedGroups, draft.code, id, true);
    for (const violation of draft.violations) this.regroup(this.violationGroups, violation.code, id, true);
  }

  /** Adds or removes one id of a sorted group, copying a group a returned plan holds first. */
  private regroup<K>(groups: Map<K, string[]>, key: K, id: string, join: boolean): void {
    let ids = groups.get(key);
    const at = ids ? lowerBound(ids, id) : 0;
    const present = ids !== undefined && ids[at] === id;
    if (join === present) return;
    if (!ids) {
      ids = [];
      this.ownGroups.add(ids);
      groups.set(key, ids);
    } else if (!this.ownGroups.has(ids)) {
      ids = ids.slice();
      this.ownGroups.add(ids);
      groups.set(key, ids);
    }
    if (join) ids.splice(at, 0, id);
    else if (ids.length === 1) groups.delete(key);
    else ids.splice(at, 1);
  }

  private lists(): unknown[][] {
    return [this.ids, this.drafts, this.segments, this.actions, this.flagged, this.waveNow];
  }

  private place(index: number, cluster: FleetCluster, duplicate: boolean): void {
    let draft: PlanDraft;
    let segments = NO_SEGMENTS;
    if (!this.route.ok) {
      draft = blockedPlan(cluster, this.route.problem.code, this.route.problem.reason);
    } else if (duplicate) {
      draft = blockedPlan(cluster, 'duplicate-cluster-id', `cluster id "${cluster.id}" appears more than once in the fleet`);
    } else {
      const planned = this.planner!.plan(cluster);
      draft = planned.draft;
      segments = planned.segments;
    }
    draft.violations = this.judge.judge(cluster);
    this.drafts[index] = draft;
    if (!this.allFresh) this.fresh.add(draft);
    this.segments[index] = segments;
    this.actions[index] = ACTION_INDEX[draft.action];
    this.flagged[index] = draft.violations.length > 0 ? 1 : 0;
    this.waveNow[index] = 0;
  }

  private finish(): UpgradePlan {
    const { fromRelease, toRelease, matrix, maxConcurrency } = this.parameters;
    const { ids, drafts: clusters, actions, segments } = this;
    const count = ids.length;
    const route = this.route.ok ? this.route.route : undefined;
    const hops = route?.hops.length ?? 0;
    const issues: PlanIssue[] = [];
    if (!this.route.ok) issues.push({ code: this.route.problem.code, reason: this.route.problem.reason, clusterIds: [] });
    if (!this.concurrencyValid) {
      issues.push({ code: 'concurrency-invalid', reason: `maxConcurrency must be a whole number of at least 1, got ${String(maxConcurrency)}`, clusterIds: [] });
    }
    const { counts, violationGroups } = this;
    const summary = {} as Record<ClusterUpgradeAction, number>;
    for (let a = 0; a < ACTIONS.length; a++) summary[ACTIONS[a]!] = counts[a]!;
    // Groups in the order their first cluster comes in, as a pass over the fleet would find them.
    const blockedByCode = [...this.blockedGroups].sort(([, a], [, b]) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
    this.ownGroups.clear();
    const violations: PlanViolationGroup[] = [];
    for (const code of VIOLATION_ORDER) {
      const clusterIds = violationGroups.get(code);
      if (clusterIds) violations.push({ code, reason: `${clusterIds.length} workload cluster(s) already break the policy: ${describePolicyCode(code)}`, clusterIds });
    }
    // Path problems already explain why every cluster is blocked; repeating them per cluster adds nothing.
    if (route) {
      for (const [code, clusterIds] of blockedByCode) {
        issues.push({ code, reason: `${clusterIds.length} workload cluster(s) blocked: ${describePolicyCode(code)}`, clusterIds });
      }
    }
    const satisfiable = issues.length === 0;
    const steps: PlanStep[] = [];
    const waveOf = new Int32Array(count);
    if (this.concurrencyValid && route) {
      let wave = 0;
      for (let h = 0; h < hops && (h === 0 || satisfiable); h++) {
        const hop = route.hops[h]!;
        for (const clusterIds of this.waves(h, false, waveOf, wave)) {
          steps.push({ type: 'workload-wave', phase: 'pre-global', wave: ++wave, globalRelease: hop.fromRelease, clusterIds });
        }
        if (!satisfiable) break;
        const awaitingProvider: string[] = [];
        for (let i = 0; i < count; i++) {
          if (actions[i] === PROVIDER && (segments[i]![h] ?? 0) > 0) awaitingProvider.push(ids[i]!);
        }
        steps.push({ type: 'global-upgrade', fromRelease: hop.fromRelease, toRelease: hop.toRelease, awaitingProvider });
      }
      if (satisfiable) {
        let wave = 0;
        for (const clusterIds of this.waves(hops, true, waveOf, 0)) {
          steps.push({ type: 'workload-wave', phase: 'post-global', wave: ++wave, globalRelease: toRelease, clusterIds });
        }
      }
    }
    // A cluster's wave is its first. Drafts no plan holds yet take it in place; others are copied.
    const { fresh, allFresh, waveNow } = this;
    for (let i = 0; i < count; i++) {
      const wave = waveOf[i]!;
      if (waveNow[i] === wave) continue;
      waveNow[i] = wave;
      const cluster = clusters[i]!;
      if (allFresh || fresh.has(cluster)) (cluster as PlanDraft).wave = wave === 0 ? null : wave;
      else clusters[i] = { ...cluster, wave: wave === 0 ? null : wave };
      this.touched?.add(ids[i]!);
    }
    this.allFresh = false;
    fresh.clear();
    const last = route?.hops[hops - 1];
    return {
      fromRelease,
      toRelease,
      ...(route?.targetVersion ? { toVersion: formatMinor(route.targetVersion) } : {}),
      route: route?.releases ?? NO_PATH,
      policyRevision: matrix.revision,
      gate: last?.gate ?? null,
      accepted: last?.accepted ?? NO_PATH,
      maxConcurrency,
      violations,
      satisfiable,
      issues,
      clusters: clusters.slice(),
      steps,
      summary,
    };
  }

  /**
   * Batches of at most maxConcurrency clusters of one phase (post-global: optional steps too).
   * Clusters with the most steps in it go first and together, so no short upgrade waits in a wave
   * for a long one; ties by cluster id. Records each cluster's first wave in `waveOf` (numbered from `offset`).
   */
  private waves(phase: number, postGlobal: boolean, waveOf: Int32Array, offset: number): string[][] {
    const size = this.parameters.maxConcurrency;
    const { ids, actions, segments } = this;
    const byLength: number[][] = [];
    for (let i = 0; i < ids.length; i++) {
      const action = actions[i]!;
      if (action !== BEFORE_GLOBAL && !(postGlobal && action === AFTER_GLOBAL)) continue;
      const length = segments[i]![phase] ?? 0;
      if (length > 0) (byLength[length] ??= []).push(i);
    }
    const waves: string[][] = [];
    let current: string[] = [];
    for (let length = byLength.length - 1; length > 0; length--) {
      for (const index of byLength[length] ?? []) {
        if (current.length === size) {
          waves.push(current);
          current = [];
        }
        current.push(ids[index]!);
        if (waveOf[index] === 0) waveOf[index] = offset + waves.length + 1;
      }
    }
    if (current.length > 0) waves.push(current);
    return waves;
  }
}

const ACTIONS: readonly ClusterUpgradeAction[] = ['none', 'upgrade-before-global', 'may-upgrade-after', 'provider-action-required', 'blocked'];
const ACTION_INDEX = Object.fromEntries(ACTIONS.map((action, index) => [action, index])) as Record<ClusterUpgradeAction, number>;
const BEFORE_GLOBAL = ACTION_INDEX['upgrade-before-global'];
const AFTER_GLOBAL = ACTION_INDEX['may-upgrade-after'];
const PROVIDER = ACTION_INDEX['provider-action-required'];
const BLOCKED = ACTION_INDEX.blocked;
const VIOLATION_ORDER: readonly ViolationCode[] = ['workload-ahead-of-global', 'incompatible', 'onboard-out-of-range', 'kubelet-newer-than-api-server', 'kubelet-too-old'];

/** Adds an id to its group once, even when several pools of a cluster break the same rule. */
function group<K>(map: Map<K, string[]>, key: K, id: string): void {
  const ids = map.get(key);
  if (ids) {
    if (ids[ids.length - 1] !== id) ids.push(id);
  }
  else map.set(key, [id]);
}

/** First position whose id is not below `id` in a sorted list. */
function lowerBound(ids: readonly string[], id: string): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (ids[middle]! < id) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Per-plan caches: versions repeat across a fleet, so each string is parsed once. */
class ClusterPlanner {
  private readonly versions = new Map<string, ParsedKubernetesVersion | string>();
  private readonly managedOutcomes = new Map<number, Outcome>();
  private readonly connectedOutcomes = new Map<number, Outcome>();
  private readonly fromOrder: number;

  constructor(private readonly route: UpgradeRoute) {
    this.fromOrder = route.hops[0]!.from.order;
  }

  plan(cluster: FleetCluster): { draft: PlanDraft; segments: readonly number[] } {
    const draft = this.draft(cluster);
    return { draft: draft.plan, segments: draft.outcome?.segments ?? NO_SEGMENTS };
  }

  private draft(cluster: FleetCluster): { plan: PlanDraft; outcome?: Outcome } {
    const { route } = this;
    if (cluster.platformRelease !== undefined) {
      const workloadOrder = releaseOrder(cluster.platformRelease);
      if (Number.isNaN(workloadOrder)) {
        return { plan: blockedPlan(cluster, 'release-unknown', `platform release "${cluster.platformRelease}" of the cluster is not a release like 4.3`) };
      }
      if (workloadOrder > this.fromOrder) {
        return {
          plan: blockedPlan(
            cluster,
            'workload-ahead-of-global',
            `the cluster reports platform release ${cluster.platformRelease}, ahead of the global cluster's ${route.fromRelease}: the global cluster is always upgraded first`,
          ),
        };
      }
    }
    const version = this.parse(cluster.controlPlaneVersion);
    if (typeof version === 'string') return { plan: blockedPlan(cluster, 'version-invalid', version) };
    if (version.prerelease !== undefined) return { plan: blockedPlan(cluster, 'version-prerelease', prereleaseReason(version)) };

    const connected = cluster.model === 'connected';
    const outcome = this.outcome(version, connected);
    if (outcome.pathMinors.length === 0) return { plan: fromOutcome(cluster, outcome, NO_MOVES), outcome };

    // The cluster has control-plane steps to take: its kubelets decide whether they can be taken.
    const required = outcome.action !== 'may-upgrade-after';
    let newest: KubernetesMinor | undefined;
    let oldest: KubernetesMinor | undefined;
    for (const pool of cluster.nodePools) {
      const parsed = this.parse(pool.version);
      if (typeof parsed === 'string') {
        return { plan: poolProblem(cluster, outcome, required, 'node-pool-version-invalid', `node pool ${pool.name}: ${parsed}`) };
      }
      if (!newest || compareMinors(parsed, newest) > 0) newest = parsed;
      if (!oldest || compareMinors(parsed, oldest) < 0) oldest = parsed;
    }
    if (oldest && newest && (oldest.major !== version.major || newest.major !== version.major)) {
      return {
        plan: poolProblem(cluster, outcome, required, 'node-pool-version-invalid', `a node pool runs a different Kubernetes major version from the API server ${cluster.controlPlaneVersion}`),
      };
    }
    if (newest && compareMinors(newest, version) > 0) {
      const pool = cluster.nodePools.find((p) => this.parse(p.version) === newest)!;
      return {
        plan: poolProblem(
          cluster,
          outcome,
          required,
          'kubelet-newer-than-api-server',
          `node pool ${pool.name} runs ${pool.version}, newer than the API server ${cluster.controlPlaneVersion}: a kubelet must never be newer; fix the pool before planning control-plane steps`,
        ),
      };
    }
    const finalMinor = outcome.pathMinors[outcome.pathMinors.length - 1]!;
    // The oldest kubelet is the only one that can fall out of skew; usually none does.
    if (!oldest || kubeletWithinSkew(finalMinor, oldest)) return { plan: fromOutcome(cluster, outcome, NO_MOVES), outcome };
    return { plan: fromOutcome(cluster, outcome, this.walkPools(cluster.nodePools, outcome.pathMinors)), outcome };
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
      outcome = decideOutcome({ major: version.major, minor: version.minor }, connected, this.route);
      cache.set(key, outcome);
    }
    return outcome;
  }
}

/**
 * Where one control-plane minor goes along the route: before each global upgrade, up to what its
 * gate accepts (the smallest change that clears it), then on to the last release's newest
 * creation minor after the last one (optional). Connected clusters' moves are their providers'.
 */
function decideOutcome(version: KubernetesMinor, connected: boolean, route: UpgradeRoute): Outcome {
  const { hops, fromRelease, toRelease } = route;
  const first = hops[0]!;
  const last = hops[hops.length - 1]!;
  const minor = formatMinor(version);
  if (version.major !== last.to.newestCompatible.major) {
    return stay('blocked', 'major-version-mismatch', `Kubernetes ${minor} is a different major version from everything ${toRelease} supports`, null);
  }
  const steps: ClusterStep[] = [];
  const segments = new Array<number>(hops.length + 1).fill(0);
  let at = version;
  let failure: { code: 'below-latest-compatible' | 'outside-compatible-range'; reason: string } | undefined;
  for (let h = 0; h < hops.length; h++) {
    const hop = hops[h]!;
    const position = gatePosition(at, hop);
    if (position === 'above') return stay('blocked', 'newer-than-target', describeGateFailure(at, 'above', hop).reason, null);
    if (position === 'accepted') continue;
    if (!connected && h === 0 && compareMinors(at, first.from.oldestCompatible) < 0) {
      return stay(
        'blocked',
        'older-than-supported-path',
        `Kubernetes ${minor} is older than ${fromRelease} supports (${first.from.entry.compatible.join(', ')}), so no supported path reaches ${hop.toRelease}'s accepted versions (${hop.accepted.join(', ')})`,
        null,
      );
    }
    failure ??= describeGateFailure(at, 'below', hop);
    segments[h] = addSteps(steps, at, hop.oldestAccepted, hop.fromRelease, hop.toRelease);
    at = hop.oldestAccepted;
  }
  // What the clusters go on to after the last global upgrade: the version asked for, or the newest for new clusters.
  const newest = route.targetVersion ?? last.to.newestCreation;
  if (failure) {
    if (connected) {
      return walk(
        'provider-action-required',
        failure.code,
        `${failure.reason}. The platform does not manage this cluster's Kubernetes: its provider must upgrade it to ${formatMinor(at)}`,
        version,
        steps,
        segments,
      );
    }
    let reason = failure.reason;
    if (compareMinors(at, newest) < 0) {
      segments[hops.length] = addSteps(steps, at, newest, toRelease, null);
      reason += `; afterwards it may go on to ${formatMinor(newest)} once the global cluster is on ${toRelease}`;
    }
    return walk('upgrade-before-global', failure.code, reason, version, steps, segments);
  }
  if (connected) {
    return compareMinors(version, newest) >= 0
      ? stay('none', 'on-target', `Kubernetes ${minor} is accepted by ${toRelease}`, minor)
      : stay('none', 'provider-managed', `Kubernetes ${minor} is accepted by ${toRelease}; later upgrades are the provider's to make`, minor);
  }
  if (compareMinors(version, newest) >= 0) {
    const where = !route.targetVersion
      ? 'is its newest version for new clusters'
      : compareMinors(version, newest) === 0
        ? 'is the target version'
        : `is newer than the target version ${formatMinor(newest)}`;
    return stay('none', 'on-target', `Kubernetes ${minor} is accepted by ${toRelease} and ${where}`, minor);
  }
  segments[hops.length] = addSteps(steps, version, newest, toRelease, null);
  return walk(
    'may-upgrade-after',
    'optional-upgrade-after',
    `Kubernetes ${minor} is accepted by ${toRelease}; the cluster may upgrade to ${formatMinor(newest)} once the global cluster is on ${toRelease}`,
    version,
    steps,
    segments,
  );
}

/** Appends the one-minor steps from -> to, taken while the global cluster is on `release`; returns how many. */
function addSteps(out: ClusterStep[], from: KubernetesMinor, to: KubernetesMinor, release: string, beforeGlobal: string | null): number {
  const minors = minorRange(from, to);
  for (let i = 0; i + 1 < minors.length; i++) out.push(Object.freeze({ from: minors[i]!, to: minors[i + 1]!, release, beforeGlobal }));
  return minors.length - 1;
}

function stay(action: ClusterUpgradeAction, code: ClusterPlanCode, reason: string, target: string | null): Outcome {
  return { action, code, reason, target, path: NO_PATH, pathMinors: [], steps: NO_STEPS, segments: NO_SEGMENTS };
}

function walk(action: ClusterUpgradeAction, code: ClusterPlanCode, reason: string, from: KubernetesMinor, steps: ClusterStep[], segments: number[]): Outcome {
  const path = Object.freeze([formatMinor(from), ...steps.map((step) => step.to)]);
  return {
    action,
    code,
    reason,
    target: path[path.length - 1]!,
    path,
    pathMinors: path.map((m) => parseMinor(m)!),
    steps: Object.freeze(steps),
    segments: Object.freeze(segments),
  };
}

function fromOutcome(cluster: FleetCluster, outcome: Outcome, nodePoolMoves: readonly NodePoolMove[]): PlanDraft {
  return {
    clusterId: cluster.id,
    model: cluster.model,
    distribution: cluster.distribution ?? null,
    currentVersion: cluster.controlPlaneVersion,
    target: outcome.target,
    action: outcome.action,
    path: outcome.path,
    steps: outcome.steps,
    nodePoolMoves,
    wave: null,
    code: outcome.code,
    reason: outcome.reason,
    violations: NO_VIOLATIONS,
  };
}

/** A pool problem stops required steps (blocked) but only cancels optional ones. */
function poolProblem(cluster: FleetCluster, outcome: Outcome, required: boolean, code: ClusterPlanCode, reason: string): PlanDraft {
  if (required) return blockedPlan(cluster, code, reason);
  const current = formatMinor(outcome.pathMinors[0]!);
  return fromOutcome(cluster, { ...stay('none', code, `optional upgrade not planned: ${reason}`, current) }, NO_MOVES);
}

function blockedPlan(cluster: FleetCluster, code: ClusterPlanCode, reason: string): PlanDraft {
  return fromOutcome(cluster, stay('blocked', code, reason, null), NO_MOVES);
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
