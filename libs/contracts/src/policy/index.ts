// Public surface of the version policy; helpers the modules share stay internal.
export { POLICY_CODES, describePolicyCode, type PolicyCode } from './codes.js';
export {
  parseKubernetesVersion,
  parseMinor,
  formatMinor,
  compareMinors,
  compareVersions,
  minorDistance,
  shiftMinor,
  minorRange,
  type KubernetesMinor,
  type ParsedKubernetesVersion,
  type VersionParseResult,
} from './version.js';
export {
  SupportMatrixDocument,
  SupportMatrixRelease,
  UpgradeGateKind,
  ExtendCapability,
  parseSupportMatrix,
  serializeSupportMatrix,
  factProvenance,
  releaseProvenance,
  MATRIX_FACTS,
  MatrixFact,
  type FactProvenance,
  type SupportMatrix,
  type ReleasePolicy,
  type VersionBound,
  type MatrixIssue,
  type MatrixIssueCode,
  type SupportMatrixParseResult,
} from './matrix.js';
export { SUPPORT_MATRIX_DOCUMENT, defaultSupportMatrix } from './support-matrix.data.js';
export { FleetCluster, FleetNodePool } from './fleet.js';
export {
  canCreate,
  isCompatible,
  canOnboard,
  checkUpgradePath,
  checkWorkloadRelease,
  globalUpgradeGate,
  resolveUpgradeRequirement,
  type PolicyDecision,
  type VersionInput,
  type CreateDecision,
  type CompatibilityDecision,
  type OnboardDecision,
  type UpgradePathDecision,
  type WorkloadReleaseDecision,
  type UpgradeRequirement,
  type UpgradeRequirementResult,
  type GateBlocker,
  type GateDecision,
} from './rules.js';
export {
  KUBERNETES_SKEW_POLICY,
  maxKubeletSkew,
  checkControlPlaneStep,
  checkKubeletSkew,
  nodePoolsToMoveFirst,
  type ControlPlaneStepDecision,
  type KubeletSkewDecision,
  type NodePoolMove,
  type NodePoolMovesResult,
} from './skew.js';
export { resolveUpgradeRoute, type UpgradeRoute, type RouteResult, type RouteProblem, type RouteProblemCode } from './route.js';
export { ViolationJudge, type PolicyViolation, type RepairMove, type ViolationCode } from './violations.js';
export {
  planGlobalUpgrade,
  FleetPlanner,
  type ClusterStep,
  type PlanViolationGroup,
  type PlanGlobalUpgradeInput,
  type UpgradePlan,
  type ClusterUpgradePlan,
  type ClusterUpgradeAction,
  type ClusterPlanCode,
  type PlanIssue,
  type PlanIssueCode,
  type PlanStep,
} from './planner.js';
export { diffPlans, renderPlanTable } from './plan-report.js';
