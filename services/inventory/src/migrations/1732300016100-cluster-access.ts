import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * How the platform reaches each cluster's API server: `tunnel` for clusters registered behind a
 * firewall (their agent dials the tunnel broker), `direct` otherwise, null while not known.
 * Existing rows: a cluster with a tunnel reported, or tunnel events in its history, is reached
 * through it; a platform cluster directly; a connected cluster imported before stays unknown
 * until its next import or tunnel fact.
 */
export class ClusterAccess1732300016100 implements MigrationInterface {
  name = 'ClusterAccess1732300016100';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE clusters ADD COLUMN access text`);
    await queryRunner.query(`
      UPDATE clusters c SET access = 'tunnel'
       WHERE c.tunnel IS NOT NULL
          OR EXISTS (SELECT 1 FROM cluster_events e WHERE e.cluster_id = c.id AND e.type LIKE 'io.flotilla.tunnel.%')`);
    await queryRunner.query(`UPDATE clusters SET access = 'direct' WHERE access IS NULL AND model IS NOT NULL AND model <> 'connected'`);
    await queryRunner.query(`CREATE INDEX clusters_access ON clusters (access) WHERE access IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX clusters_access`);
    await queryRunner.query(`ALTER TABLE clusters DROP COLUMN access`);
  }
}
