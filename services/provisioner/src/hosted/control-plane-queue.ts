import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { HostedControlPlanePhase } from './entities.js';

/** A hosted control plane the reconciler claimed, with its management cluster's address. */
export interface ClaimedControlPlane {
  clusterId: string;
  managementCluster: string;
  apiEndpoint: string;
  namespace: string;
  manifest: Record<string, unknown>;
  phase: HostedControlPlanePhase;
  /** SHA-256 of the manifest last applied (server-side apply answered), null before. */
  appliedSha256: string | null;
  /** Ready by then, or its cluster fails (set when first claimed). */
  deadline: Date;
  observedStatus: string | null;
  errors: number;
  lastError: string | null;
}

/** What a turn on a control plane leads to, written back under the claim. */
export type ControlPlaneWrite =
  | { kind: 'waiting'; appliedSha256: string | null; observedStatus: string | null; retryInMs: number; errors: number; lastError: string | null }
  | { kind: 'ready'; appliedSha256: string; endpoint: string }
  | { kind: 'failed'; code: string; message: string }
  | { kind: 'deleting'; retryInMs: number; errors: number; lastError: string | null };

interface ClaimRow {
  cluster_id: string;
  management_cluster: string;
  api_endpoint: string;
  namespace: string;
  manifest: Record<string, unknown>;
  phase: HostedControlPlanePhase;
  applied_sha256: string | null;
  deadline: Date;
  observed_status: string | null;
  errors: number;
  last_error: string | null;
}

/**
 * The hosted reconciler's work queue: control planes whose `next_reconcile_at` has come (to
 * apply and watch until Ready, or to delete). A claim moves that time one lease ahead, so the
 * row is nobody else's until the claimer writes it back or dies and the lease runs out. Times
 * are the provisioner's clock. Every method joins the caller's transaction.
 */
@Injectable()
export class HostedControlPlaneQueue {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  async claim(owner: string, limit: number, leaseMs: number, readyTimeoutMs: number, now: Date): Promise<ClaimedControlPlane[]> {
    if (limit <= 0) return [];
    const rows = await this.unitOfWork.manager.query<ClaimRow[]>(
      // As a CTE: TypeORM hands back UPDATE ... RETURNING as [rows, count], a SELECT as rows.
      `WITH claimed AS (
         UPDATE hosted_control_planes h
            SET next_reconcile_at = $4::timestamptz + $3::int * interval '1 millisecond', claimed_by = $1,
                deadline = COALESCE(h.deadline, $4::timestamptz + $5::int * interval '1 millisecond')
           FROM (SELECT cluster_id FROM hosted_control_planes
                  WHERE next_reconcile_at <= $4::timestamptz
                  ORDER BY next_reconcile_at
                  LIMIT $2
                  FOR UPDATE SKIP LOCKED) due,
                management_clusters m
          WHERE h.cluster_id = due.cluster_id AND m.name = h.management_cluster
        RETURNING h.cluster_id, h.management_cluster, m.api_endpoint, h.namespace, h.manifest, h.phase, h.applied_sha256, h.deadline,
                  h.observed_status, h.errors, h.last_error)
       SELECT * FROM claimed`,
      [owner, limit, leaseMs, now.toISOString(), readyTimeoutMs],
    );
    return rows.map((row) => ({
      clusterId: row.cluster_id,
      managementCluster: row.management_cluster,
      apiEndpoint: row.api_endpoint,
      namespace: row.namespace,
      manifest: row.manifest,
      phase: row.phase,
      appliedSha256: row.applied_sha256,
      deadline: new Date(row.deadline),
      observedStatus: row.observed_status,
      errors: row.errors,
      lastError: row.last_error,
    }));
  }

  /**
   * Writes a turn's outcome, only while the row is still as claimed (same claimer, same phase):
   * a deletion that came meanwhile wins. Returns whether it was written.
   */
  async write(owner: string, claimed: ClaimedControlPlane, outcome: ControlPlaneWrite, now: Date): Promise<boolean> {
    const due = (ms: number) => new Date(now.getTime() + ms).toISOString();
    const where = `WHERE cluster_id = $1 AND claimed_by = $2 AND phase = $3`;
    const key = [claimed.clusterId, owner, claimed.phase];
    let rows: unknown[];
    switch (outcome.kind) {
      case 'waiting':
        rows = await this.update(
          `SET applied_sha256 = $4, applied_at = CASE WHEN $4::text IS DISTINCT FROM applied_sha256 THEN $5::timestamptz ELSE applied_at END,
               observed_status = $6, next_reconcile_at = $7, errors = $8, last_error = $9, claimed_by = NULL ${where}`,
          [...key, outcome.appliedSha256, now.toISOString(), outcome.observedStatus, due(outcome.retryInMs), outcome.errors, outcome.lastError],
        );
        break;
      case 'ready':
        rows = await this.update(
          `SET phase = 'ready', applied_sha256 = $4, applied_at = COALESCE(applied_at, $5::timestamptz), observed_status = 'Ready', control_plane_endpoint = $6,
               ready_at = $5, next_reconcile_at = NULL, errors = 0, last_error = NULL, claimed_by = NULL ${where}`,
          [...key, outcome.appliedSha256, now.toISOString(), outcome.endpoint],
        );
        break;
      case 'failed':
        rows = await this.update(`SET phase = 'failed', failure_code = $4, failure_message = $5, next_reconcile_at = NULL, claimed_by = NULL ${where}`, [...key, outcome.code, outcome.message]);
        break;
      case 'deleting':
        rows = await this.update(`SET next_reconcile_at = $4, errors = $5, last_error = $6, claimed_by = NULL ${where}`, [...key, due(outcome.retryInMs), outcome.errors, outcome.lastError]);
        break;
    }
    if (rows.length > 0) return true;
    // Retired meanwhile: the claim is handed back so its deletion starts now, after this turn.
    await this.unitOfWork.manager.query(`UPDATE hosted_control_planes SET next_reconcile_at = $3, claimed_by = NULL WHERE cluster_id = $1 AND claimed_by = $2`, [claimed.clusterId, owner, now.toISOString()]);
    return false;
  }

  /** Hands claims back untouched (shutting down): due again at `now`. */
  async release(owner: string, clusterIds: readonly string[], now: Date): Promise<void> {
    if (clusterIds.length === 0) return;
    await this.unitOfWork.manager.query(`UPDATE hosted_control_planes SET next_reconcile_at = $3, claimed_by = NULL WHERE cluster_id = ANY($2) AND claimed_by = $1 AND next_reconcile_at IS NOT NULL`, [
      owner,
      clusterIds,
      now.toISOString(),
    ]);
  }

  /** The object and its namespace are gone from the management cluster: the room it held is free. */
  async remove(owner: string, clusterId: string): Promise<void> {
    await this.unitOfWork.manager.query(`DELETE FROM hosted_control_planes WHERE cluster_id = $1 AND claimed_by = $2 AND phase = 'deleting'`, [clusterId, owner]);
  }

  private async update(assignments: string, parameters: unknown[]): Promise<unknown[]> {
    return this.unitOfWork.manager.query<unknown[]>(`WITH written AS (UPDATE hosted_control_planes ${assignments} RETURNING cluster_id) SELECT cluster_id FROM written`, parameters);
  }
}
