import type { MigrationInterface, QueryRunner } from 'typeorm';

/** One-time registration tokens of clusters that connect through the tunnel (hashes only). */
export class RegistrationTokens1732300006100 implements MigrationInterface {
  name = 'RegistrationTokens1732300006100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE registration_tokens (
        id           uuid        PRIMARY KEY,
        cluster_id   text        NOT NULL,
        cluster_name text        NOT NULL,
        tunnel_url   text        NOT NULL,
        token_hash   text        NOT NULL UNIQUE,
        created_at   timestamptz NOT NULL,
        expires_at   timestamptz NOT NULL,
        revoked_at   timestamptz,
        used_at      timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX registration_tokens_cluster_id ON registration_tokens (cluster_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE registration_tokens`);
  }
}
