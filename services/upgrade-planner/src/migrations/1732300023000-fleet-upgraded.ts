import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The newest ClusterUpgraded of each cluster in the fleet view (`upgraded_to`, `upgraded_at`), so a
 * node fact older than the upgrade that arrives after it takes the upgrade's version. Existing
 * rows start without one: their nodes were already set by the upgrades they saw.
 */
export class FleetUpgraded1732300023000 implements MigrationInterface {
  name = 'FleetUpgraded1732300023000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE fleet_clusters ADD COLUMN upgraded_to text, ADD COLUMN upgraded_at timestamptz`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE fleet_clusters DROP COLUMN upgraded_to, DROP COLUMN upgraded_at`);
  }
}
