import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cluster labels (what label-scoped callers see), the tokens this inventory issued (never the
 * token itself), and the fleet's audit trail gathered from every service's audit subject.
 */
export class ClusterLabelsTokensAudit1732300007100 implements MigrationInterface {
  name = 'ClusterLabelsTokensAudit1732300007100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE clusters ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'::jsonb`);
    await queryRunner.query(`CREATE INDEX clusters_labels ON clusters USING gin (labels jsonb_path_ops)`);
    await queryRunner.query(`
      CREATE TABLE api_tokens (
        id          uuid        PRIMARY KEY,
        subject     text        NOT NULL,
        role        text        NOT NULL,
        scope       jsonb,
        description text,
        key_id      text        NOT NULL,
        created_by  text        NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        expires_at  timestamptz NOT NULL,
        revoked_at  timestamptz,
        revoked_by  text
      )`);
    await queryRunner.query(`
      CREATE TABLE signing_keys (
        kid        text        PRIMARY KEY,
        public_jwk jsonb       NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        retired_at   timestamptz,
        withdrawn_at timestamptz
      )`);
    await queryRunner.query(`
      CREATE TABLE fleet_audit (
        id         uuid        PRIMARY KEY,
        time       timestamptz NOT NULL,
        service    text        NOT NULL,
        subject    text        NOT NULL,
        cluster_id text,
        result     text        NOT NULL,
        record     jsonb       NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX fleet_audit_time ON fleet_audit (time DESC)`);
    await queryRunner.query(`CREATE INDEX fleet_audit_subject ON fleet_audit (subject, time DESC)`);
    await queryRunner.query(`CREATE INDEX fleet_audit_cluster ON fleet_audit (cluster_id, time DESC)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE fleet_audit`);
    await queryRunner.query(`DROP TABLE signing_keys`);
    await queryRunner.query(`DROP TABLE api_tokens`);
    await queryRunner.query(`ALTER TABLE clusters DROP COLUMN labels`);
  }
}
