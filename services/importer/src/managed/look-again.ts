import type { CloudProviderName } from '../clouds/cloud-provider.js';

/**
 * When a cluster waiting on its cloud is looked at again. A cloud operation takes minutes and is
 * not done before its typical time: looking every few seconds meanwhile only spends the account's
 * request budget (each look is two to five calls), and the cloud throttles every cluster of the
 * account for it. So the first look after a step is started comes when the operation can be due,
 * and the looks after that come at an eighth of that time: a slower operation is seen done at most
 * an eighth of its typical time late.
 *
 * The typical time is what this process has seen of that kind of operation at that cloud
 * (`ObservedDurations`: a low quantile of the last durations, from each start until it was seen
 * done), and until it has seen a few, what the clouds document (`TYPICAL_OPERATION_MS`).
 */

/** The kinds of cloud operation a step starts: a step key's first segment (`create-node-group/workers`). */
export const OPERATION_KINDS = ['create-cluster', 'create-node-group', 'scale-node-group', 'upgrade-cluster', 'upgrade-node-group', 'delete-node-group', 'delete-cluster'] as const;
export type OperationKind = (typeof OPERATION_KINDS)[number];

/**
 * Typical times at each cloud (ms), from what the clouds document and what people report: an EKS
 * control plane takes about ten minutes and a managed node group about five, AKS and GKE control
 * planes five to ten (their node pools come up with them), their pools a few minutes. The drop
 * of a GKE bootstrap pool (a cluster asked for with no node group) is timed as a pool's deletion.
 */
export const TYPICAL_OPERATION_MS: Record<CloudProviderName, Record<OperationKind, number>> = {
  eks: {
    'create-cluster': 600_000,
    'create-node-group': 300_000,
    'scale-node-group': 120_000,
    'upgrade-cluster': 1_200_000,
    'upgrade-node-group': 600_000,
    'delete-node-group': 300_000,
    'delete-cluster': 300_000,
  },
  aks: {
    'create-cluster': 480_000,
    'create-node-group': 240_000,
    'scale-node-group': 120_000,
    'upgrade-cluster': 900_000,
    'upgrade-node-group': 600_000,
    'delete-node-group': 180_000,
    'delete-cluster': 300_000,
  },
  gke: {
    'create-cluster': 420_000,
    'create-node-group': 150_000,
    'scale-node-group': 120_000,
    'upgrade-cluster': 900_000,
    'upgrade-node-group': 600_000,
    'delete-node-group': 120_000,
    'delete-cluster': 240_000,
  },
};

/** Looks after the first one come at this share of the operation's typical time. */
export const LOOK_AGAIN_SHARE = 1 / 8;

export interface LookAgainPolicy {
  /** The least time between two looks at one cluster, whatever the operation. */
  pollIntervalMs: number;
  /**
   * Typical times are divided by this (default 1): a test or a benchmark whose clouds run faster
   * than the real ones says how much faster. Durations observed are taken as they are.
   */
  operationTimeScale?: number;
  /** What this process has seen the operations take. */
  observed?: ObservedDurations;
}

/** Durations kept per cloud and kind of operation: the last ones say how the cloud runs now. */
export const OBSERVED_DURATIONS_KEPT = 50;
/** Seen fewer times than this, a kind of operation keeps its documented time. */
export const MIN_OBSERVED_DURATIONS = 3;
/**
 * The quantile of the durations seen that is taken as typical: each was seen done up to one look
 * late, so the low end is nearer what the operation took; most of them are done by then.
 */
export const OBSERVED_QUANTILE = 0.25;

/**
 * How long each kind of operation took at each cloud, from when its step started it until the
 * reconciler saw it done, the last OBSERVED_DURATIONS_KEPT of them. In memory: a restarted process
 * starts again from the documented times.
 */
export class ObservedDurations {
  private readonly seen = new Map<string, number[]>();

  record(provider: CloudProviderName, kind: OperationKind, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const key = `${provider}/${kind}`;
    const durations = this.seen.get(key) ?? [];
    durations.push(ms);
    if (durations.length > OBSERVED_DURATIONS_KEPT) durations.shift();
    this.seen.set(key, durations);
  }

  /** The typical duration seen (OBSERVED_QUANTILE), or undefined when seen too few times. */
  typical(provider: CloudProviderName, kind: OperationKind): number | undefined {
    const durations = this.seen.get(`${provider}/${kind}`);
    if (durations === undefined || durations.length < MIN_OBSERVED_DURATIONS) return undefined;
    const sorted = [...durations].sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) * OBSERVED_QUANTILE)];
  }
}

/** The operation a step key names, or null (`check-version`, no step). */
export function operationKindOf(step: string | null): OperationKind | null {
  if (step === null) return null;
  const kind = step.split('/', 1)[0];
  return OPERATION_KINDS.find((candidate) => candidate === kind) ?? null;
}

function typicalMs(provider: CloudProviderName, step: string | null, policy: LookAgainPolicy): number {
  const kind = operationKindOf(step);
  if (kind === null) return 0;
  const observed = policy.observed?.typical(provider, kind);
  if (observed !== undefined) return observed;
  const scale = policy.operationTimeScale ?? 1;
  return TYPICAL_OPERATION_MS[provider][kind] / (Number.isFinite(scale) && scale > 0 ? scale : 1);
}

/** After starting a step: when its operation can be done. */
export function firstLookMs(provider: CloudProviderName, step: string, policy: LookAgainPolicy): number {
  return Math.max(policy.pollIntervalMs, Math.round(typicalMs(provider, step, policy)));
}

/**
 * The cloud still at work on the step last started: the next look. With `elapsedMs`, how long ago
 * the operation was started, it is not due before the operation's typical time has passed: a
 * fleet's first looks are timed by the documented time before any is seen, and once the kind has
 * been seen to take longer, the looks still to come wait for that instead of coming an eighth of
 * the documented time apart.
 */
export function nextLookMs(provider: CloudProviderName, step: string | null, policy: LookAgainPolicy, elapsedMs?: number): number {
  const typical = typicalMs(provider, step, policy);
  const untilTypical = elapsedMs === undefined ? 0 : typical - elapsedMs;
  return Math.max(policy.pollIntervalMs, Math.round(Math.max(typical * LOOK_AGAIN_SHARE, untilTypical)));
}
