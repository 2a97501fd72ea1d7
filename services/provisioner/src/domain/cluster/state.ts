import { parseKubernetesVersion, type ClusterSpec, type Reason } from '@flotilla/contracts';
import type { Condition } from '../conditions.js';
import type { HostRef, MachineRole } from '../machine-plan.js';

// What a cluster and its machines are, and what can be read off them without deciding anything.

export const CLUSTER_PHASES = ['Pending', 'Provisioning', 'Provisioned', 'Running', 'Deleting', 'Deleted', 'Failed'] as const;
export type ClusterPhase = (typeof CLUSTER_PHASES)[number];
export const MACHINE_PHASES = ['Pending', 'Provisioning', 'Provisioned', 'Running', 'Deleting', 'Failed'] as const;
export type MachinePhase = (typeof MACHINE_PHASES)[number];

export type ReplaceReason = 'unhealthy' | 'upgrade';

/** Why a machine is being released. */
export interface MachineRemoval {
  reason: 'scale-down' | 'replaced' | 'failed' | 'cluster-deleted';
  /** For `replaced`: the machine that took its place, and why. */
  replacedBy?: string;
  replaceReason?: ReplaceReason;
}

export interface MachineState {
  name: string;
  role: MachineRole;
  pool: string | null;
  machineSize: string | null;
  host: HostRef | null;
  phase: MachinePhase;
  providerId: string | null;
  addresses: string[];
  /** The Kubernetes version the machine is made and joined on (an upgrade's replacements: the new one). */
  kubernetesVersion: string;
  kubeletVersion: string | null;
  failureReason: Reason | null;
  /** Provisioning must be over by then (set when it starts). */
  deadline: string | null;
  conditions: Condition[];
  /** A replacement: the machine it takes the place of once it runs. */
  replaces: { machine: string; reason: ReplaceReason } | null;
  /** Set while the machine is Deleting. */
  removal: MachineRemoval | null;
  /** Since when its node has not been Ready (machine health check). */
  unhealthySince: string | null;
  /** An in-place upgrade asked of its node (users' hosts; platform machines are replaced instead). */
  upgrade: { toVersion: string; first: boolean } | null;
  /** A user's host that failed its health check: what was done about it (until its node is Ready again). */
  remediation: HostRemediation | null;
}

/**
 * Users' hosts are never replaced by a machine the platform makes: one that fails its health
 * check is reported, or rebooted and left to rejoin when the cluster allows it (a spare host
 * taking its place is a replacement, `replaces` on the spare's machine).
 */
export interface HostRemediation {
  action: 'reported' | 'reboot';
  at: string;
  /** For `reboot`: when the host was told to reboot; null until then. */
  rebootedAt: string | null;
}

/** What the cluster is doing besides running; one at a time. */
export type ClusterOperation =
  | { kind: 'scale'; pool: string; from: number; to: number; removed: string[]; startedAt: string }
  | { kind: 'upgrade'; planId: string; fromVersion: string; toVersion: string; startedAt: string; policyRevision?: string }
  | { kind: 'delete'; reason: string | null; startedAt: string };

export interface ClusterState {
  id: string;
  name: string;
  model: ClusterSpec['model'];
  /** The request as it was made; what changed since is in the machines and `kubernetesVersion`. */
  spec: ClusterSpec;
  /** The platform release the request was judged under. */
  release: string;
  /** The support-matrix revision the request was judged under (null: decided before revisions were recorded). */
  policyRevision: string | null;
  /** The version the cluster is on: the requested one until an upgrade step completes. */
  kubernetesVersion: string;
  /**
   * Where the API servers answer (`host:port`), never one control-plane machine's own address:
   * the provider's load balancer or virtual IP, the users' hosts' kube-vip address, or a hosted
   * control plane's endpoint in its management cluster. Null until it is known.
   */
  apiServerEndpoint: string | null;
  phase: ClusterPhase;
  conditions: Condition[];
  failureReasons: Reason[];
  machines: MachineState[];
  operation: ClusterOperation | null;
  requestedAt: string;
}

export function isProvisioning(phase: ClusterPhase): boolean {
  return phase === 'Pending' || phase === 'Provisioning' || phase === 'Provisioned';
}

/** 1.34 and v1.34.0 are the same version; 1.34.2 is not 1.34. */
export function sameVersion(a: string, b: string): boolean {
  const left = parseKubernetesVersion(a);
  const right = parseKubernetesVersion(b);
  if (!left.ok || !right.ok) return a === b;
  return left.version.major === right.version.major && left.version.minor === right.version.minor && (left.version.patch ?? 0) === (right.version.patch ?? 0);
}

/** What the API server runs: the control plane's kubelets, or the cluster's version when it is hosted. */
export function apiServerVersion(state: ClusterState): string {
  const controlPlane = state.machines.find((machine) => machine.role === 'control-plane' && machine.kubeletVersion !== null && machine.phase === 'Running' && sameVersion(machine.kubernetesVersion, state.kubernetesVersion));
  const version = controlPlane?.kubeletVersion ?? state.kubernetesVersion;
  return version.startsWith('v') ? version : `v${version}`;
}

/** What the cluster is in the middle of, if anything: one change at a time. */
export function busyWith(state: ClusterState): string | undefined {
  const operation = state.operation;
  if (operation) {
    switch (operation.kind) {
      case 'scale':
        return `node pool ${operation.pool} is scaling from ${operation.from} to ${operation.to}`;
      case 'upgrade':
        return `upgrading to ${operation.toVersion} (plan ${operation.planId})`;
      case 'delete':
        return 'being deleted';
    }
  }
  const moving = state.machines.filter((machine) => machine.phase !== 'Running' && machine.phase !== 'Failed');
  if (moving.length > 0) return `machine(s) ${moving.map((machine) => `${machine.name} (${machine.phase})`).join(', ')} in progress`;
  return undefined;
}
