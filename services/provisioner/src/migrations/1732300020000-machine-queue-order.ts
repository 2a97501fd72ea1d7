import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The reconciler's queue in claim order: due time, then cluster, then ordinal. Machines due at
 * the same moment (a cluster's machines, a round's retries) are claimed cluster by cluster, first
 * control plane first, so a round touches a few whole clusters rather than one machine of
 * hundreds, and the index gives that order without sorting the queue.
 */
export class MachineQueueOrder1732300020000 implements MigrationInterface {
  name = 'MachineQueueOrder1732300020000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE INDEX machines_queue ON machines (next_reconcile_at, cluster_id, ordinal) WHERE next_reconcile_at IS NOT NULL`);
    await runner.query(`DROP INDEX machines_due`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE INDEX machines_due ON machines (next_reconcile_at) WHERE next_reconcile_at IS NOT NULL`);
    await runner.query(`DROP INDEX machines_queue`);
  }
}
