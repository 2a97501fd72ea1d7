import type { FleetNodePool } from './fleet.js';
import type { PolicyDecision, VersionInput } from './rules.js';
import { formatMinor, minorDistance, parseKubernetesVersion, type KubernetesMinor, type ParsedKubernetesVersion } from './version.js';

/**
 * Upstream Kubernetes version-skew policy (the rules as of 1.28, when kubelets could first trail
 * by three minors). It is not part of the support matrix, so decisions record this instead of a
 * matrix revision.
 */
export const KUBERNETES_SKEW_POLICY = 'kubernetes-version-skew/1.28';

type SkewInputProblem = 'version-invalid' | 'major-version-mismatch';

export type ControlPlaneStepDecision =
  | PolicyDecision<'control-plane-step-ok' | 'control-plane-no-change', true>
  | PolicyDecision<SkewInputProblem | 'control-plane-skips-minor' | 'control-plane-downgrade', false>;

export type KubeletSkewDecision =
  | PolicyDecision<'kubelet-skew-ok', true>
  | PolicyDecision<SkewInputProblem | 'kubelet-newer-than-api-server' | 'kubelet-too-old', false>;

/** How many minors a kubelet may trail the API server: three, or two for kubelets older than 1.25. */
export function maxKubeletSkew(kubelet: KubernetesMinor): number {
  return kubelet.major === 1 && kubelet.minor < 25 ? 2 : 3;
}

/** Fast form of the kubelet rule for callers that already hold parsed minors. */
export function kubeletWithinSkew(apiServer: KubernetesMinor, kubelet: KubernetesMinor): boolean {
  const behind = minorDistance(kubelet, apiServer);
  return behind !== undefined && behind >= 0 && behind <= maxKubeletSkew(kubelet);
}

/** kube-apiserver upgrades never skip a minor (and never go back). */
export function checkControlPlaneStep(from: VersionInput, to: VersionInput): ControlPlaneStepDecision {
  const a = toVersion(from);
  if (!a.ok) return a.decision;
  const b = toVersion(to);
  if (!b.ok) return b.decision;
  const distance = minorDistance(a.version, b.version);
  const step = `${formatMinor(a.version)} -> ${formatMinor(b.version)}`;
  if (distance === undefined) return fail('major-version-mismatch', `${step} changes the Kubernetes major version`);
  if (distance === 0) return ok('control-plane-no-change', `${step} stays on the same minor`);
  if (distance === 1) return ok('control-plane-step-ok', `${step} moves one minor`);
  if (distance < 0) return fail('control-plane-downgrade', `${step} is a downgrade; the API server cannot go back a minor`);
  return fail('control-plane-skips-minor', `${step} skips ${distance - 1} minor(s); the API server must move one minor at a time`);
}

/** kubelet: never newer than the API server, at most three minors older (two when older than 1.25). */
export function checkKubeletSkew(apiServer: VersionInput, kubelet: VersionInput): KubeletSkewDecision {
  const api = toVersion(apiServer);
  if (!api.ok) return api.decision;
  const node = toVersion(kubelet);
  if (!node.ok) return node.decision;
  const behind = minorDistance(node.version, api.version);
  const pair = `kubelet ${formatMinor(node.version)} with API server ${formatMinor(api.version)}`;
  if (behind === undefined) return fail('major-version-mismatch', `${pair}: different major versions`);
  if (behind < 0) return fail('kubelet-newer-than-api-server', `${pair}: a kubelet must never be newer than the API server`);
  const max = maxKubeletSkew(node.version);
  if (behind > max) return fail('kubelet-too-old', `${pair}: ${behind} minors behind, at most ${max} allowed${max === 2 ? ' for kubelets older than 1.25' : ''}`);
  return ok('kubelet-skew-ok', `${pair}: ${behind} minor(s) behind, within ${max}`);
}

export interface NodePoolMove {
  readonly pool: string;
  /** The pool's version as reported. */
  readonly fromVersion: string;
  /** The minor the pool moves to: the control plane's minor at that point. */
  readonly to: string;
  /** The control-plane minor whose step needs this move first. */
  readonly beforeControlPlane: string;
  readonly reason: string;
}

