import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The support-matrix revision each cluster request was judged under (null for older rows). */
export class ClusterPolicyRevision1732300015500 implements MigrationInterface {
  name = 'ClusterPolicyRevision1732300015500';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE clusters ADD COLUMN policy_revision text`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE clusters DROP COLUMN policy_revision`);
  }
}
