import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The `secrets` table, in the service's own schema. Services list it with their migrations. */
export class SecretsTable1732300005000 implements MigrationInterface {
  name = 'SecretsTable1732300005000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE secrets (
        ref         text        PRIMARY KEY,
        kind        text        NOT NULL,
        version     smallint    NOT NULL,
        kek_id      text        NOT NULL,
        wrapped_key bytea       NOT NULL,
        wrap_iv     bytea       NOT NULL,
        wrap_tag    bytea       NOT NULL,
        iv          bytea       NOT NULL,
        ciphertext  bytea       NOT NULL,
        tag         bytea       NOT NULL,
        metadata    jsonb       NOT NULL DEFAULT '{}'::jsonb,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX secrets_kind ON secrets (kind)`);
    // Rotation looks for rows under old keys and counts rows per key.
    await queryRunner.query(`CREATE INDEX secrets_kek_id ON secrets (kek_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE secrets`);
  }
}
