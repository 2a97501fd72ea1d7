// The shapes of the API answers the CLI reads (deploy/openapi/flotilla.openapi.json), only the
// fields it uses. The CLI depends on no server package: it talks to the API as any client does.

export type ClusterModel = 'platform-provisioned' | 'user-provisioned' | 'hosted-control-plane' | 'connected' | 'public-cloud';
export const CLUSTER_MODELS: readonly ClusterModel[] = ['platform-provisioned', 'user-provisioned', 'hosted-control-plane', 'connected', 'public-cloud'];
export const CLUSTER_STATUSES = ['Pending', 'Provisioning', 'Running', 'Failed', 'Importing', 'Rejected', 'Deleted'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];

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
}

export interface MachineCount {
  ready: number;
  total: number;
}

export interface ClusterProgress {
  phase: string;
  controlPlane: MachineCount;
  nodePools: (MachineCount & { pool: string })[];
  operation: { kind: 'scale' | 'upgrade' | 'delete'; pool?: string; from?: number; to?: number; planId?: string; fromVersion?: string; toVersion?: string } | null;
  time: string;
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
  requestEventId: string | null;
  requestType: string | null;
  reasons: Reason[];
}

/** GET /api/v1/clusters items and GET /api/v1/clusters/{id}. */
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
  /** The infrastructure or import provider (eks, aks, gke, cncf, ...); absent from APIs that predate it. */
  provider?: string | null;
  /** A public-cloud cluster's region (AWS region, Azure location, GCP region or zone); absent from APIs that predate it. */
  region?: string | null;
  /** When the inventory first knew the cluster; absent from APIs that predate it. */
  createdAt?: string;
  lastEventTime: string;
  pendingRequests: PendingRequest[];
  lastRefusal: Refusal | null;
  progress: ClusterProgress | null;
}

export interface HistoryLine {
  eventId: string;
  type: string;
  source: string;
  time: string;
  traceId: string | null;
  summary: string;
}

export interface ClusterDetail extends Cluster {
  history: HistoryLine[];
  historyNextCursor: string | null;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  total?: number;
}

export interface CommandAccepted {
  eventId: string;
  clusterId: string;
  href: string;
}

/** Conditions in the Cluster API style, as the provisioner reports them. */
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
  kubernetesVersion: string;
  kubeletVersion: string | null;
  failureReason: Reason | null;
  conditions: Condition[];
}

/** GET /api/v1/provisioner/clusters/{id}. */
export interface ProvisionerCluster {
  id: string;
  model: string;
  kubernetesVersion: string;
  requestedVersion: string;
  release: string;
  phase: string;
  conditions: Condition[];
  failureReasons: Reason[];
  requestedAt: string;
  machines: Machine[];
}

export interface SupportMatrixRelease {
  release: string;
  creation: string[];
  compatible: string[];
  thirdParty?: { range: string };
  /** within-compatible-range (4.3 and later) or latest-compatible-first (4.2 and earlier). */
  upgradeGate: string;
  upgradeFrom: string[];
}

/** GET /api/v1/support-matrix. */
export interface SupportMatrixView {
  revision: string;
  platformRelease: { release: string };
  document: { releases: SupportMatrixRelease[] };
}

/** GET /api/v1/fleet/{id}. */
export interface FleetAnswer {
  entry: { controlPlaneVersion: string | null; nodes: { name: string; kubeletVersion?: string | null; pool?: string | null }[] };
  plannable: { controlPlaneVersion: string; nodePools: { name: string; version: string }[] } | null;
}

export interface PlanStep {
  type: 'workload-wave' | 'global-upgrade';
  phase?: 'pre-global' | 'post-global';
  wave?: number;
  globalRelease?: string;
  clusterIds?: string[];
  fromRelease?: string;
  toRelease?: string;
  awaitingProvider?: string[];
}

export interface ClusterUpgradePlan {
  clusterId: string;
  model: ClusterModel;
  currentVersion: string;
  target: string | null;
  action: string;
  path: string[];
  wave: number | null;
  code: string;
  reason: string;
}

/** POST /api/v1/upgrade-plans and GET /api/v1/upgrade-plans/{id}. */
export interface UpgradePlan {
  id: string;
  status: string;
  revision: number;
  fromRelease: string;
  toRelease: string;
  toVersion?: string;
  route: string[];
  policyRevision: string;
  satisfiable: boolean;
  issues: { code: string; reason: string; clusterIds: string[] }[];
  clusters: ClusterUpgradePlan[];
  steps: PlanStep[];
  summary: Record<string, number>;
}

export interface PlanListItem {
  id: string;
  status: string;
  fromRelease: string;
  toRelease: string;
  toVersion: string | null;
  currentRevision: number;
}

export interface TokenDescription {
  id: string;
  subject: string;
  role: 'viewer' | 'operator' | 'admin';
  scope: { labels: Record<string, string> } | null;
  description: string | null;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface CreatedRegistration {
  clusterId: string;
  registrationId: string;
  token: string;
  expiresAt: string;
  manifest: string;
}

/** GET /api/v1/cloud-accounts/{ref}/clusters items. */
export interface CloudCluster {
  provider: string;
  name: string;
  location: string;
  resourceGroup?: string;
  version: string;
  status: string;
  endpoint: string | null;
}

/** GET /api/v1/dead-letters items. */
export interface DeadLetter {
  id: string;
  service: string;
  consumer: string;
  code: string;
  reason: string;
  deliveries: number | null;
  event: { id: string | null; type: string | null; subject: string | null; time: string | null };
  deadLetteredAt: string;
  replayedAt: string | null;
  replayedBy: string | null;
}

/** GET /api/v1/connected-clusters/{id}: the importer's view of a connected cluster. */
export interface ConnectedClusterView {
  id: string;
  provider: string;
  apiServer: string | null;
  cloud: { clusterName: string; region?: string; subscriptionId?: string; resourceGroup?: string; projectId?: string; location?: string } | null;
  credentialRef: string;
  state: string;
  kubernetesVersion: string | null;
  distribution: string | null;
  nodeCount: number | null;
  importedAt: string | null;
}
