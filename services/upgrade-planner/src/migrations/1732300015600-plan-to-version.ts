import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Plans may ask for a Kubernetes minor (toVersion) rather than the target release's newest. */
export class PlanToVersion1732300015600 implements MigrationInterface {
  name = 'PlanToVersion1732300015600';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE plans ADD COLUMN to_version text`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE plans DROP COLUMN to_version`);
  }
}
