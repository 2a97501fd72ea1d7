import type { FleetCluster } from './fleet.js';
import { releaseOrder, type ReleasePolicy, type SupportMatrix } from './matrix.js';
import { canOnboard, inCompatible } from './rules.js';
import { maxKubeletSkew } from './skew.js';
import { compareMinors, formatMinor, minorDistance, minorRange, parseKubernetesVersion, type KubernetesMinor, type ParsedKubernetesVersion } from './version.js';

/** What a cluster already breaks today, before any plan is carried out. */
export type ViolationCode = 'workload-ahead-of-global' | 'kubelet-too-old' | 'kubelet-newer-than-api-server' | 'incompatible' | 'onboard-out-of-range';

/** One move that repairs a violation, in order. */
export interface RepairMove {
  /** global-upgrade: the global cluster moves to `to` (a release); control-plane / node-pool: the platform moves it to `to` (a minor); provider: the provider of a connected cluster does. */
  readonly kind: 'global-upgrade' | 'control-plane' | 'node-pool' | 'provider';
  /** The node pool the move is about, null otherwise. */
  readonly pool: string | null;
  readonly to: string;
  readonly reason: string;
}

export interface PolicyViolation {
  readonly code: ViolationCode;
  /** The node pool at fault, null when the whole cluster is. */
  readonly pool: string | null;
  readonly reason: string;
  /** The moves that repair it; empty when no move in the matrix can (the reason says so). */
  readonly repair: readonly RepairMove[];
}

export const NO_VIOLATIONS: readonly PolicyViolation[] = Object.freeze([]);

/**
 * Judges clusters against the policy in force today: the global cluster on `globalRelease`.
 * Version strings repeat across a fleet, so parses and range checks are cached per instance.
 */
export class ViolationJudge {
  private readonly versions = new Map<string, ParsedKubernetesVersion | null>();
  private readonly onboard = new Map<string, PolicyViolation | null>();
  private readonly managed = new Map<string, PolicyViolation | null>();
  private readonly global: ReleasePolicy | undefined;

  constructor(
    private readonly matrix: SupportMatrix,
    private readonly globalRelease: string,
  ) {
    this.global = matrix.releases.get(globalRelease);
  }

  /** Every violation of one cluster, whole-cluster ones first, then pools in their order. */
  judge(cluster: FleetCluster): readonly PolicyViolation[] {
    if (!this.global) return NO_VIOLATIONS;
    let out: PolicyViolation[] | undefined;
    let release = this.global;
    if (cluster.platformRelease !== undefined && cluster.platformRelease !== this.globalRelease) {
      const order = releaseOrder(cluster.platformRelease);
      const own = this.matrix.releases.get(cluster.platformRelease);
      if (order > this.global.order) {
        out = [
          {
            code: 'workload-ahead-of-global',
            pool: null,
            reason: `the cluster reports platform release ${cluster.platformRelease}, ahead of the global cluster's ${this.globalRelease}: the global cluster is always upgraded first`,
            repair: own ? [{ kind: 'global-upgrade', pool: null, to: cluster.platformRelease, reason: `upgrade the global cluster to ${cluster.platformRelease}` }] : [],
          },
        ];
      } else if (own) {
        release = own;
      }
    }
    const api = this.parse(cluster.controlPlaneVersion);
    // Unreadable versions are the planner's to report (version-invalid, version-prerelease).
    if (!api) return out ?? NO_VIOLATIONS;
    const whole = cluster.model === 'connected' ? this.onboardViolation(api, release) : this.rangeViolation(api, release);
    if (whole) (out ??= []).push(whole);
    const pools = cluster.nodePools;
    for (let p = 0; p < pools.length; p++) {
      const pool = pools[p]!;
      const kubelet = this.parse(pool.version);
      if (!kubelet) continue;
      const violation = this.poolViolation(pool.name, kubelet, api);
      if (violation) (out ??= []).push(violation);
    }
    return out ?? NO_VIOLATIONS;
  }

  /** Pool names and minors repeat across a fleet: each (pool, kubelet minor, API minor) is judged once. */
  private readonly pools = new Map<string, Map<number, PolicyViolation | null>>();

