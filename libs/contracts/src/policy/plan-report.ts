import type { ClusterUpgradePlan, PlanStep, UpgradePlan } from './planner.js';
import type { NodePoolMove } from './skew.js';

/**
 * What changed between two revisions of a plan (after the fleet or the matrix changed), one
 * sentence per change, plan-level changes first, then clusters by id. `only`, when given, names
 * the only clusters whose plans can differ (FleetPlanner.changedIds: every other cluster's plan
 * is the same object in both), so a plan kept up to date is compared in time of its changes.
 */
export function diffPlans(previous: UpgradePlan, next: UpgradePlan, only?: ReadonlySet<string>): string[] {
  const changes: string[] = [];
  if (previous.fromRelease !== next.fromRelease || previous.toRelease !== next.toRelease) {
    changes.push(`upgrade changed from ${previous.fromRelease} -> ${previous.toRelease} to ${next.fromRelease} -> ${next.toRelease}`);
  }
  if (previous.policyRevision !== next.policyRevision) {
    changes.push(`support matrix revision changed from ${previous.policyRevision} to ${next.policyRevision}`);
  }
  if (previous.gate !== next.gate) changes.push(`upgrade gate changed from ${previous.gate ?? 'none'} to ${next.gate ?? 'none'}`);
  if (previous.accepted.join() !== next.accepted.join()) {
    changes.push(`accepted Kubernetes versions changed from ${list(previous.accepted)} to ${list(next.accepted)}`);
  }
  if (previous.maxConcurrency !== next.maxConcurrency) {
    changes.push(`maximum concurrency changed from ${previous.maxConcurrency} to ${next.maxConcurrency}`);
  }
  if (previous.satisfiable !== next.satisfiable) {
    changes.push(next.satisfiable ? 'plan became satisfiable' : `plan became unsatisfiable: ${next.issues.map((i) => i.reason).join('; ')}`);
  }

  if (only) return [...changes, ...diffClusters(previous, next, only)];
  const before = new Map<string, ClusterUpgradePlan>();
  for (const cluster of previous.clusters) before.set(cluster.clusterId, cluster);
  const seen = new Set<string>();
  const clusterChanges: { id: string; text: string }[] = [];
  for (const cluster of next.clusters) {
    seen.add(cluster.clusterId);
    const old = before.get(cluster.clusterId);
    if (!old) {
      clusterChanges.push({ id: cluster.clusterId, text: `cluster ${cluster.clusterId} added: ${summarise(cluster)}` });
      continue;
    }
    const fields = clusterFieldChanges(old, cluster);
    if (fields.length > 0) clusterChanges.push({ id: cluster.clusterId, text: `cluster ${cluster.clusterId}: ${fields.join('; ')}` });
  }
  for (const cluster of previous.clusters) {
    if (!seen.has(cluster.clusterId)) clusterChanges.push({ id: cluster.clusterId, text: `cluster ${cluster.clusterId} removed (was ${summarise(cluster)})` });
  }
  clusterChanges.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const change of clusterChanges) changes.push(change.text);
  return changes;
}

const NO_CHANGES: string[] = [];

/** The changes of the clusters named, found by id in both plans (sorted by id, as the planner makes them). */
function diffClusters(previous: UpgradePlan, next: UpgradePlan, ids: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const id of [...ids].sort()) {
    const old = findCluster(previous.clusters, id);
    const cluster = findCluster(next.clusters, id);
    if (old && cluster) {
      const fields = clusterFieldChanges(old, cluster);
      if (fields.length > 0) out.push(`cluster ${id}: ${fields.join('; ')}`);
    } else if (cluster) out.push(`cluster ${id} added: ${summarise(cluster)}`);
    else if (old) out.push(`cluster ${id} removed (was ${summarise(old)})`);
  }
  return out;
}

function findCluster(clusters: readonly ClusterUpgradePlan[], id: string): ClusterUpgradePlan | undefined {
  let low = 0;
  let high = clusters.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (clusters[middle]!.clusterId < id) low = middle + 1;
    else high = middle;
  }
  return clusters[low]?.clusterId === id ? clusters[low] : undefined;
}

function clusterFieldChanges(old: ClusterUpgradePlan, next: ClusterUpgradePlan): string[] {
  // Plans kept up to date share the plans of unchanged clusters, and clusters with the same outcome share paths.
  if (old === next) return NO_CHANGES;
  const fields: string[] = [];
  if (old.currentVersion !== next.currentVersion) fields.push(`version ${old.currentVersion} -> ${next.currentVersion}`);
  if (old.model !== next.model) fields.push(`model ${old.model} -> ${next.model}`);
  if (old.action !== next.action) fields.push(`action ${old.action} -> ${next.action}`);
  if (old.target !== next.target) fields.push(`target ${old.target ?? '-'} -> ${next.target ?? '-'}`);
  // Paths contain arrows themselves, so they read "now X (was Y)" rather than "Y -> X".
  if (old.path !== next.path && old.path.join() !== next.path.join()) fields.push(`path now ${path(next.path)} (was ${path(old.path)})`);
  if ((old.nodePoolMoves.length > 0 || next.nodePoolMoves.length > 0) && movesText(old.nodePoolMoves) !== movesText(next.nodePoolMoves)) {
    fields.push(`node pools to move first now ${movesText(next.nodePoolMoves) || 'none'} (was ${movesText(old.nodePoolMoves) || 'none'})`);
  }
  if (old.wave !== next.wave) fields.push(`wave ${old.wave ?? '-'} -> ${next.wave ?? '-'}`);
  if (!sameViolations(old, next) && violationsText(old) !== violationsText(next)) fields.push(`breaks today now ${violationsText(next) || 'nothing'} (was ${violationsText(old) || 'nothing'})`);
  if (old.code !== next.code || old.reason !== next.reason) fields.push(`reason now: ${next.reason}`);
  return fields;
}

