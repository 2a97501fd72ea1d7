import { BadRequestException } from '@nestjs/common';
import { canCreate, checkControlPlaneStep, factProvenance, isCompatible, type FactProvenance, type MatrixFact, type PolicyCode } from '@flotilla/contracts';
import type { PolicySnapshot } from '@flotilla/service-kit';

/** One rule of the policy in force that a request breaks, named the way the 400 shows it. */
export interface PolicyProblem {
  /** The request's field, as in every other 400. */
  field: string;
  /** The rule (a code of libs/contracts/src/policy/codes.ts). */
  code: PolicyCode;
  message: string;
  release: string;
  policyRevision: string;
  /** Where the fact the rule rests on comes from; absent for upstream Kubernetes rules. */
  provenance?: FactProvenance;
}

/**
 * What the policy in force already refuses about a new cluster, so the API answers 400 instead of
 * 202 followed by ClusterProvisioningFailed: the same rule (canCreate) on the same revision and
 * release the provisioner judges by.
 */
export function creationProblems(kubernetesVersion: string, policy: PolicySnapshot): PolicyProblem[] {
  const decision = canCreate(kubernetesVersion, policy.release, policy.matrix);
  if (decision.allowed) return [];
  return [problem('kubernetesVersion', decision.code, decision.reason, policy, 'creation')];
}

/**
 * What the policy in force already refuses about one upgrade step: the control plane moves one
 * minor at a time and never back (upstream), to a version the release is compatible with.
 * Kubelet skew needs the nodes: the provisioner judges it.
 */
export function upgradeStepProblems(currentVersion: string, toVersion: string, policy: PolicySnapshot): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const step = checkControlPlaneStep(currentVersion, toVersion);
  if (step.code === 'control-plane-skips-minor' || step.code === 'control-plane-downgrade') problems.push(problem('toVersion', step.code, step.reason, policy));
  const compatible = isCompatible(toVersion, policy.release, policy.matrix);
  if (!compatible.allowed && !problems.some((p) => p.code === compatible.code)) problems.push(problem('toVersion', compatible.code, compatible.reason, policy, 'compatible'));
  return problems;
}

function problem(field: string, code: PolicyCode, reason: string, policy: PolicySnapshot, fact?: MatrixFact): PolicyProblem {
  const entry = policy.matrix.releases.get(policy.release)?.entry;
  return {
    field,
    code,
    message: reason,
    release: policy.release,
    policyRevision: policy.matrix.revision,
    ...(fact && entry ? { provenance: factProvenance(entry, fact) } : {}),
  };
}

/** A 400 in the shape of every other one (`message`, `errors[].field`), with the rule and the revision. */
export function refuseByPolicy(problems: readonly PolicyProblem[]): void {
  if (problems.length === 0) return;
  throw new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: problems.map((p) => `${p.field}: ${p.message} (${p.code}, support matrix ${p.policyRevision}, release ${p.release})`),
    errors: problems,
  });
}
