// The shapes the dashboard reads from Flotilla's API: only the fields it shows. The services'
// OpenAPI document (/api/docs) is the authority.

export const CLUSTER_MODELS = ['platform-provisioned', 'user-provisioned', 'hosted-control-plane', 'connected', 'public-cloud'] as const;
export type ClusterModel = (typeof CLUSTER_MODELS)[number];
export const CLUSTER_STATUSES = ['Pending', 'Provisioning', 'Running', 'Failed', 'Importing', 'Rejected', 'Deleted'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];
export type Role = 'viewer' | 'operator' | 'admin';

export interface Reason {
  code: string;
  message: string;
  field?: string;
}

export interface ClusterNode {
  name: string;
  role: 'control-plane' | 'worker';
  pool?: string;
  kubeletVersion?: string;
  machineSize?: string;
  addresses?: string[];
}

export interface PendingRequest {
  eventId: string;
  type: string;
  time: string;
  summary: string;
}

export interface Refusal {
  eventId: string;
  type: string;
  source: string;
  time: string;
  requestType: string | null;
  reasons: Reason[];
}

export interface ClusterProgress {
  phase: string;
  controlPlane: { ready: number; total: number };
  nodePools: { pool: string; ready: number; total: number }[];
  time: string;
}

/** An item of GET /api/v1/clusters, and GET /api/v1/clusters/{id} without its history. */
export interface Cluster {
  id: string;
  name: string | null;
  model: ClusterModel | null;
  labels: Record<string, string>;
  status: ClusterStatus;
  kubernetesVersion: string | null;
  distribution: string | null;
  nodes: ClusterNode[];
  reasons: Reason[];
  warnings: Reason[];
  reachable: boolean | null;
  tunnel: 'connected' | 'disconnected' | null;
  access: 'direct' | 'tunnel' | null;
  /** The infrastructure, cloud (public-cloud) or import provider; absent from APIs that predate it. */
  provider?: string | null;
  /** A public-cloud cluster's region; absent from APIs that predate it. */
  region?: string | null;
  lastEventTime: string;
  pendingRequests: PendingRequest[];
  lastRefusal: Refusal | null;
  progress: ClusterProgress | null;
}

export interface ClusterPage {
  items: Cluster[];
  total?: number;
  nextCursor: string | null;
}

export interface HistoryLine {
  eventId: string;
  type: string;
  source: string;
  time: string;
  traceId: string | null;
  summary: string;
}

export interface HistoryPage {
  items: HistoryLine[];
  nextCursor: string | null;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message?: string;
  lastTransitionTime: string;
}

export interface Machine {
  name: string;
  role: 'control-plane' | 'worker';
  pool: string | null;
  machineSize: string | null;
  host: string | null;
  phase: string;
  providerId: string | null;
  addresses: string[];
  kubeletVersion: string | null;
  failureReason: Reason | null;
  conditions: Condition[];
}

/** GET /api/v1/provisioner/clusters/{id}: the provisioner's side of a cluster it builds. */
export interface ProvisionerCluster {
  id: string;
  phase: string;
  release: string;
  kubernetesVersion: string;
  requestedVersion: string;
  operation: { kind: string; startedAt: string } | null;
  conditions: Condition[];
  failureReasons: Reason[];
  machines: Machine[];
}

/** GET /api/v1/fleet: the clusters the upgrade planner plans for. */
export interface FleetCluster {
  id: string;
  model: ClusterModel;
  controlPlaneVersion: string;
  distribution?: string;
}

export interface FleetPage {
  items: FleetCluster[];
  total: number;
  nextCursor: string | null;
}

export interface SupportMatrixRelease {
  release: string;
  creation: string[];
  compatible: string[];
  upgradeFrom: string[];
}

/** GET /api/v1/support-matrix. */
export interface SupportMatrix {
  revision: string;
  platformRelease: { release: string };
  document: { releases: SupportMatrixRelease[] };
}

export type PlanStep =
  | { type: 'workload-wave'; phase: 'pre-global' | 'post-global'; wave: number; globalRelease?: string; clusterIds: string[] }
  | { type: 'global-upgrade'; fromRelease: string; toRelease: string; awaitingProvider: string[] };

export interface PlannedCluster {
  clusterId: string;
  model: ClusterModel;
  currentVersion: string;
  target?: string | null;
  action: string;
  path: string[];
  wave?: number;
  code?: string;
  reason: string;
}

export interface PlanListItem {
  id: string;
  status: string;
  fromRelease: string;
  toRelease: string;
  toVersion: string | null;
  maxConcurrency: number;
  currentRevision: number;
}

/** GET /api/v1/upgrade-plans/{id}. */
export interface Plan extends PlanListItem {
  revision: number;
  satisfiable: boolean;
  policyRevision: string;
  route?: string[];
  issues: { code: string; reason: string; clusterIds: string[]; clusterCount?: number }[];
  violations?: { code: string; reason: string; clusterIds: string[]; clusterCount?: number }[];
  clusters: PlannedCluster[];
  clusterCount?: number;
  steps?: PlanStep[];
  changes: string[];
  revisedAt: string;
}

/** GET /api/v1/audit. */
export interface AuditRecord {
  id: string;
  time: string;
  service: string;
  subject: string;
  role?: Role;
  method: string;
  route: string;
  clusterId?: string;
  result: 'ok' | 'refused' | 'failed';
  status: number;
  reason?: string;
  traceId?: string;
}

export interface AuditPage {
  items: AuditRecord[];
  nextCursor: string | null;
}
