import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { InfrastructureProvider, MachineRef, MachineSpec, ProviderMachine, ProviderMachineStatus } from '../provider.js';
import { firstBootKubeadm } from './first-boot.js';
import { simulatedFailure } from './simulation.js';

export interface SimulationSettings {
  /** How long a machine takes to come up. */
  bootMs: number;
  /** Share of machines that fail to boot, 0..1. */
  failureRate: number;
  /** Share of API calls that fail (a cloud's 503s and throttling), 0..1: the caller retries. */
  apiErrorRate: number;
  seed: string;
}

/** What the simulated cloud kept of a machine's first-boot data: never the data itself. */
export interface ReceivedBootstrapData {
  format: string;
  sha256: string;
  bytes: number;
}

/** A transient provider error, like a cloud API's 503. */
export class SimulatedApiError extends Error {
  override readonly name = 'SimulatedApiError';
}

interface SimMachineRow {
  provider_id: string;
  cluster_id: string;
  name: string;
  addresses: string[];
  fails: boolean;
  remaining_ms: number;
}

/** Platform machines get addresses from here, one per machine in creation order. */
const MACHINE_NETWORK = '172.16.0.0';

const COLUMNS = `provider_id, cluster_id, name, addresses, fails,
                 GREATEST(0, CEIL(EXTRACT(EPOCH FROM (ready_at - clock_timestamp())) * 1000))::int AS remaining_ms`;

/**
 * A cloud in a table, in the spirit of Cluster API's in-memory provider: machines take
 * `bootMs` to come up and fail at `failureRate`, deterministically per seed and name. Its state
 * lives in `sim_machines`, outside the provisioner's transactions (it uses the DataSource, never
 * the unit of work), so like a real cloud it keeps what it created when the provisioner crashes.
 * Users' hosts are "created" by adopting them: their address is the host's.
 */