export type NodePoolMovesResult =
  | { readonly ok: true; readonly moves: readonly NodePoolMove[] }
  | { readonly ok: false; readonly code: 'version-invalid' | 'kubelet-newer-than-api-server'; readonly reason: string };

/**
 * Node pools that would fall out of skew when the control plane goes `current` -> `next`, and
 * where to move them first. They go to the control plane's current minor: the newest a kubelet may
 * run, which leaves the most room for later steps.
 */
export function nodePoolsToMoveFirst(current: VersionInput, next: VersionInput, pools: readonly FleetNodePool[]): NodePoolMovesResult {
  const api = toVersion(current);
  if (!api.ok) return { ok: false, code: 'version-invalid', reason: api.decision.reason };
  const target = toVersion(next);
  if (!target.ok) return { ok: false, code: 'version-invalid', reason: target.decision.reason };
  const parsedPools: KubernetesMinor[] = [];
  for (const pool of pools) {
    const parsed = parseKubernetesVersion(pool.version);
    if (!parsed.ok) return { ok: false, code: 'version-invalid', reason: `node pool ${pool.name}: ${parsed.reason}` };
    if ((minorDistance(parsed.version, api.version) ?? -1) < 0) {
      return { ok: false, code: 'kubelet-newer-than-api-server', reason: `node pool ${pool.name} runs ${pool.version}, newer than the API server` };
    }
    parsedPools.push(parsed.version);
  }
  const minors = parsedPools.map((p) => ({ major: p.major, minor: p.minor }));
  const moves: NodePoolMove[] = [];
  movesForStep(api.version, target.version, pools, minors, moves);
  return { ok: true, moves };
}

/** How moves are worded; the planner passes a caching one so 100k clusters share their strings. */
export interface MoveText {
  minor(version: KubernetesMinor): string;
  reason(pool: KubernetesMinor, next: KubernetesMinor): string;
}

export const PLAIN_MOVE_TEXT: MoveText = {
  minor: formatMinor,
  reason: (pool, next) =>
    `kubelet ${formatMinor(pool)} would be ${minorDistance(pool, next) ?? 0} minors behind API server ${formatMinor(next)} (at most ${maxKubeletSkew(pool)})`,
};

/**
 * Appends to `out` the moves needed before one control-plane step, and updates `poolMinors` in
 * place to where the pools end up, so a caller can walk a whole path.
 */
export function movesForStep(
  current: KubernetesMinor,
  next: KubernetesMinor,
  pools: readonly FleetNodePool[],
  poolMinors: { major: number; minor: number }[],
  out: NodePoolMove[],
  text: MoveText = PLAIN_MOVE_TEXT,
): void {
  for (let i = 0; i < pools.length; i++) {
    const pool = poolMinors[i]!;
    if (kubeletWithinSkew(next, pool)) continue;
    out.push({
      pool: pools[i]!.name,
      fromVersion: pools[i]!.version,
      to: text.minor(current),
      beforeControlPlane: text.minor(next),
      reason: text.reason(pool, next),
    });
    pool.major = current.major;
    pool.minor = current.minor;
  }
}

type ResolvedVersion = { ok: true; version: ParsedKubernetesVersion } | { ok: false; decision: PolicyDecision<'version-invalid', false> };

function toVersion(input: VersionInput): ResolvedVersion {
  if (typeof input !== 'string') return { ok: true, version: input };
  const parsed = parseKubernetesVersion(input);
  return parsed.ok ? { ok: true, version: parsed.version } : { ok: false, decision: fail('version-invalid', parsed.reason) };
}

function ok<C extends 'control-plane-step-ok' | 'control-plane-no-change' | 'kubelet-skew-ok'>(code: C, reason: string): PolicyDecision<C, true> {
  return { allowed: true, code, reason, policyRevision: KUBERNETES_SKEW_POLICY };
}

function fail<C extends SkewInputProblem | 'control-plane-skips-minor' | 'control-plane-downgrade' | 'kubelet-newer-than-api-server' | 'kubelet-too-old'>(
  code: C,
  reason: string,
): PolicyDecision<C, false> {
  return { allowed: false, code, reason, policyRevision: KUBERNETES_SKEW_POLICY };
}
