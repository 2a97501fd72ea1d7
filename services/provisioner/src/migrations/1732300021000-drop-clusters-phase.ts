import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * No query of the provisioner selects clusters by phase (they are read by id), while every
 * phase change of every cluster wrote an entry of the index, and kept the row's update from
 * being a heap-only one: the index goes.
 */
export class DropClustersPhase1732300021000 implements MigrationInterface {
  name = 'DropClustersPhase1732300021000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX clusters_phase`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE INDEX clusters_phase ON clusters (phase)`);
  }
}
