import { Inject, Injectable } from '@nestjs/common';
import type { ClusterSpec } from '@flotilla/contracts';
import { UnitOfWork } from '@flotilla/messaging';
import { Clock } from '@flotilla/service-kit';
import type { ControlPlaneEndpoints, ControlPlanePlacement, HostedControlPlane, PlacementResult } from './control-plane-placement.js';
import { HostedControlPlaneEntity, type HostedControlPlanePhase } from './entities.js';
import { ManagementClusterRegistry } from './management-cluster-registry.js';
import { choosePlacement, fits } from './placement.js';
import { sizeControlPlane, type ControlPlaneSizing, type Resources } from './sizing.js';
import { joinEndpointFor, namespaceFor, tenantControlPlane } from './tenant-control-plane.js';

/** A placed control plane with what it holds on its management cluster, and what became of it there. */
export interface PlacedControlPlane extends HostedControlPlane {
  replicas: number;
  reserved: Resources;
  createdAt: string;
  /** applying (until its TenantControlPlane is Ready), ready, failed, deleting (until it is gone there). */
  phase: HostedControlPlanePhase;
  /** What the TenantControlPlane last said of itself (Kamaji's version status). */
  observedStatus: string | null;
  /** Where its API server answers once Ready (status.controlPlaneEndpoint): the cluster's endpoint. */
  controlPlaneEndpoint: string | null;
  readyAt: string | null;
  failure: { code: string; message: string } | null;
  lastError: string | null;
}

/**
 * Another transaction can take the last room on the chosen cluster between the choice and the
 * lock; each such race means fresher numbers for the next try, so a few tries settle it.
 */
const MAX_ATTEMPTS = 8;

/**
 * Places hosted control planes on management clusters without ever over-committing one: the
 * choice is made on a plain read, then confirmed under a row lock on the chosen cluster (every
 * reservation and capacity change takes that lock first) and inserted before the lock is let
 * go at commit. Needs READ COMMITTED (the default), so the check under the lock sees what the
 * previous lock holder committed.
 */
@Injectable()
export class HostedControlPlanePlacement implements ControlPlanePlacement, ControlPlaneEndpoints {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(ManagementClusterRegistry) private readonly registry: ManagementClusterRegistry,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async reserve(clusterId: string, spec: ClusterSpec): Promise<PlacementResult> {
    // Joins the caller's transaction; outside one it makes its own (the lock needs one).
    return this.unitOfWork.run(async () => {
      const existing = await this.find(clusterId);
      if (existing) return { ok: true, placement: existing };
      const sizing = sizeControlPlane(spec);
      for (let attempt = 1; ; attempt++) {
        const decision = choosePlacement(await this.registry.loads(), sizing.total);
        if (!decision.ok) return { ok: false, code: decision.code, message: decision.message };
        const placed = await this.placeOn(decision.managementCluster, clusterId, spec, sizing);
        if (placed) return { ok: true, placement: placed };
        if (attempt === MAX_ATTEMPTS) {
          return {
            ok: false,
            code: 'management-capacity-exhausted',
            message: `management clusters kept filling up while placing the control plane of "${clusterId}" (${MAX_ATTEMPTS} tries); try again`,
          };
        }
      }
    });
  }

  async release(clusterId: string): Promise<void> {
    // Freeing room needs no lock: it can only make a check made under one more true.
    await this.unitOfWork.manager.query(`DELETE FROM hosted_control_planes WHERE cluster_id = $1`, [clusterId]);
  }

  async retire(clusterId: string): Promise<void> {
    // Due at once, unless a turn holds it (it may be applying it right now): then when that turn
    // hands it back (its write-back loses to this) or its claim runs out, never while it runs.
    await this.unitOfWork.manager.query(
      `UPDATE hosted_control_planes
          SET phase = 'deleting', errors = 0,
              next_reconcile_at = CASE WHEN claimed_by IS NOT NULL AND next_reconcile_at > $2 THEN next_reconcile_at ELSE $2 END
        WHERE cluster_id = $1 AND phase <> 'deleting'`,
      [
        clusterId,
        this.clock.now().toISOString(),
      ],
    );
  }

  async find(clusterId: string): Promise<PlacedControlPlane | undefined> {
    const row = await this.unitOfWork.manager.getRepository(HostedControlPlaneEntity).findOneBy({ clusterId });
    return row ? toPlaced(row) : undefined;
  }

  async joinEndpoint(clusterId: string): Promise<string | undefined> {
    const placed = await this.find(clusterId);
    return placed?.phase === 'ready' ? (placed.controlPlaneEndpoint ?? undefined) : undefined;
  }

  /**
   * Confirms the room under the cluster's row lock and reserves it. Undefined when the room is
   * gone (cordoned, or taken meanwhile): the savepoint's rollback lets go of the lock, so a
   * transaction never holds two clusters' locks and two placements cannot deadlock.
   */
  private async placeOn(name: string, clusterId: string, spec: ClusterSpec, sizing: ControlPlaneSizing): Promise<PlacedControlPlane | undefined> {
    const manager = this.unitOfWork.manager;
    await manager.query(`SAVEPOINT hosted_placement`);
    const cluster = await this.registry.lock(name);
    const [load] = await this.registry.loads(name);
    if (!cluster || !load || !fits(load, sizing.total)) {
      await manager.query(`ROLLBACK TO SAVEPOINT hosted_placement`);
      return undefined;
    }
    const endpoint = joinEndpointFor(clusterId, cluster.ingressDomain);
    const manifest = tenantControlPlane({ clusterId, spec, sizing, managementCluster: { name, ingressDomain: cluster.ingressDomain, dataStore: cluster.dataStore } });
    await manager.query(
      `INSERT INTO hosted_control_planes (cluster_id, management_cluster, size, replicas, reserved_cpu_millicores, reserved_memory_bytes, namespace, endpoint, manifest)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (cluster_id) DO NOTHING`,
      [clusterId, name, sizing.size, sizing.replicas, sizing.total.cpuMillicores, sizing.total.memoryBytes, namespaceFor(clusterId), endpoint, JSON.stringify(manifest)],
    );
    await manager.query(`RELEASE SAVEPOINT hosted_placement`);
    // When nothing was inserted, a concurrent reserve of the same cluster committed first: its placement stands.
    return this.find(clusterId);
  }
}

function toPlaced(row: HostedControlPlaneEntity): PlacedControlPlane {
  return {
    clusterId: row.clusterId,
    managementCluster: row.managementCluster,
    size: row.size,
    namespace: row.namespace,
    endpoint: row.endpoint,
    manifest: row.manifest,
    replicas: row.replicas,
    reserved: { cpuMillicores: row.reservedCpuMillicores, memoryBytes: row.reservedMemoryBytes },
    createdAt: row.createdAt.toISOString(),
    phase: row.phase,
    observedStatus: row.observedStatus,
    controlPlaneEndpoint: row.controlPlaneEndpoint,
    readyAt: row.readyAt?.toISOString() ?? null,
    failure: row.failureCode === null ? null : { code: row.failureCode, message: row.failureMessage ?? '' },
    lastError: row.lastError,
  };
}
