import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import { needsReconcile, type ClusterState, type MachineState } from '../domain/cluster/index.js';
import { ClusterEntity } from '../entities/cluster.entity.js';
import { MachineEntity } from '../entities/machine.entity.js';

/** The reconciler's bookkeeping for a machine it claimed, written with the machine's new state. */
export interface ClaimRelease {
  owner: string;
  /** When to look again, if the machine still has work. */
  nextReconcileAt: Date;
  providerErrors: number;
  lastError: string | null;
}

export interface MachineQueueView {
  nextReconcileAt: string | null;
  claimedBy: string | null;
  claims: number;
  providerErrors: number;
  lastError: string | null;
}

export interface MachineWrite {
  clusterId: string;
  machine: MachineState;
  /** Whether the machine is still in the reconciler's queue. */
  active: boolean;
  /** Set for machines this replica claimed: hands them back (if the claim is still ours). */
  release?: ClaimRelease;
  /** Set when the machine has new work: due by then at the latest (unless its claimer says otherwise). */
  dueAt?: Date;
}

/** What a machine's state is read from (the reconciler's bookkeeping aside). */
type MachineRow = Omit<MachineEntity, 'nextReconcileAt' | 'claimedBy' | 'claims' | 'providerErrors' | 'lastError' | 'updatedAt'>;

/** A machine new to the table, and when it is first due (null: no work). */
export interface MachineInsert {
  machine: MachineState;
  dueAt: Date | null;
}

/**
 * The machines of clusters ($1, ids) by cluster and ordinal, each cluster's read through the
 * primary key (a lateral subquery the planner may not flatten: OFFSET 0), so a round reads its
 * clusters' rows and never the whole table, whatever the table's statistics say.
 */
export const MACHINES_OF_CLUSTERS_SQL = `SELECT ${machineColumns('m')}
     FROM unnest($1::text[]) AS k(id)
     CROSS JOIN LATERAL (SELECT * FROM machines WHERE cluster_id = k.id OFFSET 0) m
    ORDER BY m.cluster_id, m.ordinal`;

/** A machine's columns as `MachineRow` names them. */
function machineColumns(alias: string): string {
  return `${alias}.cluster_id AS "clusterId", ${alias}.name, ${alias}.ordinal, ${alias}.role, ${alias}.pool, ${alias}.machine_size AS "machineSize", ${alias}.host, ${alias}.phase,
          ${alias}.provider_id AS "providerId", ${alias}.addresses, ${alias}.kubernetes_version AS "kubernetesVersion", ${alias}.replaces, ${alias}.removal,
          ${alias}.unhealthy_since AS "unhealthySince", ${alias}.upgrade, ${alias}.remediation, ${alias}.kubelet_version AS "kubeletVersion",
          ${alias}.failure_reason AS "failureReason", ${alias}.deadline, ${alias}.conditions`;
}

/** What a cluster's state is read from. */
type ClusterRow = Omit<ClusterEntity, 'createdAt' | 'updatedAt'>;

/** A cluster's columns as `ClusterRow` names them. */
const CLUSTER_COLUMNS = `id, name, model, release, policy_revision AS "policyRevision", spec, kubernetes_version AS "kubernetesVersion",
          api_server_endpoint AS "apiServerEndpoint", phase, operation, conditions, failure_reasons AS "failureReasons", requested_at AS "requestedAt"`;

/**
 * Clusters and their machines in PostgreSQL. Every method joins the caller's transaction; writes
 * are one statement per batch whatever its size, so a reconcile round of hundreds of machines
 * costs a handful of round trips.
 */
@Injectable()
export class ClusterRepository {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  /**
   * The cluster and its machines, in two plain statements: every request for a new cluster asks
   * this first, and an entity query cost it more to build than the database to answer.
   */
  async find(id: string): Promise<ClusterState | undefined> {
    const manager = this.unitOfWork.manager;
    const [cluster] = await manager.query<ClusterRow[]>(`SELECT ${CLUSTER_COLUMNS} FROM clusters WHERE id = $1`, [id]);
    if (!cluster) return undefined;
    const machines = await manager.query<MachineRow[]>(`SELECT ${machineColumns('m')} FROM machines m WHERE m.cluster_id = $1 ORDER BY m.ordinal`, [id]);
    return toState(cluster, machines);
  }

