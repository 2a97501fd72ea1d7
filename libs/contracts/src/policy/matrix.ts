import { z } from 'zod';
import { compareMinors, formatMinor, minorDistance, minorKey, parseMinor, type KubernetesMinor } from './version.js';

/**
 * The support matrix as a document, like a release-metadata file: one entry per platform release
 * with the Kubernetes minors it creates, is compatible with and accepts from third parties, and
 * how upgrading the global cluster to it is gated.
 */

const KubernetesMinorText = z
  .string()
  .regex(/^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/, 'must be a Kubernetes minor like 1.34')
  .describe('Kubernetes minor, e.g. 1.34');

const ReleaseText = z
  .string()
  .regex(/^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/, 'must be a platform release like 4.3')
  .describe('Platform release (major.minor; patch releases never change the matrix)');

const VERSION_RANGE_RE = /^(>=|>)\s*(\d{1,6}\.\d{1,6}\.\d{1,6})\s+(<=|<)\s*(\d{1,6}\.\d{1,6}\.\d{1,6})$/;

export const UpgradeGateKind = z
  .enum(['latest-compatible-first', 'within-compatible-range'])
  .describe(
    'How workload clusters gate upgrading the global cluster TO this release: on the latest compatible minor (4.2 and earlier) or anywhere in the compatible minors (4.3 and later)',
  );
export type UpgradeGateKind = z.infer<typeof UpgradeGateKind>;

export const ExtendCapability = z
  .enum(['operators', 'cluster-plugins', 'clickhouse-logging', 'victoriametrics-monitoring'])
  .describe('Capability area covered by product validation of the default Extend baseline');
export type ExtendCapability = z.infer<typeof ExtendCapability>;

/** The facts of a release whose source is recorded one by one. */
export const MATRIX_FACTS = ['creation', 'compatible', 'thirdParty.range', 'thirdParty.validated', 'extendBaseline', 'upgradeGate', 'upgradeFrom'] as const;
export const MatrixFact = z.enum(MATRIX_FACTS).describe('A fact of a release entry, by its field path');
export type MatrixFact = z.infer<typeof MatrixFact>;

/** Where one fact comes from: the documentation states it, or it was inferred (and how). */
export type FactProvenance = { readonly fact: MatrixFact; readonly provenance: 'documented' } | { readonly fact: MatrixFact; readonly provenance: 'inferred'; readonly reasoning: string };

export const SupportMatrixRelease = z.strictObject({
  release: ReleaseText,
  provenance: z
    .enum(['documented', 'reconstructed'])
    .describe(
      "documented: the documentation's support matrix has a row for the release; reconstructed: the release is known only from upgrade examples. Which facts are inferred is in `inferred`",
    ),
  inferred: z
    .partialRecord(MatrixFact, z.string().min(1))
    .optional()
    .describe('Facts the documentation does not state, each with the reasoning that inferred it; every fact not listed here is documented'),
  creation: z.array(KubernetesMinorText).min(1).describe('Minors offered for new clusters, newest first'),
  compatible: z.array(KubernetesMinorText).min(1).describe('Minors workload clusters may run, newest first, no gaps'),
  thirdParty: z.strictObject({
    range: z
      .string()
      .regex(VERSION_RANGE_RE, 'must be a version range like ">=1.19.0 <1.35.0"')
      .describe('Kubernetes versions accepted for managing connected clusters'),
    validated: z.array(KubernetesMinorText).describe('Minors that passed third-party onboarding validation; may be empty'),
  }),
  extendBaseline: z.array(ExtendCapability),
  upgradeGate: UpgradeGateKind,
  upgradeFrom: z.array(ReleaseText).describe('Releases the global cluster may be upgraded from directly'),
  notes: z.array(z.string().min(1)).optional().describe('Sources and remarks, for people; what was inferred is under `inferred`, with its reasoning'),
});
export type SupportMatrixRelease = z.infer<typeof SupportMatrixRelease>;

