import type { PolicyCode } from './codes.js';
import type { FleetCluster } from './fleet.js';
import {
  minorAgainstRange,
  releaseOrder,
  versionInRange,
  type ReleasePolicy,
  type SupportMatrix,
  type UpgradeGateKind,
  type VersionBound,
} from './matrix.js';
import { defaultSupportMatrix } from './support-matrix.data.js';
import { compareMinors, formatMinor, minorKey, minorRange, parseKubernetesVersion, parseMinor, type KubernetesMinor, type ParsedKubernetesVersion } from './version.js';

/** Every rule answers with whether, a stable code, a sentence for people, and the matrix revision. */
export interface PolicyDecision<C extends PolicyCode, A extends boolean> {
  readonly allowed: A;
  readonly code: C;
  readonly reason: string;
  readonly policyRevision: string;
}

/** A version as reported (string) or already parsed. */
export type VersionInput = string | ParsedKubernetesVersion;

type InputProblem = 'version-invalid' | 'version-prerelease' | 'release-unknown';

export type CreateDecision = PolicyDecision<'creation-supported', true> | PolicyDecision<InputProblem | 'creation-unsupported', false>;
export type CompatibilityDecision = PolicyDecision<'compatible', true> | PolicyDecision<InputProblem | 'incompatible', false>;
export type OnboardDecision =
  | (PolicyDecision<'onboard-validated', true> & { readonly warning: false })
  | (PolicyDecision<'onboard-unvalidated', true> & { readonly warning: true })
  | (PolicyDecision<InputProblem | 'version-patch-required' | 'onboard-out-of-range', false> & { readonly warning: false });
export type UpgradePathDecision =
  | PolicyDecision<'upgrade-path-supported', true>
  | PolicyDecision<'release-unknown' | 'upgrade-path-unsupported' | 'upgrade-path-same-release' | 'upgrade-path-downgrade', false>;
export type WorkloadReleaseDecision = PolicyDecision<'workload-release-allowed', true> | PolicyDecision<'release-unknown' | 'workload-ahead-of-global', false>;

/** May a new platform-managed cluster be created on this Kubernetes version under this release? */
export function canCreate(version: VersionInput, release: string, matrix: SupportMatrix = defaultSupportMatrix): CreateDecision {
  const policyRevision = matrix.revision;
  const policy = matrix.releases.get(release);
  if (!policy) return unknownRelease(release, matrix);
  const parsed = resolveVersion(version, policyRevision);
  if (!parsed.ok) return parsed.decision;
  const minor = formatMinor(parsed.version);
  if (policy.creationKeys.has(minorKey(parsed.version))) {
    return { allowed: true, code: 'creation-supported', reason: `${release} creates clusters on Kubernetes ${minor}`, policyRevision };
  }
  return {
    allowed: false,
    code: 'creation-unsupported',
    reason: `${release} creates clusters only on Kubernetes ${policy.entry.creation.join(', ')}; ${minor} is not offered`,
    policyRevision,
  };
}

/** Is this Kubernetes version in the release's compatible minors (what a workload cluster may run)? */
export function isCompatible(version: VersionInput, release: string, matrix: SupportMatrix = defaultSupportMatrix): CompatibilityDecision {
  const policyRevision = matrix.revision;
  const policy = matrix.releases.get(release);
  if (!policy) return unknownRelease(release, matrix);
  const parsed = resolveVersion(version, policyRevision);
  if (!parsed.ok) return parsed.decision;
  const minor = formatMinor(parsed.version);
  if (inCompatible(parsed.version, policy)) {
    return { allowed: true, code: 'compatible', reason: `Kubernetes ${minor} is compatible with ${release}`, policyRevision };
  }
  return {
    allowed: false,
    code: 'incompatible',
    reason: `Kubernetes ${minor} is not compatible with ${release} (compatible: ${policy.entry.compatible.join(', ')})`,
    policyRevision,
  };
}

/**
 * May a third-party (connected) cluster on this version be brought under management? Outside the
 * release's range: blocked. Inside but not validated: allowed with a warning. Validated: allowed.
 */