  private poolViolation(name: string, kubelet: KubernetesMinor, api: KubernetesMinor): PolicyViolation | null {
    let byMinors = this.pools.get(name);
    if (byMinors === undefined) this.pools.set(name, (byMinors = new Map<number, PolicyViolation | null>()));
    const key = ((kubelet.major * 1024 + kubelet.minor) * 1024 + api.major) * 1024 + api.minor;
    let cached = byMinors.get(key);
    if (cached !== undefined) return cached;
    cached = null;
    const behind = minorDistance(kubelet, api);
    const apiMinor = formatMinor(api);
    if (behind !== undefined && behind < 0) {
      cached = {
        code: 'kubelet-newer-than-api-server',
        pool: name,
        reason: `node pool ${name} runs kubelet ${formatMinor(kubelet)}, newer than the API server ${apiMinor}: a kubelet must never be newer`,
        repair: [{ kind: 'node-pool', pool: name, to: apiMinor, reason: `replace the machines of ${name} with ones on Kubernetes ${apiMinor} (kubelets are not downgraded in place)` }],
      };
    } else if (behind !== undefined) {
      const max = maxKubeletSkew(kubelet);
      if (behind > max) {
        cached = {
          code: 'kubelet-too-old',
          pool: name,
          reason: `node pool ${name} runs kubelet ${formatMinor(kubelet)}, ${behind} minors behind the API server ${apiMinor} (at most ${max}${max === 2 ? ' for kubelets older than 1.25' : ''})`,
          repair: [{ kind: 'node-pool', pool: name, to: apiMinor, reason: `upgrade the kubelets of ${name} to ${apiMinor}, the API server's minor` }],
        };
      }
    }
    byMinors.set(key, cached);
    return cached;
  }

  private parse(text: string): ParsedKubernetesVersion | null {
    let cached = this.versions.get(text);
    if (cached === undefined) {
      const parsed = parseKubernetesVersion(text);
      cached = parsed.ok && parsed.version.prerelease === undefined ? parsed.version : null;
      this.versions.set(text, cached);
    }
    return cached;
  }

  /** A platform-managed cluster must run one of its release's compatible minors. */
  private rangeViolation(api: ParsedKubernetesVersion, release: ReleasePolicy): PolicyViolation | null {
    const key = `${release.release}/${api.major}.${api.minor}`;
    let cached = this.managed.get(key);
    if (cached !== undefined) return cached;
    cached = null;
    if (!inCompatible(api, release)) {
      const minor = formatMinor(api);
      const compatible = release.entry.compatible.join(', ');
      const below = compareMinors(api, release.oldestCompatible) < 0;
      const repair: RepairMove[] = below
        ? minorRange(api, release.oldestCompatible)
            .slice(1)
            .map((to) => ({ kind: 'control-plane', pool: null, to, reason: `upgrade the control plane one minor to ${to}, then the node pools` }))
        : this.newerRelease(api, release, (p) => inCompatible(api, p));
      cached = {
        code: 'incompatible',
        pool: null,
        reason: `Kubernetes ${minor} is outside ${release.release}'s compatible versions (${compatible})${repair.length === 0 ? `; no release in support matrix ${this.matrix.revision} supports it` : ''}`,
        repair,
      };
    }
    this.managed.set(key, cached);
    return cached;
  }

  /** A connected cluster must stay inside its release's third-party range. */
  private onboardViolation(api: ParsedKubernetesVersion, release: ReleasePolicy): PolicyViolation | null {
    const key = `${release.release}/${api.raw}`;
    let cached = this.onboard.get(key);
    if (cached !== undefined) return cached;
    cached = null;
    const decision = canOnboard(api, release.release, this.matrix);
    if (!decision.allowed && decision.code === 'onboard-out-of-range') {
      const lower = { major: release.thirdPartyLower.major, minor: release.thirdPartyLower.minor };
      const below = compareMinors(api, lower) < 0;
      const repair: RepairMove[] = below
        ? [{ kind: 'provider', pool: null, to: formatMinor(lower), reason: `the provider upgrades the cluster one minor at a time to ${formatMinor(lower)} or newer` }]
        : this.newerRelease(api, release, (p) => canOnboard(api, p.release, this.matrix).allowed);
      cached = { code: 'onboard-out-of-range', pool: null, reason: decision.reason + (repair.length === 0 ? `; no release in support matrix ${this.matrix.revision} accepts it` : ''), repair };
    }
    this.onboard.set(key, cached);
    return cached;
  }

  /** The oldest newer release that would accept the version: the global cluster moves there. */
  private newerRelease(api: KubernetesMinor, release: ReleasePolicy, accepts: (policy: ReleasePolicy) => boolean): RepairMove[] {
    let best: ReleasePolicy | undefined;
    for (const policy of this.matrix.releases.values()) {
      if (policy.order > release.order && accepts(policy) && (!best || policy.order < best.order)) best = policy;
    }
    if (!best) return [];
    return [{ kind: 'global-upgrade', pool: null, to: best.release, reason: `upgrade the global cluster to ${best.release}, which supports Kubernetes ${formatMinor(api)}` }];
  }
}
