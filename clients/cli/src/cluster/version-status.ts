import type { ClusterModel, SupportMatrixRelease, SupportMatrixView } from '../api/types.js';

/** One verdict on a cluster's version against a release of the support matrix. */
export interface VersionVerdict {
  /** The release judged by; empty when there is no next release to judge by. */
  release: string;
  ok: boolean;
  /** What holds, or what must be done, in one sentence. */
  message: string;
}

/** `v1.33.5-eks-1` -> [1, 33]; undefined for text that is no version. */
export function minorOf(version: string): [number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)/.exec(version.trim());
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

const minorText = ([major, minor]: [number, number]) => `${major}.${minor}`;
const compareMinor = (a: string, b: string) => {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
};

/** Whether `version` lies in a semver-like range `>=1.19.0 <1.35.0`. */
export function inRange(version: string, range: string): boolean {
  const minor = minorOf(version);
  if (!minor) return false;
  const patch = Number(/^v?\d+\.\d+\.(\d+)/.exec(version)?.[1] ?? 0);
  const value = minor[0] * 1e6 + minor[1] * 1e3 + patch;
  return range.split(/\s+/).every((bound) => {
    const match = /^(>=|<=|>|<)v?(\d+)\.(\d+)(?:\.(\d+))?$/.exec(bound);
    if (!match) return true;
    const limit = Number(match[2]) * 1e6 + Number(match[3]) * 1e3 + Number(match[4] ?? 0);
    switch (match[1]) {
      case '>=':
        return value >= limit;
      case '<=':
        return value <= limit;
      case '>':
        return value > limit;
      default:
        return value < limit;
    }
  });
}

/** The release the global cluster can go to next from `current`: the oldest newer one that names it in upgradeFrom. */
export function nextRelease(current: string, releases: readonly SupportMatrixRelease[]): SupportMatrixRelease | undefined {
  return releases.filter((release) => release.upgradeFrom.includes(current)).sort((a, b) => compareMinor(a.release, b.release))[0];
}

/**
 * The cluster's version under the release in force, and what the next global upgrade asks of it:
 * within the target's compatible minors (4.3 and later), or on the newest compatible minor of the
 * current release first (4.2 and earlier).
 */
export function versionStatus(version: string | null, model: ClusterModel | null, matrix: SupportMatrixView): VersionVerdict[] {
  const releases = matrix.document.releases;
  const currentName = matrix.platformRelease.release;
  const current = releases.find((release) => release.release === currentName);
  if (version === null) return [{ release: currentName, ok: false, message: 'version not known yet' }];
  const minor = minorOf(version);
  if (!minor) return [{ release: currentName, ok: false, message: `"${version}" is not a Kubernetes version` }];
  const text = minorText(minor);
  const verdicts: VersionVerdict[] = [];
  if (!current) {
    verdicts.push({ release: currentName, ok: false, message: `release ${currentName} is not in support matrix ${matrix.revision}` });
    return verdicts;
  }
  const compatible = current.compatible.includes(text);
  if (model === 'connected' && current.thirdParty) {
    const accepted = inRange(version, current.thirdParty.range);
    verdicts.push({
      release: currentName,
      ok: accepted,
      message: accepted
        ? `${text} is within the third-party range ${current.thirdParty.range}${compatible ? ` and compatible (${current.compatible.join(', ')})` : `; not among the compatible minors ${current.compatible.join(', ')}`}`
        : `${text} is outside the third-party range ${current.thirdParty.range}: upgrade it at its provider`,
    });
  } else {
    verdicts.push({
      release: currentName,
      ok: compatible,
      message: compatible ? `${text} is compatible (${current.compatible.join(', ')}; new clusters on ${current.creation.join(', ')})` : `${text} is outside the compatible minors ${current.compatible.join(', ')}`,
    });
  }
  const next = nextRelease(currentName, releases);
  if (!next) {
    verdicts.push({ release: '', ok: true, message: `no newer release upgrades from ${currentName} in matrix ${matrix.revision}` });
    return verdicts;
  }
  if (next.upgradeGate === 'latest-compatible-first') {
    const newest = [...current.compatible].sort(compareMinor).at(-1) ?? text;
    const ready = compareMinor(text, newest) >= 0;
    verdicts.push({
      release: next.release,
      ok: ready,
      message: ready ? `ready for the global upgrade to ${next.release} (on ${newest}, the newest compatible minor)` : `must reach ${newest} (the newest compatible minor of ${currentName}) before the global upgrade to ${next.release}`,
    });
  } else {
    const ready = next.compatible.includes(text);
    const oldest = [...next.compatible].sort(compareMinor)[0];
    verdicts.push({
      release: next.release,
      ok: ready,
      message: ready
        ? `ready for the global upgrade to ${next.release} (${next.compatible.join(', ')})`
        : compareMinor(text, oldest ?? text) < 0
          ? `must be upgraded to ${oldest} or later before the global upgrade to ${next.release} (${next.compatible.join(', ')})`
          : `${text} is newer than ${next.release} supports (${next.compatible.join(', ')})`,
    });
  }
  return verdicts;
}