export const SupportMatrixDocument = z.strictObject({
  apiVersion: z.literal('flotilla.io/v1'),
  kind: z.literal('SupportMatrix'),
  revision: z.string().min(1).describe('Changes whenever any fact changes; recorded in every decision'),
  releases: z.array(SupportMatrixRelease).min(1).describe('Newest release first'),
});
export type SupportMatrixDocument = z.infer<typeof SupportMatrixDocument>;

/** Where one fact of a release comes from: `documented` unless its entry lists it under `inferred`. */
export function factProvenance(entry: Pick<SupportMatrixRelease, 'inferred'>, fact: MatrixFact): FactProvenance {
  const reasoning = entry.inferred?.[fact];
  return reasoning === undefined ? { fact, provenance: 'documented' } : { fact, provenance: 'inferred', reasoning };
}

/** The provenance of every fact of a release, in MATRIX_FACTS order. */
export function releaseProvenance(entry: Pick<SupportMatrixRelease, 'inferred'>): FactProvenance[] {
  return MATRIX_FACTS.map((fact) => factProvenance(entry, fact));
}

/** One end of a third-party version range. */
export interface VersionBound {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly inclusive: boolean;
}

/** A release entry with its lookups precomputed, so rules and the planner never rescan lists. */
export interface ReleasePolicy {
  readonly release: string;
  /** Order of releases: major * 1e6 + minor. */
  readonly order: number;
  readonly entry: SupportMatrixRelease;
  /** Compatible minors are contiguous (validated), so bounds answer membership. */
  readonly oldestCompatible: KubernetesMinor;
  readonly newestCompatible: KubernetesMinor;
  readonly creationKeys: ReadonlySet<number>;
  /** The newest minor offered for creation: where optional upgrades after the global lead. */
  readonly newestCreation: KubernetesMinor;
  readonly thirdPartyLower: VersionBound;
  readonly thirdPartyUpper: VersionBound;
  readonly validatedKeys: ReadonlySet<number>;
  readonly upgradeFrom: ReadonlySet<string>;
}

export interface SupportMatrix {
  readonly revision: string;
  readonly document: SupportMatrixDocument;
  readonly releases: ReadonlyMap<string, ReleasePolicy>;
}

export type MatrixIssueCode =
  | 'schema-invalid'
  | 'range-malformed'
  | 'range-empty'
  | 'duplicate-release'
  | 'releases-unsorted'
  | 'duplicate-minor'
  | 'minors-unsorted'
  | 'minors-gapped'
  | 'creation-not-compatible'
  | 'validated-outside-range'
  | 'upgrade-from-unknown'
  | 'upgrade-from-not-older'
  | 'upgrade-path-without-common-minor'
  | 'reconstructed-without-inferred';

export interface MatrixIssue {
  readonly code: MatrixIssueCode;
  /** Dotted path of the offending field, e.g. `releases.1.compatible.2`. */
  readonly path: string;
  readonly message: string;
}

export type SupportMatrixParseResult =
  | { readonly ok: true; readonly matrix: SupportMatrix }
  | { readonly ok: false; readonly code: 'matrix-invalid'; readonly issues: readonly MatrixIssue[]; readonly reason: string };

const DocumentHeader = SupportMatrixDocument.extend({ releases: z.array(z.unknown()).min(1) });

/**
 * Validates a support-matrix document (already decoded from JSON) and compiles its lookups. A
 * failure lists every bad field and every semantic problem, not just the first.
 */
export function parseSupportMatrix(json: unknown): SupportMatrixParseResult {
  const issues: MatrixIssue[] = [];
  const header = DocumentHeader.safeParse(json);
  if (!header.success) {
    issues.push(...fromZod(header.error, []));
    // Still look at the releases when they are there, so one run names every problem.
    const releases = isRecord(json) && Array.isArray(json['releases']) ? (json['releases'] as unknown[]) : [];
    collectReleaseIssues(releases, issues);
    return failure(issues);
  }
  const entries = collectReleaseIssues(header.data.releases, issues);
  if (issues.length > 0) return failure(issues);
  const document: SupportMatrixDocument = { ...header.data, releases: entries.map((e) => e.entry) };
  const releases = new Map<string, ReleasePolicy>();
  for (const { entry, lower, upper } of entries) releases.set(entry.release, compileRelease(entry, lower, upper));
  return { ok: true, matrix: { revision: document.revision, document, releases } };
}

