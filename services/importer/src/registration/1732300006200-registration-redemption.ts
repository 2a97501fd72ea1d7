import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Labels of a registered cluster, and what the tunnel broker reported when it redeemed the token. */
export class RegistrationRedemption1732300006200 implements MigrationInterface {
  name = 'RegistrationRedemption1732300006200';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE registration_tokens
        ADD COLUMN labels                 jsonb NOT NULL DEFAULT '{}',
        ADD COLUMN agent_id               text,
        ADD COLUMN certificate_serial     text,
        ADD COLUMN certificate_expires_at timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE registration_tokens DROP COLUMN labels, DROP COLUMN agent_id, DROP COLUMN certificate_serial, DROP COLUMN certificate_expires_at`);
  }
}
