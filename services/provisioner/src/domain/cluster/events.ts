import type { ClusterModel, ClusterSpec, Node } from '@flotilla/contracts';
import type { MachineRole, PlannedMachine } from '../machine-plan.js';
import type { ProvisionerReason } from '../reasons.js';
import type { MachineRemoval, ReplaceReason } from './state.js';

// What `decide` answers and `evolve` folds into state; the bus hears of some of them (`repositories/integration-events.ts`).

/** A machine made once the cluster exists (scale-up, replacement), on a given version. */
export interface NewMachine extends PlannedMachine {
  kubernetesVersion: string;
  replaces: { machine: string; reason: ReplaceReason } | null;
}

export interface UpgradeFacts {
  clusterId: string;
  model: ClusterModel;
  planId: string;
  fromVersion: string;
  toVersion: string;
  /** The support-matrix revision the step was judged under. */
  policyRevision?: string;
  at: string;
}

export type ClusterEvent =
  | { type: 'ClusterAccepted'; clusterId: string; spec: ClusterSpec; release: string; policyRevision?: string; machines: PlannedMachine[]; apiServerEndpoint?: string; at: string }
  | { type: 'ClusterRejected'; clusterId: string; spec: ClusterSpec; release: string; policyRevision?: string; reasons: ProvisionerReason[]; at: string }
  | { type: 'MachineProvisioningStarted'; clusterId: string; machine: string; providerId: string; addresses: string[]; deadline: string; at: string }
  | { type: 'MachineProvisioned'; clusterId: string; machine: string; providerId: string; addresses: string[]; at: string }
  | { type: 'MachineRunning'; clusterId: string; machine: string; kubeletVersion: string; at: string }
  | { type: 'MachineFailed'; clusterId: string; machine: string; reason: ProvisionerReason; at: string }
  | { type: 'ApiServerEndpointAssigned'; clusterId: string; endpoint: string; at: string }
  | { type: 'ClusterInfrastructureReady'; clusterId: string; at: string }
  | { type: 'ClusterRunning'; clusterId: string; model: ClusterModel; kubernetesVersion: string; nodes: Node[]; apiServerEndpoint?: string; release?: string; policyRevision?: string; at: string }
  | { type: 'ClusterFailed'; clusterId: string; model: ClusterModel; reasons: ProvisionerReason[]; at: string }
  // once Running
  | { type: 'NodesJoined'; clusterId: string; model: ClusterModel; nodes: Node[]; at: string }
  | { type: 'MachinesAdded'; clusterId: string; machines: NewMachine[]; at: string }
  | { type: 'MachineRemovalStarted'; clusterId: string; machine: string; removal: MachineRemoval; at: string }
  | { type: 'MachineDeleted'; clusterId: string; machine: string; at: string }
  | { type: 'MachineReplaced'; clusterId: string; model: ClusterModel; role: MachineRole; pool: string | null; reason: ReplaceReason; oldMachine: MachineRef; newMachine: MachineRef; at: string }
  | { type: 'MachineUnhealthy'; clusterId: string; machine: string; message: string; at: string }
  | { type: 'MachineHealthy'; clusterId: string; machine: string; at: string }
  | ({ type: 'HostRemediationStarted' } & HostRemediationFacts)
  | { type: 'HostRebooted'; clusterId: string; machine: string; at: string }
  | { type: 'RemediationBlocked'; clusterId: string; unhealthy: number; total: number; allowed: number; at: string }
  | { type: 'RemediationAllowed'; clusterId: string; at: string }
  | { type: 'NodePoolScalingStarted'; clusterId: string; pool: string; from: number; to: number; at: string }
  | { type: 'NodePoolScaled'; clusterId: string; model: ClusterModel; pool: string; from: number; to: number; requested: number; nodes: Node[]; removed: string[]; at: string }
  | ({ type: 'UpgradeStarted' } & UpgradeFacts)
  | ({ type: 'UpgradeStepRejected'; reasons: ProvisionerReason[] } & UpgradeFacts)
  | { type: 'MachineUpgradeStarted'; clusterId: string; machine: string; toVersion: string; first: boolean; at: string }
  | { type: 'MachineUpgraded'; clusterId: string; machine: string; kubernetesVersion: string; kubeletVersion: string; at: string }
  | ({ type: 'ClusterUpgraded' } & UpgradeFacts)
  | ({ type: 'UpgradeFailed'; reasons: ProvisionerReason[] } & UpgradeFacts)
  | { type: 'ClusterDeletionStarted'; clusterId: string; reason: string | null; at: string }
  | { type: 'ClusterDeleted'; clusterId: string; model: ClusterModel; at: string };

/** A user's host that failed its health check, and what is done about it (the bus hears of it as NodeUnhealthy). */
export interface HostRemediationFacts {
  clusterId: string;
  model: ClusterModel;
  machine: string;
  address: string;
  role: MachineRole;
  pool: string | null;
  unhealthySince: string;
  remediation: 'reported' | 'reboot' | 'spare';
  /** For `spare`: the spare host's address. */
  spare?: string;
  message: string;
  at: string;
}

export interface MachineRef {
  name: string;
  providerId: string | null;
  kubeletVersion: string | null;
}