interface CheckedRelease {
  readonly index: number;
  readonly entry: SupportMatrixRelease;
  readonly lower: VersionBound;
  readonly upper: VersionBound;
}

function collectReleaseIssues(raw: readonly unknown[], issues: MatrixIssue[]): CheckedRelease[] {
  const checked: CheckedRelease[] = [];
  raw.forEach((item, index) => {
    const parsed = SupportMatrixRelease.safeParse(item);
    if (!parsed.success) {
      issues.push(...fromZod(parsed.error, ['releases', index]));
      return;
    }
    const checkedRelease = checkRelease(parsed.data, index, issues);
    if (checkedRelease) checked.push(checkedRelease);
  });
  checkAcrossReleases(checked, issues);
  return checked;
}

function checkRelease(entry: SupportMatrixRelease, index: number, issues: MatrixIssue[]): CheckedRelease | undefined {
  const at = (...rest: (string | number)[]) => ['releases', index, ...rest].join('.');
  const before = issues.length;
  checkMinorList(entry.compatible, at('compatible'), true, issues);
  checkMinorList(entry.creation, at('creation'), false, issues);
  checkMinorList(entry.thirdParty.validated, at('thirdParty', 'validated'), false, issues);
  const compatible = new Set(entry.compatible);
  entry.creation.forEach((minor, i) => {
    if (!compatible.has(minor)) {
      issues.push({
        code: 'creation-not-compatible',
        path: at('creation', i),
        message: `release ${entry.release} creates clusters on ${minor}, which is not in its compatible minors (${entry.compatible.join(', ')})`,
      });
    }
  });
  const range = parseRange(entry.thirdParty.range);
  if (range === undefined) {
    issues.push({ code: 'range-malformed', path: at('thirdParty', 'range'), message: `"${entry.thirdParty.range}" is not a version range like ">=1.19.0 <1.35.0"` });
  } else if (!rangeHasVersions(range.lower, range.upper)) {
    issues.push({ code: 'range-empty', path: at('thirdParty', 'range'), message: `"${entry.thirdParty.range}" admits no version` });
  } else {
    entry.thirdParty.validated.forEach((text, i) => {
      const minor = parseMinor(text);
      if (minor && !minorOverlapsRange(minor, range.lower, range.upper)) {
        issues.push({
          code: 'validated-outside-range',
          path: at('thirdParty', 'validated', i),
          message: `validated minor ${text} lies outside the third-party range "${entry.thirdParty.range}"`,
        });
      }
    });
  }
  entry.upgradeFrom.forEach((from, i) => {
    if (entry.upgradeFrom.indexOf(from) !== i) {
      issues.push({ code: 'duplicate-release', path: at('upgradeFrom', i), message: `upgradeFrom lists ${from} twice` });
    }
  });
  if (issues.length > before || range === undefined) return undefined;
  // Provenance is for people: a release that does not state it is still checked against the others.
  if (entry.provenance === 'reconstructed' && Object.keys(entry.inferred ?? {}).length === 0) {
    issues.push({
      code: 'reconstructed-without-inferred',
      path: at('inferred'),
      message: `release ${entry.release} is reconstructed: list the facts that were inferred, each with its reasoning`,
    });
  }
  return { index, entry, lower: range.lower, upper: range.upper };
}

