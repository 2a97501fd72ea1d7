import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import type { Registration } from './registration.js';

interface RegistrationRow {
  registration_id: string;
  cluster_id: string;
  cluster_name: string;
  token_hash: string;
  labels: Record<string, string>;
  expires_at: Date;
  revoked_at: Date | null;
  redeemed_at: Date | null;
}

const iso = (value: Date | null) => (value ? value.toISOString() : null);

function toRegistration(row: RegistrationRow): Registration {
  return {
    registrationId: row.registration_id,
    clusterId: row.cluster_id,
    clusterName: row.cluster_name,
    tokenHash: row.token_hash,
    labels: row.labels,
    expiresAt: row.expires_at.toISOString(),
    revokedAt: iso(row.revoked_at),
    redeemedAt: iso(row.redeemed_at),
  };
}

/** An agent certificate the broker issued: admitted while not revoked and its cluster not removed. */
export interface AgentCertificate {
  serialNumber: string;
  clusterId: string;
  agentId: string;
  agentVersion: string;
  notAfter: string;
}

export interface TunnelCluster {
  clusterId: string;
  clusterName: string;
  labels: Record<string, string>;
  removedAt: string | null;
}

/** Registrations, agents' certificates and clusters, in the broker's schema. Joins the caller's transaction. */
@Injectable()
export class EnrollmentRepository {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  private query<T>(sql: string, parameters: unknown[]): Promise<T[]> {
    return this.unitOfWork.manager.query<T[]>(sql, parameters);
  }

  /** Records a registration; the same one again (a redelivered event) changes nothing. */
  async addRegistration(registration: Omit<Registration, 'revokedAt' | 'redeemedAt'>): Promise<void> {
    await this.query(
      `INSERT INTO tunnel_registrations (registration_id, cluster_id, cluster_name, token_hash, labels, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [registration.registrationId, registration.clusterId, registration.clusterName, registration.tokenHash, JSON.stringify(registration.labels), registration.expiresAt],
    );
  }

  async revokeRegistration(registrationId: string, at: Date): Promise<void> {
    await this.query(`UPDATE tunnel_registrations SET revoked_at = $2 WHERE registration_id = $1 AND revoked_at IS NULL AND redeemed_at IS NULL`, [registrationId, at]);
  }

  /** The registration of a token hash, locked until the transaction ends: one redemption across replicas. */
  async registrationForUpdate(tokenHash: string): Promise<Registration | undefined> {
    const [row] = await this.query<RegistrationRow>(`SELECT * FROM tunnel_registrations WHERE token_hash = $1 FOR UPDATE`, [tokenHash]);
    return row ? toRegistration(row) : undefined;
  }

  async markRedeemed(registrationId: string, at: Date): Promise<void> {
    await this.query(`UPDATE tunnel_registrations SET redeemed_at = $2 WHERE registration_id = $1`, [registrationId, at]);
  }

  /** The cluster a redeemed registration connects: its labels now, and no longer removed if it was. */
  async upsertCluster(cluster: Omit<TunnelCluster, 'removedAt'>): Promise<void> {
    await this.query(
      `INSERT INTO tunnel_clusters (cluster_id, cluster_name, labels) VALUES ($1, $2, $3)
       ON CONFLICT (cluster_id) DO UPDATE SET cluster_name = excluded.cluster_name, labels = excluded.labels, removed_at = NULL`,
      [cluster.clusterId, cluster.clusterName, JSON.stringify(cluster.labels)],
    );
  }

  async findCluster(clusterId: string): Promise<TunnelCluster | undefined> {
    const [row] = await this.query<{ cluster_id: string; cluster_name: string; labels: Record<string, string>; removed_at: Date | null }>(`SELECT * FROM tunnel_clusters WHERE cluster_id = $1`, [clusterId]);
    return row ? { clusterId: row.cluster_id, clusterName: row.cluster_name, labels: row.labels, removedAt: iso(row.removed_at) } : undefined;
  }

  async addCertificate(certificate: AgentCertificate & { registrationId: string; issuedAt: Date }): Promise<void> {
    await this.query(
      `INSERT INTO agent_certificates (serial_number, cluster_id, registration_id, agent_id, agent_version, issued_at, not_after) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [certificate.serialNumber, certificate.clusterId, certificate.registrationId, certificate.agentId, certificate.agentVersion, certificate.issuedAt, certificate.notAfter],
    );
  }

  /** A renewal: the new certificate carries on from the old one (same registration and agent). */
  async addRenewal(previousSerial: string, next: { serialNumber: string; notAfter: string; issuedAt: Date }): Promise<void> {
    await this.query(
      `INSERT INTO agent_certificates (serial_number, cluster_id, registration_id, agent_id, agent_version, issued_at, not_after)
       SELECT $2, cluster_id, registration_id, agent_id, agent_version, $3, $4 FROM agent_certificates WHERE serial_number = $1 AND revoked_at IS NULL`,
      [previousSerial, next.serialNumber, next.issuedAt, next.notAfter],
    );
  }

  /** The certificate with this serial, unless revoked or its cluster removed. */
  async admissible(serialNumber: string): Promise<(AgentCertificate & { refusal?: string }) | undefined> {
    const [row] = await this.query<{ serial_number: string; cluster_id: string; agent_id: string; agent_version: string; not_after: Date; revoked_at: Date | null; revoke_reason: string | null; removed_at: Date | null }>(
      `SELECT c.*, t.removed_at FROM agent_certificates c LEFT JOIN tunnel_clusters t USING (cluster_id) WHERE c.serial_number = $1`,
      [serialNumber],
    );
    if (!row) return undefined;
    const refusal = row.removed_at ? 'the cluster was removed from Flotilla' : row.revoked_at ? `the certificate was revoked (${row.revoke_reason ?? 'no reason'})` : undefined;
    return { serialNumber: row.serial_number, clusterId: row.cluster_id, agentId: row.agent_id, agentVersion: row.agent_version, notAfter: row.not_after.toISOString(), ...(refusal ? { refusal } : {}) };
  }

  /** The cluster is gone: every certificate of it revoked, and it is refused from now on. */
  async removeCluster(clusterId: string, reason: string, at: Date): Promise<number> {
    await this.query(`UPDATE tunnel_clusters SET removed_at = $2 WHERE cluster_id = $1 AND removed_at IS NULL`, [clusterId, at]);
    const [, count] = await this.unitOfWork.manager.query<[unknown, number]>(
      `UPDATE agent_certificates SET revoked_at = $2, revoke_reason = $3 WHERE cluster_id = $1 AND revoked_at IS NULL`,
      [clusterId, at, reason],
    );
    return count;
  }
}
