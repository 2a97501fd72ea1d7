// How the fleet stands against the compatible versions of the next platform release: the chart
// of the overview, from the upgrade planner's fleet and the support matrix in force.
import type { FleetCluster, SupportMatrix, SupportMatrixRelease } from '../api/types.js';
import { compareMinors, minorOf } from './versions.js';

export type Standing = 'compatible' | 'behind' | 'ahead' | 'unknown';

export interface MinorStanding {
  minor: string;
  standing: Standing;
  count: number;
}

export interface Compliance {
  /** The release in force and the one judged against (the next one up, or the same when it is the newest). */
  current: string;
  target: string;
  compatible: string[];
  totals: Record<Standing, number>;
  /** One bar per minor the fleet runs, oldest first. */
  minors: MinorStanding[];
  /** Clusters that must move before the target release: behind or ahead of its compatible minors, or unreadable. */
  outside: { id: string; version: string; standing: Exclude<Standing, 'compatible'> }[];
  /** Clusters outside the compatible minors of the release in force: behind the policy today. */
  behindPolicy: { id: string; version: string }[];
}

/**
 * The release the global cluster goes to next: the oldest newer release that may be upgraded to
 * directly from the one in force, else the next newer one; the release in force when none is newer.
 */
export function nextRelease(matrix: SupportMatrix): SupportMatrixRelease | undefined {
  const releases = matrix.document.releases; // newest first
  const current = matrix.platformRelease.release;
  const index = releases.findIndex((entry) => entry.release === current);
  if (index < 0) return releases[0];
  const newer = releases.slice(0, index).reverse(); // oldest newer first
  return newer.find((entry) => entry.upgradeFrom.includes(current)) ?? newer[0] ?? releases[index];
}

export function standingOf(version: string, compatible: readonly string[]): Standing {
  const minor = minorOf(version);
  if (!minor || compatible.length === 0) return 'unknown';
  if (compatible.includes(minor)) return 'compatible';
  const oldest = [...compatible].sort(compareMinors)[0]!;
  return compareMinors(minor, oldest) < 0 ? 'behind' : 'ahead';
}

export function fleetCompliance(fleet: readonly FleetCluster[], matrix: SupportMatrix): Compliance | undefined {
  const target = nextRelease(matrix);
  if (!target) return undefined;
  const inForce = matrix.document.releases.find((entry) => entry.release === matrix.platformRelease.release);
  const totals: Record<Standing, number> = { compatible: 0, behind: 0, ahead: 0, unknown: 0 };
  const byMinor = new Map<string, MinorStanding>();
  const outside: Compliance['outside'] = [];
  const behindPolicy: Compliance['behindPolicy'] = [];
  for (const cluster of fleet) {
    const standing = standingOf(cluster.controlPlaneVersion, target.compatible);
    totals[standing] += 1;
    const minor = minorOf(cluster.controlPlaneVersion) ?? 'unknown';
    const entry = byMinor.get(minor) ?? { minor, standing, count: 0 };
    entry.count += 1;
    byMinor.set(minor, entry);
    if (standing !== 'compatible') outside.push({ id: cluster.id, version: cluster.controlPlaneVersion, standing });
    if (inForce && standingOf(cluster.controlPlaneVersion, inForce.compatible) !== 'compatible') behindPolicy.push({ id: cluster.id, version: cluster.controlPlaneVersion });
  }
  const minors = [...byMinor.values()].sort((a, b) => (a.minor === 'unknown' ? 1 : b.minor === 'unknown' ? -1 : compareMinors(a.minor, b.minor)));
  return { current: matrix.platformRelease.release, target: target.release, compatible: target.compatible, totals, minors, outside, behindPolicy };
}