/** Lists are newest first, without duplicates; the compatible list also without gaps. */
function checkMinorList(list: readonly string[], path: string, contiguous: boolean, issues: MatrixIssue[]): void {
  const seen = new Set<string>();
  for (let i = 0; i < list.length; i++) {
    const text = list[i]!;
    if (seen.has(text)) {
      issues.push({ code: 'duplicate-minor', path: `${path}.${i}`, message: `${text} is listed twice` });
      continue;
    }
    seen.add(text);
    if (i === 0) continue;
    const previous = parseMinor(list[i - 1]!);
    const current = parseMinor(text);
    if (!previous || !current) continue;
    if (compareMinors(previous, current) < 0) {
      issues.push({ code: 'minors-unsorted', path: `${path}.${i}`, message: `${text} follows ${list[i - 1]!}: list minors newest first` });
    } else if (contiguous && minorDistance(current, previous) !== 1) {
      issues.push({
        code: 'minors-gapped',
        path: `${path}.${i}`,
        message: `${text} follows ${list[i - 1]!}: compatible minors must be consecutive (a gap would allow no one-minor upgrade path through it)`,
      });
    }
  }
}

function checkAcrossReleases(checked: readonly CheckedRelease[], issues: MatrixIssue[]): void {
  const byRelease = new Map<string, CheckedRelease>();
  let previous: CheckedRelease | undefined;
  for (const current of checked) {
    const { entry, index } = current;
    const duplicate = byRelease.get(entry.release);
    if (duplicate) {
      issues.push({ code: 'duplicate-release', path: `releases.${index}.release`, message: `release ${entry.release} is also defined at releases.${duplicate.index}` });
    } else {
      byRelease.set(entry.release, current);
    }
    if (previous && releaseOrder(previous.entry.release) < releaseOrder(entry.release)) {
      issues.push({
        code: 'releases-unsorted',
        path: `releases.${index}.release`,
        message: `release ${entry.release} follows ${previous.entry.release}: list releases newest first`,
      });
    }
    previous = current;
  }
  for (const { entry, index } of checked) {
    entry.upgradeFrom.forEach((from, i) => {
      const path = `releases.${index}.upgradeFrom.${i}`;
      const source = byRelease.get(from);
      if (!source) {
        issues.push({ code: 'upgrade-from-unknown', path, message: `release ${entry.release} upgrades from ${from}, which the matrix does not define` });
      } else if (releaseOrder(from) >= releaseOrder(entry.release)) {
        issues.push({ code: 'upgrade-from-not-older', path, message: `release ${entry.release} cannot be upgraded to from ${from}, which is not older` });
      } else if (commonNewestMinor(source.entry.compatible, entry.compatible) === undefined) {
        issues.push({
          code: 'upgrade-path-without-common-minor',
          path,
          message: `no Kubernetes minor is compatible with both ${from} and ${entry.release}, so no workload cluster could satisfy the upgrade gate`,
        });
      }
    });
  }
}

function compileRelease(entry: SupportMatrixRelease, lower: VersionBound, upper: VersionBound): ReleasePolicy {
  const compatible = entry.compatible.map((m) => parseMinor(m)!);
  const creation = entry.creation.map((m) => parseMinor(m)!);
  return {
    release: entry.release,
    order: releaseOrder(entry.release),
    entry,
    newestCompatible: compatible[0]!,
    oldestCompatible: compatible[compatible.length - 1]!,
    creationKeys: new Set(creation.map(minorKey)),
    newestCreation: creation[0]!,
    thirdPartyLower: lower,
    thirdPartyUpper: upper,
    validatedKeys: new Set(entry.thirdParty.validated.map((m) => minorKey(parseMinor(m)!))),
    upgradeFrom: new Set(entry.upgradeFrom),
  };
}

/**
 * The newest minor both releases list as compatible: what "the latest documented compatible
 * version" means for an upgrade between them (see README).
 */
export function commonNewestMinor(source: readonly string[], target: readonly string[]): string | undefined {
  const targetSet = new Set(target);
  let best: KubernetesMinor | undefined;
  for (const text of source) {
    const minor = parseMinor(text);
    if (minor && targetSet.has(text) && (!best || compareMinors(minor, best) > 0)) best = minor;
  }
  return best ? formatMinor(best) : undefined;
}

