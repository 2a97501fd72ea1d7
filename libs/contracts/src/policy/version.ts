/**
 * Kubernetes versions as clusters report them (`kubectl version`, node status, cloud APIs) and the
 * minor arithmetic the policy needs. Parsing never throws and never guesses: anything that is not
 * unambiguously MAJOR.MINOR[.PATCH][suffix] is an error with a reason.
 */

/** A Kubernetes minor: the unit the support matrix and the skew policy speak in. */
export interface KubernetesMinor {
  readonly major: number;
  readonly minor: number;
}

export interface ParsedKubernetesVersion extends KubernetesMinor {
  /** Absent for a bare minor such as `1.34` (what operators type when asking for a version). */
  readonly patch?: number;
  /** Upstream pre-release tag (`alpha.1`, `beta.0`, `rc.2`): outside every support statement. */
  readonly prerelease?: string;
  /** Vendor build tag without its separator, e.g. `eks-113cf36`, `gke.1234000`, `k3s1`. */
  readonly distributionSuffix?: string;
  /** The string exactly as reported. */
  readonly raw: string;
}

export type VersionParseResult =
  | { readonly ok: true; readonly version: ParsedKubernetesVersion }
  | { readonly ok: false; readonly code: 'version-invalid'; readonly reason: string; readonly raw: string };

// Kubernetes never reports more than a few digits per component; the cap keeps numbers exact.
const NUMBER = '(0|[1-9]\\d{0,5})';
const SUFFIX = '([0-9A-Za-z]+(?:[-.+][0-9A-Za-z]+)*)';
const VERSION_RE = new RegExp(`^v?${NUMBER}\\.${NUMBER}(?:\\.${NUMBER}(?:([-+])${SUFFIX})?)?$`);
const PRERELEASE_RE = /^((?:alpha|beta|rc)\.(?:0|[1-9]\d{0,5}))(?:\+([0-9A-Za-z]+(?:[-.+][0-9A-Za-z]+)*))?$/;
const MINOR_RE = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;
const MAX_LENGTH = 128;

/**
 * Normalises `v1.33.4`, `1.33.4`, `v1.33.5-eks-113cf36`, `1.31.5-gke.1234000`, `v1.30.4+k3s1`,
 * `v1.31.1+rke2r1`, `v1.29.8-aliyun.1`, `v1.28.9-gs.1` and a bare `1.34`.
 */
export function parseKubernetesVersion(input: unknown): VersionParseResult {
  if (typeof input !== 'string') {
    const kind = describeNonString(input);
    return invalid(kind, `expected a version string, got ${kind}`);
  }
  const raw = input;
  if (raw.length === 0) return invalid(raw, 'empty version string');
  if (raw.length > MAX_LENGTH) return invalid(raw.slice(0, 32) + '…', `version string longer than ${MAX_LENGTH} characters`);
  if (raw.trim() !== raw) return invalid(raw, `"${raw}" has surrounding whitespace`);
  const match = VERSION_RE.exec(raw);
  if (!match) return invalid(raw, explainMismatch(raw));
  const [, majorText, minorText, patchText, separator, suffix] = match;
  const version: { -readonly [K in keyof ParsedKubernetesVersion]: ParsedKubernetesVersion[K] } = {
    major: Number(majorText),
    minor: Number(minorText),
    raw,
  };
  if (patchText !== undefined) version.patch = Number(patchText);
  if (suffix !== undefined) {
    const pre = separator === '-' ? PRERELEASE_RE.exec(suffix) : null;
    if (pre) {
      version.prerelease = pre[1];
      if (pre[2] !== undefined) version.distributionSuffix = pre[2];
    } else {
      version.distributionSuffix = suffix;
    }
  }
  return { ok: true, version };
}

function invalid(raw: string, reason: string): VersionParseResult {
  return { ok: false, code: 'version-invalid', reason, raw };
}

function describeNonString(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  return typeof input;
}

function explainMismatch(raw: string): string {
  if (/^V\d/.test(raw)) return `"${raw}": the prefix must be a lower-case "v"`;
  if (/(^|[.v])0\d/.test(raw)) return `"${raw}": version numbers must not have leading zeros`;
  if (/^v?\d+$/.test(raw)) return `"${raw}" names no minor: expected MAJOR.MINOR[.PATCH], e.g. 1.33.4`;
  if (/^v?\d+\.\d+[-+]/.test(raw)) return `"${raw}": a build suffix needs a full MAJOR.MINOR.PATCH version`;
  if (/^v?\d+\.\d+\.\d+[-+]/.test(raw)) return `"${raw}": the suffix after the patch is malformed`;
  if (/\d{7,}/.test(raw)) return `"${raw}": version number out of range`;
  return `"${raw}" is not a Kubernetes version: expected MAJOR.MINOR[.PATCH] with an optional "v" prefix and vendor suffix, e.g. v1.33.4 or 1.31.5-gke.1234000`;
}

/** `1.34` → { major: 1, minor: 34 }; anything else (including `1.34.2`) → undefined. */
export function parseMinor(text: string): KubernetesMinor | undefined {
  const match = MINOR_RE.exec(text);
  return match ? { major: Number(match[1]), minor: Number(match[2]) } : undefined;
}

export function formatMinor(version: KubernetesMinor): string {
  return `${version.major}.${version.minor}`;
}

/** Sort order of minors: negative when a is older. */
export function compareMinors(a: KubernetesMinor, b: KubernetesMinor): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

/** Full version order; an absent patch sorts as .0 (a bare minor means "that minor"). */
export function compareVersions(a: ParsedKubernetesVersion, b: ParsedKubernetesVersion): number {
  return compareMinors(a, b) || (a.patch ?? 0) - (b.patch ?? 0);
}

/**
 * How many minors `to` is ahead of `from` (negative when behind). Undefined across majors: the
 * skew policy only defines distances within one major.
 */
export function minorDistance(from: KubernetesMinor, to: KubernetesMinor): number | undefined {
  return from.major === to.major ? to.minor - from.minor : undefined;
}

/** The minor `count` steps away within the same major; undefined below x.0. */
export function shiftMinor(version: KubernetesMinor, count: number): KubernetesMinor | undefined {
  const minor = version.minor + count;
  return Number.isInteger(minor) && minor >= 0 ? { major: version.major, minor } : undefined;
}

/** Every minor from `from` to `to` inclusive, oldest first, e.g. 1.29..1.31 → ['1.29','1.30','1.31']. */
export function minorRange(from: KubernetesMinor, to: KubernetesMinor): string[] {
  const distance = minorDistance(from, to);
  if (distance === undefined || distance < 0) return [];
  const minors: string[] = [];
  for (let minor = from.minor; minor <= to.minor; minor++) minors.push(`${from.major}.${minor}`);
  return minors;
}

/** Dense integer for a minor, for lookup tables; order-preserving. */
export function minorKey(version: KubernetesMinor): number {
  return version.major * 1_000_000 + version.minor;
}
