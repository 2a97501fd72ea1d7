import type { HostRef, MachineRole } from '../domain/machine-plan.js';

/** What a provider needs to create one machine. */
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
}

export interface MachineRef {
  clusterId: string;
  name: string;
  /** When known: the provider looks it up by id rather than by name. */
  providerId?: string | null;
}

export type ProviderMachineStatus = 'Provisioning' | 'Running' | 'Failed';

/** One machine as the provider knows it. */
export interface ProviderMachine {
  providerId: string;
  clusterId: string;
  name: string;
  status: ProviderMachineStatus;
  addresses: string[];
  failureMessage?: string;
  /** While Provisioning: when it is worth asking again. */
  retryAfterMs?: number;
}

/**
 * An infrastructure provider, in the spirit of a Cluster API infrastructure provider. Calls are
 * made outside any database transaction and may be slow; any of them may throw (treated as
 * transient and retried with backoff, up to PROVIDER_MAX_ERRORS in a row).
 */
export interface InfrastructureProvider {
  /** The name requests use in `infrastructure.provider`. */
  readonly name: string;
  /**
   * Creates the machine, or returns the existing one with that name in that cluster: calling it
   * twice never makes two machines.
   */
  createMachine(spec: MachineSpec): Promise<ProviderMachine>;
  /** The machine, by provider id when given, else by name; undefined when it does not exist. */
  getMachine(ref: MachineRef): Promise<ProviderMachine | undefined>;
  /** Releases the machine; a machine that does not exist is already deleted. */
  deleteMachine(ref: MachineRef): Promise<void>;
  listMachines(clusterId: string): Promise<ProviderMachine[]>;
}

/** Nest injection token of the configured provider. */
export const INFRASTRUCTURE_PROVIDER = Symbol('INFRASTRUCTURE_PROVIDER');
