import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { ClusterSpec } from '@flotilla/contracts';
import type { ClusterPhase, MachinePhase, MachineState } from '../domain/cluster/index.js';
import { DEFAULT_NODE_OS } from '../domain/spec-validation.js';
import type { HostRef, MachineRole } from '../domain/machine-plan.js';

/** A machine the reconciler claimed, with what it needs from its cluster to work on it. */
export interface ClaimedMachine {
  clusterId: string;
  name: string;
  role: MachineRole;
  pool: string | null;
  machineSize: string | null;
  host: HostRef | null;
  phase: MachinePhase;
  providerId: string | null;
  addresses: string[];
  /** How many times it was claimed, this claim included: above 1, a provider may already have it. */
  claims: number;
  providerErrors: number;
  /** The version this machine is made and joined on. */
  kubernetesVersion: string;
  /** Platform machines: the immutable OS image family (MicroOS unless the request names another). */
  nodeOs: string | null;
  parameters: Record<string, unknown>;
  spec: ClusterSpec;
  clusterPhase: ClusterPhase;
  /** An in-place upgrade asked of its node. */
  upgrade: MachineState['upgrade'];
  /** A user's host that failed its health check: what is being done about it. */
  remediation: MachineState['remediation'];
  /** Users' hosts: the cluster's Running control-plane hosts, oldest first. */
  controlPlanes: { machine: string; host: HostRef }[];
}

interface ClaimRow {
  cluster_id: string;
  name: string;
  role: MachineRole;
  pool: string | null;
  machine_size: string | null;
  host: HostRef | null;
  phase: MachinePhase;
  provider_id: string | null;
  addresses: string[];
  claims: number;
  provider_errors: number;
  kubernetes_version: string;
  spec: ClusterSpec;
  cluster_phase: ClusterPhase;
  upgrade: MachineState['upgrade'];
  remediation: MachineState['remediation'];
}

/**
 * The claim ($1 owner, $2 limit, $3 lease in ms, $4 now). Its cost is the batch's whatever the
 * table's size and whatever the planner knows of it (a table filled in bulk has no statistics
 * until it is analysed): the claimed rows are updated by their row ids (a TID scan, never a join
 * that may hash the whole table), and each one's cluster is looked up by its key. As a CTE:
 * TypeORM hands back UPDATE ... RETURNING as [rows, count], a SELECT as rows.
 */
export const CLAIM_MACHINES_SQL = `WITH claimed AS (
     UPDATE machines m
        SET next_reconcile_at = $4::timestamptz + $3::int * interval '1 millisecond', claimed_by = $1, claims = m.claims + 1
      WHERE m.ctid = ANY (ARRAY(SELECT ctid FROM machines
                                 WHERE next_reconcile_at <= $4::timestamptz
                                 ORDER BY next_reconcile_at, cluster_id, ordinal
                                 LIMIT $2
                                 FOR UPDATE SKIP LOCKED))
    RETURNING m.cluster_id, m.name, m.ordinal, m.role, m.pool, m.machine_size, m.host, m.phase, m.provider_id, m.addresses, m.claims, m.provider_errors,
              m.kubernetes_version, m.upgrade, m.remediation)
   SELECT claimed.*, c.phase AS cluster_phase, c.spec
     FROM claimed CROSS JOIN LATERAL (SELECT phase, spec FROM clusters WHERE id = claimed.cluster_id) c
    ORDER BY claimed.cluster_id, claimed.ordinal`;

/**
 * The reconciler's work queue: machines whose `next_reconcile_at` has come. A claim moves that
 * time one lease ahead, so the machine is nobody else's until the claimer writes it back, or,
 * if the claimer dies, until the lease runs out and another replica takes it.
 */
