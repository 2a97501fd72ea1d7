import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { API_SERVER_PORT } from '../../bootstrap/render/kubeadm.js';
import { endpointAddress, type ControlPlaneEndpoint, type InfrastructureProvider, type MachineRef, type MachineSpec, type ProviderMachine, type ProviderMachineStatus } from '../provider.js';
import { Coalescer } from '../../repositories/coalescer.js';
import { firstBootKubeadm } from './first-boot.js';
import { simulatedFailure } from './simulation.js';

export interface SimulationSettings {
  /** How long a machine takes to come up. */
  bootMs: number;
  /** Share of machines that fail to boot, 0..1. */
  failureRate: number;
  /** Share of API calls that fail (a cloud's 503s and throttling), 0..1: the caller retries. */
  apiErrorRate: number;
  /** How long each API call takes to answer, as a cloud's round trip does (0: at once). */
  apiLatencyMs?: number;
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

/** A machine to create, as `insertMachines` takes it (the columns of sim_machines). */
interface NewSimMachine {
  cluster_id: string;
  name: string;
  role: string;
  machine_size: string | null;
  /** A user's host keeps its own address; a platform machine gets the next one of MACHINE_NETWORK. */
  addresses: string[] | null;
  fails: boolean;
  boot_ms: number;
  bootstrap_format?: string;
  bootstrap_sha256?: string;
  bootstrap_bytes?: number;
  kubeadm?: unknown;
}

const simKey = (machine: { cluster_id: string; name: string }) => `${machine.cluster_id}\0${machine.name}`;

/** Platform machines get addresses from here, one per machine in creation order. */
const MACHINE_NETWORK = '172.16.0.0';
/** Control-plane endpoints (the load balancers) get addresses from here, one per cluster. */
const ENDPOINT_NETWORK = '198.18.0.0';

/** Where a simulated load balancer sends API requests now. */
export interface EndpointRoute {
  endpoint: string;
  /** The control-plane machine that answers: the longest-joined one still there; null when none is (requests fail). */
  routesTo: string | null;
}

/**
 * The control plane a cluster's load balancer (`e`) routes to: the longest-joined one still there,
 * the first entry of the `sim_machines_live_control_plane` index (whose predicate this repeats).
 */
export const LIVE_CONTROL_PLANE = `(SELECT cp.name FROM sim_machines cp
   WHERE cp.cluster_id = e.cluster_id AND cp.role = 'control-plane' AND cp.joined_at IS NOT NULL
   ORDER BY cp.joined_at, cp.name LIMIT 1)`;

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

  /** The creates of one turn, in one statement (or one per round of repeated names). */
  private readonly creates = new Coalescer<NewSimMachine, SimMachineRow>((machines) => this.insertMachines(machines));
  /** The endpoints asked for in one turn, in one statement. */
  private readonly endpoints = new Coalescer<string, ControlPlaneEndpoint>((clusterIds) => this.allocateEndpoints(clusterIds));

  constructor(
    private readonly dataSource: DataSource,
    private readonly settings: SimulationSettings,
    /** How an API call's latency is waited out (tests count the waits). */
    private readonly wait: (ms: number) => Promise<unknown> = sleep,
  ) {}

  /** Each call answers after the API's latency: a caller's concurrency slot is held meanwhile, as with a real cloud. */
  private async latency(): Promise<void> {
    if ((this.settings.apiLatencyMs ?? 0) > 0) await this.wait(this.settings.apiLatencyMs!);
  }

  async createMachine(spec: MachineSpec): Promise<ProviderMachine> {
    await this.latency();
    const error = this.apiError('create', spec);
    if (error?.when === 'before') throw error.error;
    const fails = simulatedFailure(this.settings.seed, spec.clusterId, spec.name, this.settings.failureRate);
    // The machine's kubeadm is read from the data now, as it would read it on first boot.
    const bootstrap = spec.bootstrapData
      ? {
          format: spec.bootstrapData.format,
          sha256: createHash('sha256').update(spec.bootstrapData.content).digest('hex'),
          bytes: Buffer.byteLength(spec.bootstrapData.content),
          kubeadm: firstBootKubeadm(spec.bootstrapData) ?? null,
        }
      : undefined;
    const row = await this.creates.load({
      cluster_id: spec.clusterId,
      name: spec.name,
      role: spec.role,
      machine_size: spec.machineSize,
      addresses: spec.host ? [spec.host.address] : null,
      fails,
      boot_ms: this.settings.bootMs,
      ...(bootstrap ? { bootstrap_format: bootstrap.format, bootstrap_sha256: bootstrap.sha256, bootstrap_bytes: bootstrap.bytes, kubeadm: bootstrap.kubeadm } : {}),
    });
    // The machine exists, but the caller never hears so: it must find it by name next time.
    if (error) throw error.error;
    this.succeeded('create', spec);
    return toMachine(row);
  }

  async getMachine(ref: MachineRef): Promise<ProviderMachine | undefined> {
    await this.latency();
    const error = this.apiError('get', ref);
    if (error) throw error.error;
    const rows = ref.providerId
      ? await this.dataSource.query<SimMachineRow[]>(`SELECT ${COLUMNS} FROM sim_machines WHERE provider_id = $1`, [ref.providerId])
      : await this.dataSource.query<SimMachineRow[]>(`SELECT ${COLUMNS} FROM sim_machines WHERE cluster_id = $1 AND name = $2`, [ref.clusterId, ref.name]);
    this.succeeded('get', ref);
    return rows[0] ? toMachine(rows[0]) : undefined;
  }

  async deleteMachine(ref: MachineRef): Promise<void> {
    await this.latency();
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
    await this.latency();
    const rows = await this.dataSource.query<SimMachineRow[]>(`SELECT ${COLUMNS} FROM sim_machines WHERE cluster_id = $1 ORDER BY name`, [clusterId]);
    return rows.map(toMachine);
  }

