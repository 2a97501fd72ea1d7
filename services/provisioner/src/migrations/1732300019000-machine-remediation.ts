import type { MigrationInterface, QueryRunner } from 'typeorm';

/** What was done about a user's host that failed its health check (reported, rebooted); null otherwise. */
export class MachineRemediation1732300019000 implements MigrationInterface {
  name = 'MachineRemediation1732300019000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE machines ADD COLUMN remediation jsonb`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE machines DROP COLUMN remediation`);
  }
}
