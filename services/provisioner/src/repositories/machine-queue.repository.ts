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
  control_planes: { machine: string; host: HostRef }[] | null;
}

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
   * database's clock says.
   */
  async claim(owner: string, limit: number, leaseMs: number, now: Date): Promise<ClaimedMachine[]> {
    const rows = await this.unitOfWork.manager.query<ClaimRow[]>(
      // As a CTE: TypeORM hands back UPDATE ... RETURNING as [rows, count], a SELECT as rows.
      `WITH claimed AS (
         UPDATE machines m
            SET next_reconcile_at = $4::timestamptz + $3::int * interval '1 millisecond', claimed_by = $1, claims = m.claims + 1
           FROM (SELECT cluster_id, name FROM machines
                  WHERE next_reconcile_at <= $4::timestamptz
                  ORDER BY next_reconcile_at
                  LIMIT $2
                  FOR UPDATE SKIP LOCKED) due,
                clusters c
          WHERE m.cluster_id = due.cluster_id AND m.name = due.name AND c.id = m.cluster_id
        RETURNING m.cluster_id, m.name, m.role, m.pool, m.machine_size, m.host, m.phase, m.provider_id, m.addresses, m.claims, m.provider_errors,
                  m.kubernetes_version, m.upgrade, m.remediation, c.phase AS cluster_phase,
                  c.spec AS spec)
       SELECT claimed.*,
              CASE WHEN claimed.host IS NULL THEN NULL ELSE
                (SELECT jsonb_agg(jsonb_build_object('machine', cp.name, 'host', cp.host) ORDER BY cp.ordinal)
                   FROM machines cp
                  WHERE cp.cluster_id = claimed.cluster_id AND cp.role = 'control-plane' AND cp.phase = 'Running' AND cp.host IS NOT NULL)
              END AS control_planes
         FROM claimed`,
      [owner, limit, leaseMs, now.toISOString()],
    );
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
      controlPlanes: row.control_planes ?? [],
    }));
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