/** Violations are judged once per version and pool, so equal ones are usually the same objects. */
function sameViolations(a: ClusterUpgradePlan, b: ClusterUpgradePlan): boolean {
  const x: ClusterUpgradePlan['violations'] | undefined = a.violations;
  const y: ClusterUpgradePlan['violations'] | undefined = b.violations;
  if (x === y) return true;
  if (x === undefined || y === undefined || x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function violationsText(cluster: ClusterUpgradePlan): string {
  // Revisions stored before violations were planned have none.
  const violations: ClusterUpgradePlan['violations'] | undefined = cluster.violations;
  return (violations ?? []).map((v) => (v.pool === null ? v.code : `${v.code} (${v.pool})`)).join(', ');
}

function summarise(cluster: ClusterUpgradePlan): string {
  const route = cluster.path.length > 0 ? ` ${path(cluster.path)}` : '';
  return `${cluster.action}${route}`;
}

function movesText(moves: readonly NodePoolMove[]): string {
  return moves.map((m) => `${m.pool} to ${m.to} before ${m.beforeControlPlane}`).join(', ');
}

function path(minors: readonly string[]): string {
  return minors.length > 0 ? minors.join(' -> ') : '-';
}

function list(minors: readonly string[]): string {
  return minors.length > 0 ? minors.join(', ') : 'none';
}

const COLUMNS = ['CLUSTER', 'MODEL', 'CURRENT', 'TARGET', 'PATH', 'ACTION', 'REASON'] as const;

/** A text report in the spirit of `clusterctl upgrade plan`: a header, one row per cluster, the order. */
export function renderPlanTable(plan: UpgradePlan): string {
  const rows: string[][] = plan.clusters.map((c) => [
    c.clusterId,
    c.model,
    c.currentVersion,
    c.target ?? '-',
    path(c.path),
    c.wave === null ? c.action : `${c.action} (wave ${c.wave})`,
    c.nodePoolMoves.length > 0 ? `${c.reason}; move node pools first: ${movesText(c.nodePoolMoves)}` : c.reason,
  ]);
  const widths = COLUMNS.map((title, i) => rows.reduce((max, row) => Math.max(max, row[i]!.length), title.length));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();

  const out: string[] = [
    `Global cluster upgrade ${plan.fromRelease} -> ${plan.toRelease}`,
    ...(plan.toVersion !== undefined ? [`Target Kubernetes version: ${plan.toVersion}`] : []),
    `Support matrix revision: ${plan.policyRevision}`,
    `Gate: ${plan.gate ?? '-'}; accepted Kubernetes versions: ${list(plan.accepted)}`,
    ...violationLines(plan),
    `Satisfiable: ${plan.satisfiable ? 'yes' : 'no'}`,
    ...plan.issues.map((issue) => `  - ${issue.reason}${issue.clusterIds.length > 0 ? `: ${issue.clusterIds.join(', ')}` : ''}`),
    '',
    line(COLUMNS),
    ...rows.map(line),
    '',
    'Order:',
    ...(plan.steps.length > 0 ? plan.steps.map(describeStep) : ['  (nothing can be ordered)']),
  ];
  return `${out.join('\n')}\n`;
}

/** What the fleet already breaks, first: one line per cluster and violation, with its repair. */
function violationLines(plan: UpgradePlan): string[] {
  const violations: UpgradePlan['violations'] | undefined = plan.violations;
  if (violations === undefined || violations.length === 0) return [];
  const lines = ['Already breaking the policy (repair first):'];
  for (const cluster of plan.clusters) {
    for (const violation of cluster.violations) {
      const repair = violation.repair.length > 0 ? `; repair: ${violation.repair.map((m) => m.reason).join(', then ')}` : '; no repair in the support matrix';
      lines.push(`  - ${cluster.clusterId}: ${violation.reason}${repair}`);
    }
  }
  return lines;
}

function describeStep(step: PlanStep): string {
  switch (step.type) {
    case 'workload-wave':
      return `  ${step.phase} wave ${step.wave} (global cluster on ${step.globalRelease}): ${step.clusterIds.join(', ')}`;
    case 'global-upgrade':
      return `  global cluster ${step.fromRelease} -> ${step.toRelease}${
        step.awaitingProvider.length > 0 ? ` once providers have upgraded: ${step.awaitingProvider.join(', ')}` : ''
      }`;
  }
}