export function canOnboard(version: VersionInput, release: string, matrix: SupportMatrix = defaultSupportMatrix): OnboardDecision {
  const policyRevision = matrix.revision;
  const policy = matrix.releases.get(release);
  if (!policy) return { ...unknownRelease(release, matrix), warning: false };
  const parsed = resolveVersion(version, policyRevision);
  if (!parsed.ok) return { ...parsed.decision, warning: false };
  const v = parsed.version;
  const range = policy.entry.thirdParty.range;
  const shown = v.patch === undefined ? formatMinor(v) : `${formatMinor(v)}.${v.patch}`;
  const where = placeInRange(v, policy.thirdPartyLower, policy.thirdPartyUpper);
  if (where === 'partial') {
    return {
      allowed: false,
      code: 'version-patch-required',
      reason: `only some patches of Kubernetes ${shown} are inside ${release}'s third-party range ${range}: give the full version`,
      policyRevision,
      warning: false,
    };
  }
  if (where === 'outside') {
    return {
      allowed: false,
      code: 'onboard-out-of-range',
      reason: `Kubernetes ${shown} is outside ${release}'s third-party range ${range}: the cluster cannot be onboarded`,
      policyRevision,
      warning: false,
    };
  }
  if (policy.validatedKeys.has(minorKey(v))) {
    return { allowed: true, code: 'onboard-validated', reason: `Kubernetes ${shown} passed ${release}'s third-party validation`, policyRevision, warning: false };
  }
  const published = policy.entry.thirdParty.validated;
  return {
    allowed: true,
    code: 'onboard-unvalidated',
    reason:
      `Kubernetes ${shown} is inside ${release}'s third-party range ${range} but has not passed product validation ` +
      (published.length === 0 ? `(no validated versions are published for ${release})` : `(validated: ${published.join(', ')})`),
    policyRevision,
    warning: true,
  };
}

/** May the global cluster go from one release to the other directly? */
export function checkUpgradePath(fromRelease: string, toRelease: string, matrix: SupportMatrix): UpgradePathDecision {
  const policyRevision = matrix.revision;
  const from = matrix.releases.get(fromRelease);
  if (!from) return unknownRelease(fromRelease, matrix);
  const to = matrix.releases.get(toRelease);
  if (!to) return unknownRelease(toRelease, matrix);
  if (from.order === to.order) {
    return { allowed: false, code: 'upgrade-path-same-release', reason: `the global cluster is already on ${toRelease}`, policyRevision };
  }
  if (from.order > to.order) {
    return { allowed: false, code: 'upgrade-path-downgrade', reason: `${fromRelease} -> ${toRelease} is a downgrade, which the platform does not support`, policyRevision };
  }
  if (!to.upgradeFrom.has(fromRelease)) {
    const sources = to.entry.upgradeFrom;
    return {
      allowed: false,
      code: 'upgrade-path-unsupported',
      reason: `${toRelease} can be upgraded to only from ${sources.length > 0 ? sources.join(', ') : 'no documented release'}, not from ${fromRelease}`,
      policyRevision,
    };
  }
  return { allowed: true, code: 'upgrade-path-supported', reason: `${fromRelease} -> ${toRelease} is a supported upgrade path`, policyRevision };
}

/**
 * The global cluster is upgraded first: a workload cluster may only move to a platform release
 * the global cluster has already reached.
 */
export function checkWorkloadRelease(workloadRelease: string, globalRelease: string, matrix: SupportMatrix): WorkloadReleaseDecision {
  const policyRevision = matrix.revision;
  const workloadOrder = releaseOrder(workloadRelease);
  const globalOrder = releaseOrder(globalRelease);
  if (!matrix.releases.has(workloadRelease) || Number.isNaN(workloadOrder)) return unknownRelease(workloadRelease, matrix);
  if (!matrix.releases.has(globalRelease) || Number.isNaN(globalOrder)) return unknownRelease(globalRelease, matrix);
  if (workloadOrder > globalOrder) {
    return {
      allowed: false,
      code: 'workload-ahead-of-global',
      reason: `a workload cluster cannot move to ${workloadRelease} while the global cluster is on ${globalRelease}: upgrade the global cluster first`,
      policyRevision,
    };
  }
  return { allowed: true, code: 'workload-release-allowed', reason: `the global cluster has reached ${globalRelease}`, policyRevision };
}

/**
 * What the TARGET release demands of workload clusters before the global cluster moves to it.
 *
 * - 'within-compatible-range' (4.3 and later): any minor the target lists as compatible.
 * - 'latest-compatible-first' (4.2 and earlier): the latest documented compatible minor, which is
 *   the newest minor BOTH releases list as compatible (4.0->4.1: 1.31, 4.1->4.2: 1.32, 3.18->4.0:
 *   1.30, 3.16->3.18: 1.28), or a newer one the target accepts. The source's table bounds it
 *   because a cluster cannot run a minor its current platform release does not support.
 */
