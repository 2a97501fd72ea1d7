import type { PlanStep, UpgradePlan } from '../api/types.js';
import { renderCells } from '../output/table.js';

function stepLine(step: PlanStep): string {
  if (step.type === 'global-upgrade') {
    const waiting = step.awaitingProvider?.length ? ` (waiting for providers to upgrade: ${step.awaitingProvider.join(', ')})` : '';
    return `global cluster ${step.fromRelease} → ${step.toRelease}${waiting}`;
  }
  const clusters = step.clusterIds ?? [];
  return `wave ${step.wave} ${step.phase ?? ''} on ${step.globalRelease}: ${clusters.length} cluster${clusters.length === 1 ? '' : 's'} (${clusters.join(', ')})`;
}

/** A plan as people read it: the route, every cluster's row like clusterctl upgrade plan, the issues, then the steps in order. */
export function renderPlan(plan: UpgradePlan): string {
  const heading = [
    `Plan ${plan.id} (revision ${plan.revision}, ${plan.status}): ${plan.route.length ? plan.route.join(' → ') : `${plan.fromRelease} → ${plan.toRelease}: no route`}${plan.toVersion ? `, clusters to ${plan.toVersion}` : ''}`,
    `Support matrix ${plan.policyRevision}; ${plan.satisfiable ? 'can be carried out' : 'CANNOT be carried out as it stands'}; ${Object.entries(plan.summary)
      .filter(([, count]) => count > 0)
      .map(([action, count]) => `${action} ${count}`)
      .join(', ')}`,
  ].join('\n');
  const rows = plan.clusters.map((entry) => [entry.clusterId, entry.model, entry.currentVersion, entry.target ?? '-', entry.path.length ? entry.path.join('→') : '-', entry.action, entry.wave === null ? '-' : String(entry.wave), entry.reason]);
  const table = rows.length ? renderCells(['CLUSTER', 'MODEL', 'CURRENT', 'TARGET', 'PATH', 'ACTION', 'WAVE', 'REASON'], rows) : 'No workload clusters.\n';
  const issues = plan.issues.length ? `\nIssues:\n${plan.issues.map((issue) => `  ${issue.code}: ${issue.reason}${issue.clusterIds.length ? ` (${issue.clusterIds.join(', ')})` : ''}`).join('\n')}\n` : '';
  const steps = plan.steps.length ? `\nSteps:\n${plan.steps.map((step, index) => `  ${index + 1}. ${stepLine(step)}`).join('\n')}\n` : '';
  return `${heading}\n\n${table}${issues}${steps}`;
}
