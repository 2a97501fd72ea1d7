import type { BootstrapData } from '../bootstrap/render/index.js';
import { joinHostPort } from '../domain/endpoint.js';
import type { HostRef, MachineRole } from '../domain/machine-plan.js';

/** What a provider needs to create one machine. See README.md beside this file for the contract. */
export interface MachineSpec {
  clusterId: string;
  /** Unique in the cluster: the provider's idempotency key. */
  name: string;
  role: MachineRole;
  pool: string | null;
  machineSize: string | null;
  kubernetesVersion: string;
  /** Immutable OS image family (platform-provisioned). */
  nodeOs: string | null;
  /** A machine the user brings: the provider adopts it rather than creating one. */
  host: HostRef | null;
  /** `infrastructure.parameters` of the request (region, network, image...), provider-specific. */
  parameters: Record<string, unknown>;
  /**
   * First-boot data of a platform machine (Ignition or Combustion, `renderBootstrapData`): the
   * provider hands it to the machine as user data (or a config drive). It holds the cluster's
   * join secrets: never log it, never return it, never put it in an error. Absent for machines
   * users bring.
   */
  bootstrapData?: BootstrapData;
}

export interface MachineRef {
  clusterId: string;
  name: string;
  /** When known: the provider looks it up by id rather than by name. */
  providerId?: string | null;
}

/**
 * Provisioning: asked for, not up yet (poll again). Running: up, with its addresses; the node
 * bootstrap takes over. Failed: will never come up; the only status that is final.
 */
export type ProviderMachineStatus = 'Provisioning' | 'Running' | 'Failed';

/** One machine as the provider knows it. */
export interface ProviderMachine {
  providerId: string;
  clusterId: string;
  name: string;
  status: ProviderMachineStatus;
  /** Private addresses first; empty until the provider knows them. */
  addresses: string[];
  /** When Failed: why, for people (no secrets, no credentials). */
  failureMessage?: string;
  /** While Provisioning: when it is worth asking again. */
  retryAfterMs?: number;
}

/**
 * A stable address of a cluster's control plane: a load balancer or a virtual IP in front of its
 * API servers. Nodes are configured with it (kubeadm's `controlPlaneEndpoint`), so it must outlive
 * any one control-plane machine.
 */
export interface ControlPlaneEndpoint {
  /** An IP address or DNS name. */
  host: string;
  port: number;
}

/** `host:port`, an IPv6 address in brackets: as kubeadm and kubeconfigs take it. */
export function endpointAddress(endpoint: ControlPlaneEndpoint): string {
  return joinHostPort(endpoint.host, endpoint.port);
}

/**
 * An infrastructure provider, in the spirit of a Cluster API infrastructure provider. Calls are
 * made outside any database transaction and may be slow; any of them may throw (treated as
 * transient and retried with backoff, up to PROVIDER_MAX_ERRORS in a row). A machine that will
 * never come up is reported as `Failed`, not thrown. The machine name is the idempotency key:
 * a provider tags what it creates with cluster id and name so it can find it again after a
 * crash or a lost response.
 */
export interface InfrastructureProvider {
  /** The name requests use in `infrastructure.provider`. */
  readonly name: string;
  /**
   * Creates the machine, or returns the existing one with that name in that cluster: calling it
   * twice never makes two machines (the existing one keeps the bootstrap data it was made with).
   * Returns as soon as the provider has accepted the request, usually `Provisioning`.
   */
  createMachine(spec: MachineSpec): Promise<ProviderMachine>;
  /** The machine, by provider id when given, else by name; undefined when it does not exist. */
  getMachine(ref: MachineRef): Promise<ProviderMachine | undefined>;
  /** Releases the machine; a machine that does not exist is already deleted. */
  deleteMachine(ref: MachineRef): Promise<void>;
  /** Every machine the provider holds for the cluster (adoption, clean-up of strays). */
  listMachines(clusterId: string): Promise<ProviderMachine[]>;
  /**
   * The cluster's control-plane endpoint (a load balancer or virtual IP routing to its live API
   * servers), allocated on the first call and the same one on every later call: idempotent by
   * cluster id, like `createMachine` by name. Called before the first control plane is created.
   * `parameters` are the request's `infrastructure.parameters` (a network, a subnet...).
   */
  ensureControlPlaneEndpoint(clusterId: string, parameters: Record<string, unknown>): Promise<ControlPlaneEndpoint>;
  /** Releases the endpoint once the cluster's last machine is gone; one that does not exist is already released. */
  releaseControlPlaneEndpoint(clusterId: string): Promise<void>;
}

/** Nest injection token of the configured provider. */
export const INFRASTRUCTURE_PROVIDER = Symbol('INFRASTRUCTURE_PROVIDER');
