import type { ClusterSpec } from '@flotilla/contracts';
import type { HostRef, MachineRole } from '../domain/machine-plan.js';

/** A machine and its node, as a bootstrapper sees it. */
export interface NodeRef {
  clusterId: string;
  name: string;
  role: MachineRole;
  pool: string | null;
  providerId: string;
  addresses: string[];
  /** Machines users bring: where to SSH to. Null for platform-provisioned machines. */
  host: HostRef | null;
  /** The cluster's spec: network ranges, control-plane count, pools' labels and taints. */
  spec: ClusterSpec;
  /**
   * Users' hosts: the cluster's Running control-plane machines, oldest first, where kubectl and
   * kubeadm's cluster-wide commands can run (any one that answers). The planned ones when absent.
   */
  controlPlanes?: readonly { machine: string; host: HostRef }[];
}

/** A machine whose infrastructure is up, to be turned into a Kubernetes node. */
export interface JoinRequest extends NodeRef {
  kubernetesVersion: string;
}

/** One upgrade step of one node (kubeadm: `upgrade apply` on the first control-plane node, `upgrade node` elsewhere). */
export interface UpgradeRequest extends NodeRef {
  fromVersion: string;
  toVersion: string;
  /** The first control-plane node of the cluster: it upgrades the control plane itself. */
  first: boolean;
}

export interface RemoveOptions {
  /**
   * A user's host that still cannot be reached (its retries used up) is left as it is: the node
   * is taken out of its cluster from a control-plane host, and what Flotilla installed on the
   * host stays recorded for an operator. Otherwise an unreachable host is retried.
   */
  leaveUnreachableHost?: boolean;
}

export type JoinResult = { state: 'joining' } | { state: 'joined'; kubeletVersion: string } | { state: 'failed'; message: string };

/**
 * Turns a provisioned machine into a node and looks after it (Cluster API's bootstrap provider):
 * the SSH installer on users' hosts, or checking that an Ignition-booted node registered. Called
 * outside any transaction, repeatedly until it answers joined or failed: every method must be
 * idempotent.
 */
export interface NodeBootstrapper {
  joinNode(request: JoinRequest): Promise<JoinResult>;
  /** Whether the node is Ready now (machine health checks). */
  nodeReady(node: NodeRef): Promise<boolean>;
  /** Upgrades the node in place (machines users bring; platform machines are replaced instead). */
  upgradeNode(request: UpgradeRequest): Promise<JoinResult>;
  /** Takes the node out of its cluster (drain, reset) before its machine is released. */
  removeNode(node: NodeRef, options?: RemoveOptions): Promise<void>;
  /** Reboots a user's host whose node failed its health check; its kubelet rejoins by itself (nothing else is changed). */
  rebootNode(node: NodeRef): Promise<void>;
}

export const NODE_BOOTSTRAPPER = Symbol('NODE_BOOTSTRAPPER');