  /**
   * Loads clusters and locks their rows until the transaction ends. Decisions about one cluster
   * (is every machine Running yet?) then serialise across replicas, and a second lock holder
   * sees the first one's committed machines. Locks are taken in id order: no deadlocks.
   */
  async lockMany(ids: readonly string[]): Promise<Map<string, ClusterState>> {
    if (ids.length === 0) return new Map();
    const manager = this.unitOfWork.manager;
    const clusters = await manager
      .getRepository(ClusterEntity)
      .createQueryBuilder('c')
      .setLock('pessimistic_write')
      .where('c.id IN (:...ids)', { ids: [...ids] })
      .orderBy('c.id', 'ASC')
      .getMany();
    const machines = clusters.length === 0 ? [] : await this.machinesOf(clusters.map((c) => c.id));
    const byCluster = new Map<string, MachineRow[]>();
    for (const machine of machines) {
      const list = byCluster.get(machine.clusterId) ?? [];
      list.push(machine);
      byCluster.set(machine.clusterId, list);
    }
    return new Map(clusters.map((cluster) => [cluster.id, toState(cluster, byCluster.get(cluster.id) ?? [])]));
  }

  /**
   * The machines of these clusters, by cluster and ordinal (`MACHINES_OF_CLUSTERS_SQL`). JIT
   * compilation is off for the transaction: an estimate made without statistics (a table filled
   * in bulk) otherwise costs each round a compile longer than the read.
   */
  private async machinesOf(clusterIds: readonly string[]): Promise<MachineRow[]> {
    const manager = this.unitOfWork.manager;
    await manager.query(`SET LOCAL jit = off`);
    return manager.query<MachineRow[]>(MACHINES_OF_CLUSTERS_SQL, [clusterIds]);
  }

  /** The reconciler's bookkeeping of a cluster's machines, for operators. */
  async queueOf(id: string): Promise<Map<string, MachineQueueView>> {
    const rows = await this.unitOfWork.manager.getRepository(MachineEntity).find({
      where: { clusterId: id },
      select: { name: true, nextReconcileAt: true, claimedBy: true, claims: true, providerErrors: true, lastError: true },
    });
    return new Map(
      rows.map((row) => [
        row.name,
        { nextReconcileAt: row.nextReconcileAt?.toISOString() ?? null, claimedBy: row.claimedBy, claims: row.claims, providerErrors: row.providerErrors, lastError: row.lastError },
      ]),
    );
  }

