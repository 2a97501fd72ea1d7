import type { BootstrapData } from '../bootstrap/render/index.js';
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
}

/** Nest injection token of the configured provider. */
export const INFRASTRUCTURE_PROVIDER = Symbol('INFRASTRUCTURE_PROVIDER');
