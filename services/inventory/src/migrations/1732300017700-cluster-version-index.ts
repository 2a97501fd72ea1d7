import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One index for both version filters: a minor (its prefix) and an exact version (both columns),
 * so `version=1.30.4` reads the clusters on that version, not every cluster on 1.30.
 */
export class ClusterVersionIndex1732300017700 implements MigrationInterface {
  name = 'ClusterVersionIndex1732300017700';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX clusters_kubernetes_version ON clusters (kubernetes_minor, kubernetes_version)`);
    await queryRunner.query(`DROP INDEX clusters_kubernetes_minor`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX clusters_kubernetes_minor ON clusters (kubernetes_minor, id)`);
    await queryRunner.query(`DROP INDEX clusters_kubernetes_version`);
  }
}
