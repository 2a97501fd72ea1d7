import type { HostRef, MachineRole } from '../domain/machine-plan.js';

/** A machine whose infrastructure is up, to be turned into a Kubernetes node. */
export interface JoinRequest {
  clusterId: string;
  name: string;
  role: MachineRole;
  providerId: string;
  addresses: string[];
  kubernetesVersion: string;
  host: HostRef | null;
}

export type JoinResult = { state: 'joining' } | { state: 'joined'; kubeletVersion: string } | { state: 'failed'; message: string };

/**
 * Turns a provisioned machine into a node (Cluster API's bootstrap provider). The slot for the
 * SSH installer on users' hosts and for checking an Ignition-booted node registered. Called
 * outside any transaction, repeatedly until it answers joined or failed; it must be idempotent.
 */
export interface NodeBootstrapper {
  joinNode(request: JoinRequest): Promise<JoinResult>;
}

export const NODE_BOOTSTRAPPER = Symbol('NODE_BOOTSTRAPPER');