export interface UpgradeRequirement {
  readonly fromRelease: string;
  readonly toRelease: string;
  readonly from: ReleasePolicy;
  readonly to: ReleasePolicy;
  readonly gate: UpgradeGateKind;
  /** Every minor from oldestAccepted to newestAccepted passes the gate. */
  readonly oldestAccepted: KubernetesMinor;
  readonly newestAccepted: KubernetesMinor;
  /** The accepted minors, oldest first. */
  readonly accepted: readonly string[];
  readonly policyRevision: string;
}

export type UpgradeRequirementResult =
  | { readonly ok: true; readonly requirement: UpgradeRequirement }
  | { readonly ok: false; readonly decision: Exclude<UpgradePathDecision, { allowed: true }> };

export function resolveUpgradeRequirement(fromRelease: string, toRelease: string, matrix: SupportMatrix): UpgradeRequirementResult {
  const path = checkUpgradePath(fromRelease, toRelease, matrix);
  if (!path.allowed) return { ok: false, decision: path };
  // checkUpgradePath found both releases.
  const from = matrix.releases.get(fromRelease)!;
  const to = matrix.releases.get(toRelease)!;
  const newestAccepted = to.newestCompatible;
  let oldestAccepted = to.oldestCompatible;
  if (to.entry.upgradeGate === 'latest-compatible-first') {
    // Matrix validation guarantees the two compatible ranges overlap for every upgradeFrom entry.
    const newestCommon = compareMinors(from.newestCompatible, to.newestCompatible) < 0 ? from.newestCompatible : to.newestCompatible;
    oldestAccepted = newestCommon;
  }
  return {
    ok: true,
    requirement: {
      fromRelease,
      toRelease,
      from,
      to,
      gate: to.entry.upgradeGate,
      oldestAccepted,
      newestAccepted,
      accepted: minorRange(oldestAccepted, newestAccepted),
      policyRevision: matrix.revision,
    },
  };
}

/** Where a control-plane minor stands against a requirement. */
export type GatePosition = 'accepted' | 'below' | 'above';

export function gatePosition(version: KubernetesMinor, requirement: UpgradeRequirement): GatePosition {
  if (compareMinors(version, requirement.oldestAccepted) < 0) return 'below';
  if (compareMinors(version, requirement.newestAccepted) > 0) return 'above';
  return 'accepted';
}

/** Why a minor fails the gate, in the words of the target release's rule. */
export function describeGateFailure(version: KubernetesMinor, position: Exclude<GatePosition, 'accepted'>, requirement: UpgradeRequirement): {
  code: 'below-latest-compatible' | 'outside-compatible-range';
  reason: string;
} {
  const minor = formatMinor(version);
  const { fromRelease, toRelease } = requirement;
  const oldest = formatMinor(requirement.oldestAccepted);
  if (position === 'below' && requirement.gate === 'latest-compatible-first') {
    return {
      code: 'below-latest-compatible',
      reason: `${toRelease} requires workload clusters on Kubernetes ${oldest}, the latest version compatible with both ${fromRelease} and ${toRelease}, before the global upgrade; the cluster runs ${minor}`,
    };
  }
  const compatible = requirement.to.entry.compatible.join(', ');
  return {
    code: 'outside-compatible-range',
    reason:
      position === 'below'
        ? `Kubernetes ${minor} is outside ${toRelease}'s compatible versions (${compatible}); it must reach ${oldest} before the global upgrade`
        : `Kubernetes ${minor} is newer than ${toRelease} supports (${compatible}); Kubernetes cannot be downgraded`,
  };
}

export interface GateBlocker {
  readonly clusterId: string;
  readonly currentVersion: string;
  readonly code: 'below-latest-compatible' | 'outside-compatible-range' | 'version-invalid' | 'version-prerelease';
  readonly reason: string;
}

export type GateDecision =
  | (PolicyDecision<'gate-open', true> & { readonly gate: UpgradeGateKind; readonly accepted: readonly string[]; readonly blockers: readonly GateBlocker[] })
  | (PolicyDecision<'gate-blocked', false> & { readonly gate: UpgradeGateKind; readonly accepted: readonly string[]; readonly blockers: readonly GateBlocker[] })
  | (Exclude<UpgradePathDecision, { allowed: true }> & { readonly gate: null; readonly accepted: readonly string[]; readonly blockers: readonly GateBlocker[] });

/**
 * Which workload clusters keep the global cluster from moving `from` -> `to`, judged by the target
 * release's rule. Connected clusters count too: the compatible column is the prerequisite for
 * every workload cluster, whoever manages its Kubernetes. Blockers are sorted by cluster id.
 */
