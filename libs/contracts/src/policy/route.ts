import type { SupportMatrix } from './matrix.js';
import { resolveUpgradeRequirement, type UpgradeRequirement } from './rules.js';
import { compareMinors, formatMinor, parseMinor, type KubernetesMinor } from './version.js';

/**
 * The global cluster's way from one release to another: one or more supported upgrades (each
 * target's `upgradeFrom`), e.g. 3.16 -> 3.18 -> 4.0 -> 4.3. Every hop has its own gate.
 */
export interface UpgradeRoute {
  readonly fromRelease: string;
  readonly toRelease: string;
  /** Every release the global cluster runs on the way, `fromRelease` first, `toRelease` last. */
  readonly releases: readonly string[];
  /** One requirement per global upgrade, in order. */
  readonly hops: readonly UpgradeRequirement[];
  /** The Kubernetes minor asked for (`toVersion`): clusters go on to it, not to toRelease's newest creation minor. */
  readonly targetVersion?: KubernetesMinor;
}

export type RouteProblemCode = 'release-unknown' | 'upgrade-path-same-release' | 'upgrade-path-downgrade' | 'upgrade-path-unsupported' | 'version-invalid' | 'incompatible';

/** Why a route cannot exist; `field` names the request field to blame. */
export interface RouteProblem {
  readonly code: RouteProblemCode;
  readonly field: 'fromRelease' | 'toRelease' | 'via' | 'toVersion';
  readonly reason: string;
  readonly policyRevision: string;
}

export type RouteResult = { readonly ok: true; readonly route: UpgradeRoute } | { readonly ok: false; readonly problem: RouteProblem };

/**
 * Finds the route with the fewest global upgrades (ties: the newer intermediate release), or
 * follows `via` when given (every hop must then be a supported upgrade). Pure.
 */
export function resolveUpgradeRoute(fromRelease: string, toRelease: string, matrix: SupportMatrix, via: readonly string[] = [], toVersion?: string): RouteResult {
  const policyRevision = matrix.revision;
  const problem = (code: RouteProblemCode, field: RouteProblem['field'], reason: string): RouteResult => ({ ok: false, problem: { code, field, reason, policyRevision } });
  const known = [...matrix.releases.keys()].join(', ');
  const from = matrix.releases.get(fromRelease);
  if (!from) return problem('release-unknown', 'fromRelease', `platform release "${fromRelease}" is not in support matrix ${policyRevision} (known: ${known})`);
  const to = matrix.releases.get(toRelease);
  if (!to) return problem('release-unknown', 'toRelease', `platform release "${toRelease}" is not in support matrix ${policyRevision} (known: ${known})`);
  if (from.order === to.order) return problem('upgrade-path-same-release', 'toRelease', `the global cluster is already on ${toRelease}`);
  if (from.order > to.order) {
    return problem('upgrade-path-downgrade', 'toRelease', `${fromRelease} -> ${toRelease} is a downgrade, which the platform does not support`);
  }

  let releases: string[];
  if (via.length > 0) {
    releases = [fromRelease, ...via, toRelease];
    for (const release of via) {
      if (!matrix.releases.has(release)) return problem('release-unknown', 'via', `platform release "${release}" is not in support matrix ${policyRevision} (known: ${known})`);
    }
  } else {
    const found = fewestHops(fromRelease, toRelease, matrix);
    if (!found) {
      const sources = to.entry.upgradeFrom;
      return problem(
        'upgrade-path-unsupported',
        'toRelease',
        `no supported upgrade path leads from ${fromRelease} to ${toRelease} in support matrix ${policyRevision} (${toRelease} is upgraded to from ${sources.length > 0 ? sources.join(', ') : 'no release'})`,
      );
    }
    releases = found;
  }

  const hops: UpgradeRequirement[] = [];
  for (let i = 0; i + 1 < releases.length; i++) {
    const resolved = resolveUpgradeRequirement(releases[i]!, releases[i + 1]!, matrix);
    if (!resolved.ok) {
      const { code, reason } = resolved.decision;
      return problem(code === 'release-unknown' ? 'release-unknown' : code, via.length > 0 ? 'via' : 'toRelease', `${releases[i]!} -> ${releases[i + 1]!}: ${reason}`);
    }
    hops.push(resolved.requirement);
  }
  if (toVersion === undefined) return { ok: true, route: { fromRelease, toRelease, releases, hops } };
  const target = parseMinor(toVersion);
  if (!target) return problem('version-invalid', 'toVersion', `"${toVersion}" is not a Kubernetes minor like 1.34`);
  if (!to.entry.compatible.includes(formatMinor(target))) {
    // Name the releases that would support it, so the caller can ask for one of them instead.
    const supporting = [...matrix.releases.values()].filter((policy) => policy.entry.compatible.includes(formatMinor(target))).map((policy) => policy.release);
    return problem(
      'incompatible',
      'toVersion',
      `Kubernetes ${formatMinor(target)} is not among ${toRelease}'s compatible versions (${to.entry.compatible.join(', ')})${supporting.length > 0 ? `; releases that support it: ${supporting.join(', ')}` : `; no release in support matrix ${policyRevision} supports it`}`,
    );
  }
  const oldest = hops[hops.length - 1]!.oldestAccepted;
  if (compareMinors(target, oldest) < 0) {
    return problem('incompatible', 'toVersion', `Kubernetes ${formatMinor(target)} is below what the upgrade to ${toRelease} accepts (${hops[hops.length - 1]!.accepted.join(', ')})`);
  }
  return { ok: true, route: { fromRelease, toRelease, releases, hops, targetVersion: target } };
}

/** Breadth-first over `upgradeFrom`, newer releases tried first so ties take the newer stop. */
function fewestHops(fromRelease: string, toRelease: string, matrix: SupportMatrix): string[] | undefined {
  const next = new Map<string, string[]>();
  for (const policy of matrix.releases.values()) {
    for (const source of policy.upgradeFrom) {
      const list = next.get(source) ?? [];
      list.push(policy.release);
      next.set(source, list);
    }
  }
  for (const list of next.values()) list.sort((a, b) => matrix.releases.get(b)!.order - matrix.releases.get(a)!.order);
  const parent = new Map<string, string | null>([[fromRelease, null]]);
  const queue = [fromRelease];
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (current === toRelease) break;
    for (const target of next.get(current) ?? []) {
      if (parent.has(target)) continue;
      parent.set(target, current);
      queue.push(target);
    }
  }
  if (!parent.has(toRelease)) return undefined;
  const path: string[] = [];
  for (let at: string | null = toRelease; at !== null; at = parent.get(at) ?? null) path.unshift(at);
  return path;
}