@Injectable()
export class MachineQueue {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  /**
   * Claims up to `limit` machines due at `now` in one statement. SKIP LOCKED: replicas claiming at
   * the same moment take different machines instead of waiting for each other. `now` is the
   * provisioner's clock, which also wrote when each machine is due, so both agree whatever the
   * database's clock says. Machines due at the same moment come cluster by cluster in ordinal
   * order (the `machines_queue` index), and are returned in that order: a cluster's first
   * control plane before the rest of its machines.
   */
  async claim(owner: string, limit: number, leaseMs: number, now: Date): Promise<ClaimedMachine[]> {
    const rows = await this.unitOfWork.manager.query<ClaimRow[]>(CLAIM_MACHINES_SQL, [owner, limit, leaseMs, now.toISOString()]);
    const controlPlanes = await this.runningControlPlaneHosts([...new Set(rows.filter((row) => row.host !== null).map((row) => row.cluster_id))]);
    return rows.map((row) => ({
      clusterId: row.cluster_id,
      name: row.name,
      role: row.role,
      pool: row.pool,
      machineSize: row.machine_size,
      host: row.host,
      phase: row.phase,
      providerId: row.provider_id,
      addresses: row.addresses,
      claims: row.claims,
      providerErrors: row.provider_errors,
      kubernetesVersion: row.kubernetes_version,
      nodeOs: row.host ? null : (row.spec.nodeOs ?? DEFAULT_NODE_OS),
      parameters: row.spec.infrastructure?.parameters ?? {},
      spec: row.spec,
      clusterPhase: row.cluster_phase,
      upgrade: row.upgrade,
      remediation: row.remediation,
      controlPlanes: row.host === null ? [] : (controlPlanes.get(row.cluster_id) ?? []),
    }));
  }

  /** Users' hosts: each cluster's Running control-plane hosts, oldest first (what an SSH join or upgrade goes through). */
  private async runningControlPlaneHosts(clusterIds: readonly string[]): Promise<Map<string, { machine: string; host: HostRef }[]>> {
    if (clusterIds.length === 0) return new Map();
    const rows = await this.unitOfWork.manager.query<{ cluster_id: string; machine: string; host: HostRef }[]>(
      `SELECT cp.cluster_id, cp.name AS machine, cp.host
         FROM unnest($1::text[]) AS k(id)
         CROSS JOIN LATERAL (SELECT cluster_id, name, host, ordinal FROM machines
                              WHERE cluster_id = k.id AND role = 'control-plane' AND phase = 'Running' AND host IS NOT NULL) cp
        ORDER BY cp.cluster_id, cp.ordinal`,
      [clusterIds],
    );
    const byCluster = new Map<string, { machine: string; host: HostRef }[]>();
    for (const row of rows) {
      const list = byCluster.get(row.cluster_id) ?? [];
      list.push({ machine: row.machine, host: row.host });
      byCluster.set(row.cluster_id, list);
    }
    return byCluster;
  }

  /**
   * Reclaims the room of the row versions the queue's updates left behind (each claim and each
   * record writes a machine's row again), in the table and in its indexes: a claim's index scan
   * otherwise steps over every dead entry due before the machines it takes, so a round costs
   * more the more machines came before it. Autovacuum does this when it runs, but it may be off
   * or behind; SKIP_LOCKED: a replica already at it is left to it. Never in a transaction.
   */
  async vacuum(): Promise<void> {
    await this.unitOfWork.manager.query(`VACUUM (SKIP_LOCKED) machines, clusters`);
  }

  /** Hands claims back untouched (shutting down before working on them): due again at `now`. */
  async release(owner: string, machines: readonly { clusterId: string; name: string }[], now: Date): Promise<void> {
    if (machines.length === 0) return;
    await this.unitOfWork.manager.query(
      `UPDATE machines m SET next_reconcile_at = $3::timestamptz
         FROM jsonb_to_recordset($2::jsonb) AS r(cluster_id text, name text)
        WHERE m.cluster_id = r.cluster_id AND m.name = r.name AND m.claimed_by = $1 AND m.next_reconcile_at IS NOT NULL`,
      [owner, JSON.stringify(machines.map((machine) => ({ cluster_id: machine.clusterId, name: machine.name }))), now.toISOString()],
    );
  }
}
