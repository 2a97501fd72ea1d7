import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the read model needs to tell the truth: the requests waiting for their owner's answer,
 * the latest refusal with its reasons, the owner's progress, and when each fact was last set
 * (late events are compared against it on write); and a history that pages newest first.
 */
export class ClusterRequestsProgressOrder1732300015300 implements MigrationInterface {
  name = 'ClusterRequestsProgressOrder1732300015300';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE clusters
        ADD COLUMN pending_requests jsonb NOT NULL DEFAULT '[]'::jsonb,
        ADD COLUMN last_refusal     jsonb,
        ADD COLUMN progress         jsonb,
        ADD COLUMN fact_times       jsonb NOT NULL DEFAULT '{}'::jsonb`);
    // A rejection's data, for the cluster it names should that cluster become known later.
    await queryRunner.query(`ALTER TABLE cluster_events ADD COLUMN detail jsonb`);
    await queryRunner.query(`CREATE INDEX cluster_events_cluster_time_id ON cluster_events (cluster_id, time DESC, event_id DESC)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX cluster_events_cluster_time_id`);
    await queryRunner.query(`ALTER TABLE cluster_events DROP COLUMN detail`);
    await queryRunner.query(`ALTER TABLE clusters DROP COLUMN pending_requests, DROP COLUMN last_refusal, DROP COLUMN progress, DROP COLUMN fact_times`);
  }
}