export function globalUpgradeGate(fleet: readonly FleetCluster[], fromRelease: string, toRelease: string, matrix: SupportMatrix): GateDecision {
  const resolved = resolveUpgradeRequirement(fromRelease, toRelease, matrix);
  if (!resolved.ok) return { ...resolved.decision, gate: null, accepted: [], blockers: [] };
  const requirement = resolved.requirement;
  const blockers: GateBlocker[] = [];
  const byVersion = new Map<string, Omit<GateBlocker, 'clusterId' | 'currentVersion'> | null>();
  for (const cluster of fleet) {
    let verdict = byVersion.get(cluster.controlPlaneVersion);
    if (verdict === undefined) {
      verdict = judgeForGate(cluster.controlPlaneVersion, requirement);
      byVersion.set(cluster.controlPlaneVersion, verdict);
    }
    if (verdict) blockers.push({ clusterId: cluster.id, currentVersion: cluster.controlPlaneVersion, ...verdict });
  }
  blockers.sort((a, b) => compareText(a.clusterId, b.clusterId));
  const acceptedText = requirement.accepted.join(', ');
  const details = { policyRevision: matrix.revision, gate: requirement.gate, accepted: requirement.accepted, blockers };
  if (blockers.length === 0) {
    return { allowed: true, code: 'gate-open', reason: `every workload cluster runs a Kubernetes version ${toRelease} accepts (${acceptedText})`, ...details };
  }
  return {
    allowed: false,
    code: 'gate-blocked',
    reason: `${blockers.length} workload cluster(s) must run Kubernetes ${requirement.accepted.length > 1 ? `one of ${acceptedText}` : acceptedText} before the global cluster moves to ${toRelease}`,
    ...details,
  };
}

function judgeForGate(version: string, requirement: UpgradeRequirement): Omit<GateBlocker, 'clusterId' | 'currentVersion'> | null {
  const parsed = parseKubernetesVersion(version);
  if (!parsed.ok) return { code: 'version-invalid', reason: parsed.reason };
  if (parsed.version.prerelease !== undefined) return { code: 'version-prerelease', reason: prereleaseReason(parsed.version) };
  const position = gatePosition(parsed.version, requirement);
  return position === 'accepted' ? null : describeGateFailure(parsed.version, position, requirement);
}

export function inCompatible(version: KubernetesMinor, policy: ReleasePolicy): boolean {
  return compareMinors(version, policy.oldestCompatible) >= 0 && compareMinors(version, policy.newestCompatible) <= 0;
}

function placeInRange(version: ParsedKubernetesVersion, lower: VersionBound, upper: VersionBound): 'inside' | 'outside' | 'partial' {
  if (version.patch === undefined) return minorAgainstRange(version, lower, upper);
  return versionInRange(version.major, version.minor, version.patch, lower, upper) ? 'inside' : 'outside';
}

type ResolvedVersion = { ok: true; version: ParsedKubernetesVersion } | { ok: false; decision: PolicyDecision<'version-invalid' | 'version-prerelease', false> };

function resolveVersion(input: VersionInput, policyRevision: string): ResolvedVersion {
  let version: ParsedKubernetesVersion;
  if (typeof input === 'string') {
    const parsed = parseKubernetesVersion(input);
    if (!parsed.ok) return { ok: false, decision: { allowed: false, code: 'version-invalid', reason: parsed.reason, policyRevision } };
    version = parsed.version;
  } else {
    version = input;
  }
  // Pre-releases sort below their release (1.35.0-rc.1 < 1.35.0) and would slip through ranges.
  if (version.prerelease !== undefined) {
    return { ok: false, decision: { allowed: false, code: 'version-prerelease', reason: prereleaseReason(version), policyRevision } };
  }
  return { ok: true, version };
}

export function prereleaseReason(version: ParsedKubernetesVersion): string {
  return `"${version.raw}" is a pre-release (${version.prerelease ?? ''}) build: no support statement covers pre-releases`;
}

function unknownRelease(release: string, matrix: SupportMatrix): PolicyDecision<'release-unknown', false> {
  const known = [...matrix.releases.keys()].join(', ');
  const shape = parseMinor(release) ? '' : ' (a release looks like 4.3)';
  return {
    allowed: false,
    code: 'release-unknown',
    reason: `platform release "${release}" is not in support matrix ${matrix.revision}${shape}; known: ${known}`,
    policyRevision: matrix.revision,
  };
}

/** Locale-independent, so plans sort identically on every machine. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