  /**
   * Inserts a new cluster and its machines (queued for the reconciler, due `now`). False when
   * another transaction inserted the same id first.
   */
  async insert(state: ClusterState, now: Date): Promise<boolean> {
    const manager = this.unitOfWork.manager;
    const inserted = await manager.query<unknown[]>(
      `INSERT INTO clusters (id, name, model, release, spec, kubernetes_version, phase, conditions, failure_reasons, operation, requested_at, policy_revision, api_server_endpoint)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        state.id,
        state.name,
        state.model,
        state.release,
        JSON.stringify(state.spec),
        state.kubernetesVersion,
        state.phase,
        JSON.stringify(state.conditions),
        JSON.stringify(state.failureReasons),
        state.operation === null ? null : JSON.stringify(state.operation),
        state.requestedAt,
        state.policyRevision,
        state.apiServerEndpoint,
      ],
    );
    if (inserted.length === 0) return false;
    await this.insertMachines(
      state.id,
      state.machines.map((machine) => ({ machine, dueAt: needsReconcile(state, machine) ? now : null })),
    );
    return true;
  }

  /** Adds machines to a cluster, after the ones it has (ordinals go on from the highest). */
  async insertMachines(clusterId: string, machines: readonly MachineInsert[]): Promise<void> {
    if (machines.length === 0) return;
    await this.unitOfWork.manager.query(
      `INSERT INTO machines (cluster_id, name, ordinal, role, pool, machine_size, host, phase, provider_id, addresses, kubernetes_version, kubelet_version, failure_reason,
                             deadline, conditions, replaces, removal, unhealthy_since, upgrade, remediation, next_reconcile_at)
       SELECT $1, r.name, COALESCE((SELECT max(ordinal) + 1 FROM machines WHERE cluster_id = $1), 0) + r.position, r.role, r.pool, r.machine_size, r.host, r.phase,
              r.provider_id, r.addresses, r.kubernetes_version, r.kubelet_version, r.failure_reason, r.deadline, r.conditions, r.replaces, r.removal, r.unhealthy_since,
              r.upgrade, r.remediation, r.due_at
         FROM jsonb_to_recordset($2::jsonb) AS r(name text, position int, role text, pool text, machine_size text, host jsonb, phase text, provider_id text,
                                                 addresses jsonb, kubernetes_version text, kubelet_version text, failure_reason jsonb, deadline timestamptz,
                                                 conditions jsonb, replaces jsonb, removal jsonb, unhealthy_since timestamptz, upgrade jsonb, remediation jsonb, due_at timestamptz)`,
      [
        clusterId,
        JSON.stringify(
          machines.map(({ machine, dueAt }, position) => ({
            ...machineValues(machine),
            position,
            role: machine.role,
            pool: machine.pool,
            machine_size: machine.machineSize,
            host: machine.host,
            due_at: dueAt?.toISOString() ?? null,
          })),
        ),
      ],
    );
  }

  /** Removes machines whose release at the provider is done. */
  async deleteMachines(machines: readonly { clusterId: string; name: string }[]): Promise<void> {
    if (machines.length === 0) return;
    await this.unitOfWork.manager.query(
      `DELETE FROM machines m USING jsonb_to_recordset($1::jsonb) AS r(cluster_id text, name text) WHERE m.cluster_id = r.cluster_id AND m.name = r.name`,
      [JSON.stringify(machines.map((machine) => ({ cluster_id: machine.clusterId, name: machine.name })))],
    );
  }

  /** Writes what a decision changed: clusters, new machines, released machines, changed machines. */
  async saveChanges(changes: { clusters: readonly ClusterState[]; inserts: readonly { clusterId: string; machines: readonly MachineInsert[] }[]; deletes: readonly { clusterId: string; name: string }[]; writes: readonly MachineWrite[] }): Promise<void> {
    await this.updateClusters(changes.clusters);
    for (const { clusterId, machines } of changes.inserts) await this.insertMachines(clusterId, machines);
    await this.deleteMachines(changes.deletes);
    await this.updateMachines(changes.writes);
  }

  /** Writes the new state of clusters (version, endpoint, phase, conditions, reasons, operation). */
  async updateClusters(states: readonly ClusterState[]): Promise<void> {
    if (states.length === 0) return;
    await this.unitOfWork.manager.query(
      `UPDATE clusters c SET kubernetes_version = r.kubernetes_version, phase = r.phase, conditions = r.conditions, failure_reasons = r.failure_reasons,
              operation = r.operation, api_server_endpoint = r.api_server_endpoint, updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS r(id text, kubernetes_version text, phase text, conditions jsonb, failure_reasons jsonb, operation jsonb, api_server_endpoint text)
        WHERE c.id = r.id`,
      [
        JSON.stringify(
          states.map((state) => ({ id: state.id, kubernetes_version: state.kubernetesVersion, phase: state.phase, conditions: state.conditions, failure_reasons: state.failureReasons, operation: state.operation, api_server_endpoint: state.apiServerEndpoint })),
        ),
      ],
    );
  }

  /**
   * Writes machines' new state. A machine leaves the queue when it has no work left; a claimed
   * machine goes back into it at its next time, unless its claim expired and another replica
   * holds it now (that replica's bookkeeping wins). A machine given new work by someone else
   * (released because its replacement runs, say) is due by `dueAt` at the latest.
   */
  async updateMachines(writes: readonly MachineWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await this.unitOfWork.manager.query(
      `UPDATE machines m SET
              phase = r.phase, provider_id = r.provider_id, addresses = r.addresses, kubernetes_version = r.kubernetes_version, kubelet_version = r.kubelet_version,
              failure_reason = r.failure_reason, deadline = r.deadline, conditions = r.conditions,
              replaces = r.replaces, removal = r.removal, unhealthy_since = r.unhealthy_since, upgrade = r.upgrade, remediation = r.remediation,
              next_reconcile_at = CASE WHEN NOT r.active THEN NULL
                                       WHEN r.owner IS NOT NULL AND m.claimed_by = r.owner THEN r.next_reconcile_at
                                       WHEN r.due_at IS NOT NULL THEN LEAST(COALESCE(m.next_reconcile_at, r.due_at), r.due_at)
                                       ELSE m.next_reconcile_at END,
              provider_errors = CASE WHEN r.owner IS NOT NULL AND m.claimed_by = r.owner THEN r.provider_errors ELSE m.provider_errors END,
              last_error = CASE WHEN r.owner IS NOT NULL AND m.claimed_by = r.owner THEN r.last_error ELSE m.last_error END,
              updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS r(cluster_id text, name text, phase text, provider_id text, addresses jsonb, kubernetes_version text, kubelet_version text,
                                                 failure_reason jsonb, deadline timestamptz, conditions jsonb, replaces jsonb, removal jsonb, unhealthy_since timestamptz,
                                                 upgrade jsonb, remediation jsonb, active boolean, owner text, next_reconcile_at timestamptz, due_at timestamptz, provider_errors int, last_error text)
        WHERE m.cluster_id = r.cluster_id AND m.name = r.name`,
      [
        JSON.stringify(
          writes.map((write) => ({
            cluster_id: write.clusterId,
            ...machineValues(write.machine),
            active: write.active,
            owner: write.release?.owner ?? null,
            next_reconcile_at: write.release?.nextReconcileAt.toISOString() ?? null,
            due_at: write.dueAt?.toISOString() ?? null,
            provider_errors: write.release?.providerErrors ?? 0,
            last_error: write.release?.lastError ?? null,
          })),
        ),
      ],
    );
  }
}

function machineValues(machine: MachineState) {
  return {
    name: machine.name,
    phase: machine.phase,
    provider_id: machine.providerId,
    addresses: machine.addresses,
    kubernetes_version: machine.kubernetesVersion,
    kubelet_version: machine.kubeletVersion,
    failure_reason: machine.failureReason,
    deadline: machine.deadline,
    conditions: machine.conditions,
    replaces: machine.replaces,
    removal: machine.removal,
    unhealthy_since: machine.unhealthySince,
    upgrade: machine.upgrade,
    remediation: machine.remediation,
  };
}

function toState(cluster: ClusterRow, machines: readonly MachineRow[]): ClusterState {
  return {
    id: cluster.id,
    name: cluster.name,
    model: cluster.model,
    spec: cluster.spec,
    release: cluster.release,
    policyRevision: cluster.policyRevision,
    kubernetesVersion: cluster.kubernetesVersion,
    apiServerEndpoint: cluster.apiServerEndpoint,
    phase: cluster.phase,
    conditions: cluster.conditions,
    failureReasons: cluster.failureReasons,
    operation: cluster.operation,
    requestedAt: cluster.requestedAt.toISOString(),
    machines: machines.map(toMachine),
  };
}

function toMachine(entity: MachineRow): MachineState {
  return {
    name: entity.name,
    role: entity.role,
    pool: entity.pool,
    machineSize: entity.machineSize,
    host: entity.host,
    phase: entity.phase,
    providerId: entity.providerId,
    addresses: entity.addresses,
    kubernetesVersion: entity.kubernetesVersion,
    kubeletVersion: entity.kubeletVersion,
    failureReason: entity.failureReason,
    deadline: entity.deadline?.toISOString() ?? null,
    conditions: entity.conditions,
    replaces: entity.replaces,
    removal: entity.removal,
    unhealthySince: entity.unhealthySince?.toISOString() ?? null,
    upgrade: entity.upgrade,
    remediation: entity.remediation,
  };
}
