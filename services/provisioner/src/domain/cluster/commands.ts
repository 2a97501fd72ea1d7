import type { ClusterSpec, SupportMatrix } from '@flotilla/contracts';
import type { HostRef, MachineRole } from '../machine-plan.js';

// What `decide` is asked: requests from the bus, and what the reconciler observed.

export interface RequestCluster {
  type: 'RequestCluster';
  clusterId: string;
  spec: ClusterSpec;
  release: string;
  /** The support matrix in force (the shipped one when absent). */
  matrix?: SupportMatrix;
  /** Infrastructure providers available here, by name. */
  providers: readonly string[];
  at: string;
}

/** What the reconciler saw of one machine at the provider (or the node bootstrap). */
export type MachineObservation =
  | { kind: 'infrastructure-pending'; providerId: string; addresses: string[] }
  | { kind: 'infrastructure-ready'; providerId: string; addresses: string[] }
  | { kind: 'node-joining' }
  | { kind: 'node-joined'; kubeletVersion: string }
  | { kind: 'failed'; code: 'machine-failed' | 'machine-timeout' | 'provider-error'; message: string }
  | { kind: 'node-ready' }
  | { kind: 'node-not-ready'; message: string }
  | { kind: 'node-upgrading' }
  | { kind: 'node-upgraded'; kubeletVersion: string }
  | { kind: 'upgrade-failed'; message: string }
  | { kind: 'node-rebooted' }
  | { kind: 'machine-deleted' };

/** Cluster API's MachineHealthCheck settings. */
export interface HealthPolicy {
  /** A node not Ready for this long is remediated. */
  unhealthyTimeoutMs: number;
  /** More unhealthy machines than this and nothing is remediated (an outage is not fixed by replacing everything). */
  maxUnhealthy: MaxUnhealthy;
}

export type MaxUnhealthy = { kind: 'count'; value: number } | { kind: 'percent'; value: number };

export interface ObserveMachine {
  type: 'ObserveMachine';
  clusterId: string;
  machine: string;
  observation: MachineObservation;
  /** How long a machine may take from the start of provisioning to Running, while the cluster is provisioned. */
  timeoutMs: number;
  /** The same for machines made once the cluster runs (scale-up, replacements); `timeoutMs` when absent. */
  startupTimeoutMs?: number;
  /** Machine health checks; without it an unhealthy node is only recorded. */
  health?: HealthPolicy;
  at: string;
}

/** A host users add to a pool that runs on their machines. */
export type NewHost = HostRef & { pool?: string | undefined; role?: MachineRole | undefined };

export interface ScaleNodePool {
  type: 'ScaleNodePool';
  clusterId: string;
  pool: string;
  count: number;
  /** Pools on users' hosts, scaling up: the hosts to add. */
  hosts?: readonly NewHost[];
  at: string;
}

export interface RequestDeletion {
  type: 'RequestDeletion';
  clusterId: string;
  reason?: string;
  at: string;
}

export interface ApproveUpgradeStep {
  type: 'ApproveUpgradeStep';
  clusterId: string;
  planId: string;
  toVersion: string;
  /** The platform release of the global cluster: the target must be compatible with it. */
  release: string;
  /** The support matrix in force (the shipped one when absent). */
  matrix?: SupportMatrix;
  at: string;
}

export type ClusterCommand = RequestCluster | ObserveMachine | ScaleNodePool | RequestDeletion | ApproveUpgradeStep;
