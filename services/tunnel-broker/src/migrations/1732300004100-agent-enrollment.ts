import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Registrations (token hashes from the importer), agents' certificates, and what the broker knows of each cluster. */
export class AgentEnrollment1732300004100 implements MigrationInterface {
  name = 'AgentEnrollment1732300004100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE tunnel_registrations (
        registration_id uuid PRIMARY KEY,
        cluster_id      text        NOT NULL,
        cluster_name    text        NOT NULL,
        token_hash      text        NOT NULL UNIQUE,
        labels          jsonb       NOT NULL DEFAULT '{}',
        expires_at      timestamptz NOT NULL,
        revoked_at      timestamptz,
        redeemed_at     timestamptz
      )`);
    await runner.query(`
      CREATE TABLE agent_certificates (
        serial_number   text PRIMARY KEY,
        cluster_id      text        NOT NULL,
        registration_id uuid        NOT NULL,
        agent_id        text        NOT NULL,
        agent_version   text        NOT NULL,
        issued_at       timestamptz NOT NULL,
        not_after       timestamptz NOT NULL,
        revoked_at      timestamptz,
        revoke_reason   text
      )`);
    await runner.query(`CREATE INDEX agent_certificates_cluster ON agent_certificates (cluster_id) WHERE revoked_at IS NULL`);
    // Labels authorise scoped callers; removed clusters are refused whatever certificate comes.
    await runner.query(`
      CREATE TABLE tunnel_clusters (
        cluster_id   text PRIMARY KEY,
        cluster_name text        NOT NULL,
        labels       jsonb       NOT NULL DEFAULT '{}',
        removed_at   timestamptz
      )`);
    // Which replica holds a session: its replica keeps all of its sessions alive in one statement.
    await runner.query(`ALTER TABLE tunnel_sessions ADD COLUMN replica_id text`);
    await runner.query(`CREATE INDEX tunnel_sessions_replica ON tunnel_sessions (replica_id) WHERE state = 'Active'`);
    // A connection that drops ends its session at once (connection-lost), without waiting for a timeout.
    await runner.query(`ALTER TABLE tunnel_sessions DROP CONSTRAINT tunnel_sessions_end_reason_check`);
    await runner.query(
      `ALTER TABLE tunnel_sessions ADD CONSTRAINT tunnel_sessions_end_reason_check CHECK (end_reason IN ('agent-closed', 'superseded', 'cluster-deleted', 'heartbeat-timeout', 'connection-lost'))`,
    );
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE tunnel_sessions DROP COLUMN replica_id`);
    await runner.query(`DROP TABLE tunnel_clusters`);
    await runner.query(`DROP TABLE agent_certificates`);
    await runner.query(`DROP TABLE tunnel_registrations`);
  }
}