export class SimulatedProvider implements InfrastructureProvider {
  readonly name = 'simulated';
  /** Calls per machine and operation since its last success: which ones fail is seeded too. */
  private readonly attempts = new Map<string, number>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly settings: SimulationSettings,
  ) {}

  async createMachine(spec: MachineSpec): Promise<ProviderMachine> {
    const error = this.apiError('create', spec);
    if (error?.when === 'before') throw error.error;
    const fails = simulatedFailure(this.settings.seed, spec.clusterId, spec.name, this.settings.failureRate);
    // One statement: a create racing another for the same name returns the winner's machine,
    // which keeps the bootstrap data it was created with. The bootstrap columns are named only
    // when there is data, so callers that pass none need nothing of their migration. The
    // machine's kubeadm is read from the data now, as it would read it on first boot.
    const bootstrap = spec.bootstrapData
      ? {
          format: spec.bootstrapData.format,
          sha256: createHash('sha256').update(spec.bootstrapData.content).digest('hex'),
          bytes: Buffer.byteLength(spec.bootstrapData.content),
          kubeadm: JSON.stringify(firstBootKubeadm(spec.bootstrapData) ?? null),
        }
      : undefined;
    const rows = await this.dataSource.query<SimMachineRow[]>(
      `WITH n AS (SELECT nextval('sim_machine_seq') AS seq)
       INSERT INTO sim_machines (provider_id, cluster_id, name, role, machine_size, addresses, fails, ready_at${bootstrap ? ', bootstrap_format, bootstrap_sha256, bootstrap_bytes, kubeadm' : ''})
       SELECT 'simulated:///' || $1 || '/m-' || n.seq, $1, $2, $3, $4,
              COALESCE($5::jsonb, jsonb_build_array(host($6::inet + n.seq))), $7,
              clock_timestamp() + $8::int * interval '1 millisecond'${bootstrap ? ", $9, $10, $11::int, NULLIF($12::jsonb, 'null'::jsonb)" : ''}
         FROM n
       ON CONFLICT (cluster_id, name) DO UPDATE SET create_calls = sim_machines.create_calls + 1
       RETURNING ${COLUMNS}`,
      [
        spec.clusterId,
        spec.name,
        spec.role,
        spec.machineSize,
        spec.host ? JSON.stringify([spec.host.address]) : null,
        MACHINE_NETWORK,
        fails,
        this.settings.bootMs,
        ...(bootstrap ? [bootstrap.format, bootstrap.sha256, bootstrap.bytes, bootstrap.kubeadm] : []),
      ],
    );
    // The machine exists, but the caller never hears so: it must find it by name next time.
    if (error) throw error.error;
    this.succeeded('create', spec);
    return toMachine(rows[0]!);
  }

  async getMachine(ref: MachineRef): Promise<ProviderMachine | undefined> {
    const error = this.apiError('get', ref);
    if (error) throw error.error;
    const rows = ref.providerId
      ? await this.dataSource.query<SimMachineRow[]>(`SELECT ${COLUMNS} FROM sim_machines WHERE provider_id = $1`, [ref.providerId])
      : await this.dataSource.query<SimMachineRow[]>(`SELECT ${COLUMNS} FROM sim_machines WHERE cluster_id = $1 AND name = $2`, [ref.clusterId, ref.name]);
    this.succeeded('get', ref);
    return rows[0] ? toMachine(rows[0]) : undefined;
  }

  async deleteMachine(ref: MachineRef): Promise<void> {
    const error = this.apiError('delete', ref);
    if (error?.when === 'before') throw error.error;
    if (ref.providerId) await this.dataSource.query(`DELETE FROM sim_machines WHERE provider_id = $1`, [ref.providerId]);
    else await this.dataSource.query(`DELETE FROM sim_machines WHERE cluster_id = $1 AND name = $2`, [ref.clusterId, ref.name]);
    // A simulated cluster (its tokens, its uploaded certificates) goes with its last machine.
    await this.dataSource.query(`DELETE FROM sim_clusters WHERE cluster_id = $1 AND NOT EXISTS (SELECT 1 FROM sim_machines WHERE cluster_id = $1)`, [ref.clusterId]);
    if (error) throw error.error;
    this.succeeded('delete', ref);
  }

  async listMachines(clusterId: string): Promise<ProviderMachine[]> {
    const rows = await this.dataSource.query<SimMachineRow[]>(`SELECT ${COLUMNS} FROM sim_machines WHERE cluster_id = $1 ORDER BY name`, [clusterId]);
    return rows.map(toMachine);
  }

  /** What the machine was given to boot with, as the cloud recorded it (for tests and diagnostics). */
  async receivedBootstrapData(ref: MachineRef): Promise<ReceivedBootstrapData | undefined> {
    const rows = await this.dataSource.query<{ format: string | null; sha256: string | null; bytes: number | null }[]>(
      `SELECT bootstrap_format AS format, bootstrap_sha256 AS sha256, bootstrap_bytes AS bytes FROM sim_machines WHERE cluster_id = $1 AND name = $2`,
      [ref.clusterId, ref.name],
    );
    const row = rows[0];
    return row?.format && row.sha256 && row.bytes !== null ? { format: row.format, sha256: row.sha256, bytes: row.bytes } : undefined;
  }

  /**
   * Whether this call fails, seeded by machine, operation and attempt. Half of the failures
   * happen after the work is done (the response is lost), as with a real cloud.
   */
  private apiError(operation: string, machine: { clusterId: string; name: string }): { when: 'before' | 'after'; error: SimulatedApiError } | undefined {
    if (this.settings.apiErrorRate <= 0) return undefined;
    const key = `${operation}\0${machine.clusterId}\0${machine.name}`;
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    const draw = `${machine.name}#${operation}#${attempt}`;
    if (!simulatedFailure(this.settings.seed, machine.clusterId, draw, this.settings.apiErrorRate)) return undefined;
    const when = simulatedFailure(this.settings.seed, machine.clusterId, `${draw}#lost`, 0.5) ? 'after' : 'before';
    return { when, error: new SimulatedApiError(`simulated provider API error on ${operation} ${machine.name} (attempt ${attempt}): 503 Service Unavailable`) };
  }

  private succeeded(operation: string, machine: { clusterId: string; name: string }): void {
    if (this.settings.apiErrorRate > 0) this.attempts.delete(`${operation}\0${machine.clusterId}\0${machine.name}`);
  }
}

function toMachine(row: SimMachineRow): ProviderMachine {
  const booting = row.remaining_ms > 0;
  const status: ProviderMachineStatus = booting ? 'Provisioning' : row.fails ? 'Failed' : 'Running';
  return {
    providerId: row.provider_id,
    clusterId: row.cluster_id,
    name: row.name,
    status,
    addresses: row.addresses,
    ...(status === 'Failed' ? { failureMessage: 'simulated boot failure: the instance never became reachable' } : {}),
    ...(booting ? { retryAfterMs: row.remaining_ms } : {}),
  };
}
