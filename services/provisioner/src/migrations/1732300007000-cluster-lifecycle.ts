import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The lifecycle after creation: a cluster's current version and the operation it is in the middle
 * of (scale, upgrade, delete); a machine's own version, whom it replaces, why it is being
 * released (phase Deleting), since when its node is not Ready, and an in-place upgrade.
 */
export class ClusterLifecycle1732300007000 implements MigrationInterface {
  name = 'ClusterLifecycle1732300007000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE clusters ADD COLUMN kubernetes_version text, ADD COLUMN operation jsonb`);
    await runner.query(`UPDATE clusters SET kubernetes_version = spec->>'kubernetesVersion'`);
    await runner.query(`ALTER TABLE clusters ALTER COLUMN kubernetes_version SET NOT NULL`);
    await runner.query(`
      ALTER TABLE machines
        ADD COLUMN kubernetes_version text,
        ADD COLUMN replaces jsonb,
        ADD COLUMN removal jsonb,
        ADD COLUMN unhealthy_since timestamptz,
        ADD COLUMN upgrade jsonb`);
    await runner.query(`UPDATE machines m SET kubernetes_version = c.spec->>'kubernetesVersion' FROM clusters c WHERE c.id = m.cluster_id`);
    await runner.query(`ALTER TABLE machines ALTER COLUMN kubernetes_version SET NOT NULL`);
    await runner.query(`ALTER TABLE machines DROP CONSTRAINT machines_phase_check`);
    await runner.query(`ALTER TABLE machines ADD CONSTRAINT machines_phase_check CHECK (phase IN ('Pending', 'Provisioning', 'Provisioned', 'Running', 'Deleting', 'Failed'))`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DELETE FROM machines WHERE phase = 'Deleting'`);
    await runner.query(`ALTER TABLE machines DROP CONSTRAINT machines_phase_check`);
    await runner.query(`ALTER TABLE machines ADD CONSTRAINT machines_phase_check CHECK (phase IN ('Pending', 'Provisioning', 'Provisioned', 'Running', 'Failed'))`);
    await runner.query(`ALTER TABLE machines DROP COLUMN kubernetes_version, DROP COLUMN replaces, DROP COLUMN removal, DROP COLUMN unhealthy_since, DROP COLUMN upgrade`);
    await runner.query(`ALTER TABLE clusters DROP COLUMN kubernetes_version, DROP COLUMN operation`);
  }
}