/** Release order as a number (4.10 after 4.9); NaN for text that is not major.minor. */
export function releaseOrder(release: string): number {
  const parsed = parseMinor(release);
  return parsed ? minorKey(parsed) : Number.NaN;
}

function parseRange(text: string): { lower: VersionBound; upper: VersionBound } | undefined {
  const match = VERSION_RANGE_RE.exec(text.trim());
  if (!match) return undefined;
  const lower = bound(match[2]!, match[1] === '>=');
  const upper = bound(match[4]!, match[3] === '<=');
  return lower && upper ? { lower, upper } : undefined;
}

function bound(text: string, inclusive: boolean): VersionBound | undefined {
  const parts = text.split('.');
  // Leading zeros ("1.019.0") are as malformed in a range as in a version.
  if (parts.some((p) => p.length > 1 && p.startsWith('0'))) return undefined;
  const [major, minor, patch] = parts.map(Number) as [number, number, number];
  return { major, minor, patch, inclusive };
}

function compareToBound(major: number, minor: number, patch: number, b: VersionBound): number {
  return major - b.major || minor - b.minor || patch - b.patch;
}

/** True when the exact version satisfies the range. */
export function versionInRange(major: number, minor: number, patch: number, lower: VersionBound, upper: VersionBound): boolean {
  const low = compareToBound(major, minor, patch, lower);
  const high = compareToBound(major, minor, patch, upper);
  return (lower.inclusive ? low >= 0 : low > 0) && (upper.inclusive ? high <= 0 : high < 0);
}

/**
 * Where a whole minor lies against a range: every patch inside, none, or only some (then the
 * patch decides). Patches are treated as unbounded above, which matches how ranges are written.
 */
export function minorAgainstRange(minor: KubernetesMinor, lower: VersionBound, upper: VersionBound): 'inside' | 'outside' | 'partial' {
  const vsLower = minor.major - lower.major || minor.minor - lower.minor;
  const vsUpper = minor.major - upper.major || minor.minor - upper.minor;
  if (vsLower < 0 || vsUpper > 0 || (vsUpper === 0 && upper.patch === 0 && !upper.inclusive)) return 'outside';
  const zeroVsLower = compareToBound(minor.major, minor.minor, 0, lower);
  const everyPatchAboveLower = zeroVsLower > 0 || (zeroVsLower === 0 && lower.inclusive);
  // Any bound inside the minor itself (upper on the same minor, lower above .0) lets the patch decide.
  return vsUpper < 0 && everyPatchAboveLower ? 'inside' : 'partial';
}

function minorOverlapsRange(minor: KubernetesMinor, lower: VersionBound, upper: VersionBound): boolean {
  return minorAgainstRange(minor, lower, upper) !== 'outside';
}

function rangeHasVersions(lower: VersionBound, upper: VersionBound): boolean {
  const order = lower.major - upper.major || lower.minor - upper.minor || lower.patch - upper.patch;
  return order < 0 || (order === 0 && lower.inclusive && upper.inclusive);
}

function fromZod(error: z.ZodError, prefix: readonly (string | number)[]): MatrixIssue[] {
  return error.issues.map((issue) => {
    const segments = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? p.toString() : p))];
    const path = segments.join('.') || '(root)';
    // A range that fails the schema's pattern is the "malformed range" users look for by name.
    const code: MatrixIssueCode = segments[segments.length - 1] === 'range' && issue.code === 'invalid_format' ? 'range-malformed' : 'schema-invalid';
    return { code, path, message: issue.message };
  });
}

function failure(issues: readonly MatrixIssue[]): SupportMatrixParseResult {
  return {
    ok: false,
    code: 'matrix-invalid',
    issues,
    reason: `invalid support matrix: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The document as the checked-in JSON file holds it (two-space indent, trailing newline). */
export function serializeSupportMatrix(document: SupportMatrixDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
