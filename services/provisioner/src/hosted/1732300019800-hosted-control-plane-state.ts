import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What became of each hosted control plane in its management cluster: applied (and which
 * manifest), Ready at which endpoint, failed and why, or being torn down; and the hosted
 * reconciler's queue bookkeeping. A row still counts against its management cluster's capacity
 * while its object is being deleted there.
 */
export class HostedControlPlaneState1732300019800 implements MigrationInterface {
  name = 'HostedControlPlaneState1732300019800';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE hosted_control_planes
        ADD COLUMN phase                   text        NOT NULL DEFAULT 'applying' CHECK (phase IN ('applying', 'ready', 'failed', 'deleting')),
        ADD COLUMN applied_sha256          text,
        ADD COLUMN applied_at              timestamptz,
        ADD COLUMN observed_status         text,
        ADD COLUMN control_plane_endpoint  text,
        ADD COLUMN ready_at                timestamptz,
        ADD COLUMN deadline                timestamptz,
        ADD COLUMN failure_code            text,
        ADD COLUMN failure_message         text,
        ADD COLUMN next_reconcile_at       timestamptz DEFAULT now(),
        ADD COLUMN claimed_by              text,
        ADD COLUMN errors                  integer     NOT NULL DEFAULT 0,
        ADD COLUMN last_error              text`);
    await runner.query(`CREATE INDEX hosted_control_planes_due ON hosted_control_planes (next_reconcile_at) WHERE next_reconcile_at IS NOT NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX hosted_control_planes_due`);
    await runner.query(`
      ALTER TABLE hosted_control_planes
        DROP COLUMN phase, DROP COLUMN applied_sha256, DROP COLUMN applied_at, DROP COLUMN observed_status, DROP COLUMN control_plane_endpoint,
        DROP COLUMN ready_at, DROP COLUMN deadline, DROP COLUMN failure_code, DROP COLUMN failure_message, DROP COLUMN next_reconcile_at,
        DROP COLUMN claimed_by, DROP COLUMN errors, DROP COLUMN last_error`);
  }
}
