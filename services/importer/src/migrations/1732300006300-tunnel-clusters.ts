import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Clusters registered through the tunnel: a check the tunnel could not carry is tried again no
 * sooner than `check_not_before`, instead of being rejected.
 */
export class TunnelClusters1732300006300 implements MigrationInterface {
  name = 'TunnelClusters1732300006300';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE connected_clusters ADD COLUMN check_not_before timestamptz`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE connected_clusters DROP COLUMN check_not_before`);
  }
}