  async ensureControlPlaneEndpoint(clusterId: string): Promise<ControlPlaneEndpoint> {
    await this.latency();
    const call = { clusterId, name: 'control-plane-endpoint' };
    const error = this.apiError('ensure', call);
    if (error?.when === 'before') throw error.error;
    // One statement for the turn's calls, like createMachine: a second call (or a racing one) gets the first address.
    const endpoint = await this.endpoints.load(clusterId);
    if (error) throw error.error;
    this.succeeded('ensure', call);
    return endpoint;
  }

  /** Allocates the clusters' endpoints, or returns those they have. */
  private async allocateEndpoints(clusterIds: readonly string[]): Promise<ControlPlaneEndpoint[]> {
    const rows = await this.dataSource.query<{ cluster_id: string; address: string; port: number }[]>(
      `INSERT INTO sim_endpoints (cluster_id, address, port)
       SELECT k.cluster_id, host($2::inet + nextval('sim_endpoint_seq')), $3 FROM unnest($1::text[]) AS k(cluster_id)
       ON CONFLICT (cluster_id) DO UPDATE SET cluster_id = EXCLUDED.cluster_id
       RETURNING cluster_id, address, port`,
      // A cluster twice in one statement is an error to ON CONFLICT DO UPDATE: each once.
      [[...new Set(clusterIds)], ENDPOINT_NETWORK, API_SERVER_PORT],
    );
    const byCluster = new Map(rows.map((row) => [row.cluster_id, { host: row.address, port: row.port }]));
    return clusterIds.map((clusterId) => byCluster.get(clusterId)!);
  }

  async releaseControlPlaneEndpoint(clusterId: string): Promise<void> {
    await this.latency();
    const call = { clusterId, name: 'control-plane-endpoint' };
    const error = this.apiError('release', call);
    if (error?.when === 'before') throw error.error;
    await this.dataSource.query(`DELETE FROM sim_endpoints WHERE cluster_id = $1`, [clusterId]);
    if (error) throw error.error;
    this.succeeded('release', call);
  }

  /**
   * The cluster's load balancer as it routes now (for tests and diagnostics): to the control
   * plane that joined first among those still there, since a load balancer health-checks the
   * API servers and a machine that is gone answers nothing. Undefined when it has none.
   */
  async endpointRoute(clusterId: string): Promise<EndpointRoute | undefined> {
    const rows = await this.dataSource.query<{ address: string; port: number; routes_to: string | null }[]>(
      `SELECT e.address, e.port, ${LIVE_CONTROL_PLANE} AS routes_to FROM sim_endpoints e WHERE e.cluster_id = $1`,
      [clusterId],
    );
    const row = rows[0];
    return row ? { endpoint: endpointAddress({ host: row.address, port: row.port }), routesTo: row.routes_to } : undefined;
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
   * Inserts the machines; a create that reaches an existing one (by name: a retry, or a create
   * racing another) returns it as it was made, with the bootstrap data it was made with, and
   * counts the call. The bootstrap columns are named only when a machine has data, so callers
   * that pass none need nothing of their migration. A name twice in one batch is inserted in a
   * later round, as the second of two racing calls.
   */
  private async insertMachines(machines: readonly NewSimMachine[]): Promise<SimMachineRow[]> {
    const byKey = new Map<string, SimMachineRow>();
    const answers: SimMachineRow[] = new Array<SimMachineRow>(machines.length);
    let left = machines.map((machine, index) => ({ machine, index }));
    while (left.length > 0) {
      // The first call of each name goes in this round; its repeats wait for the next.
      const round: typeof left = [];
      const later: typeof left = [];
      const seen = new Set<string>();
      for (const entry of left) {
        const key = simKey(entry.machine);
        (seen.has(key) ? later : round).push(entry);
        seen.add(key);
      }
      left = later;
      const withBootstrap = round.some(({ machine }) => machine.bootstrap_format !== undefined);
      const rows = await this.dataSource.query<SimMachineRow[]>(
        `INSERT INTO sim_machines (provider_id, cluster_id, name, role, machine_size, addresses, fails, ready_at${withBootstrap ? ', bootstrap_format, bootstrap_sha256, bootstrap_bytes, kubeadm' : ''})
         SELECT 'simulated:///' || r.cluster_id || '/m-' || r.seq, r.cluster_id, r.name, r.role, r.machine_size,
                COALESCE(r.addresses, jsonb_build_array(host($2::inet + r.seq))), r.fails,
                clock_timestamp() + r.boot_ms * interval '1 millisecond'${withBootstrap ? ", r.bootstrap_format, r.bootstrap_sha256, r.bootstrap_bytes, NULLIF(r.kubeadm, 'null'::jsonb)" : ''}
           FROM (SELECT x.*, nextval('sim_machine_seq') AS seq
                   FROM jsonb_to_recordset($1::jsonb) AS x(cluster_id text, name text, role text, machine_size text, addresses jsonb, fails boolean, boot_ms int,
                                                           bootstrap_format text, bootstrap_sha256 text, bootstrap_bytes int, kubeadm jsonb)) r
         ON CONFLICT (cluster_id, name) DO UPDATE SET create_calls = sim_machines.create_calls + 1
         RETURNING ${COLUMNS}`,
        [JSON.stringify(round.map(({ machine }) => machine)), MACHINE_NETWORK],
      );
      for (const row of rows) byKey.set(simKey({ cluster_id: row.cluster_id, name: row.name }), row);
      for (const { machine, index } of round) answers[index] = byKey.get(simKey(machine))!;
    }
    return answers;
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
