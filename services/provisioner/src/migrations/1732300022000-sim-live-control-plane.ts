import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Where a simulated load balancer routes (`LIVE_CONTROL_PLANE`: a cluster's longest-joined
 * control plane) is read with every join state, one subquery per machine asked about. Through
 * the (cluster_id, name) key it read and sorted all the cluster's machines, and, estimated
 * without statistics (autovacuum may be off, and nothing analyses the simulated cloud's tables),
 * at a cost that grows with the table: past ~100,000 machines the statement's estimate crossed
 * the JIT thresholds and every read compiled itself (tens to hundreds of ms of server CPU for a
 * read of a millisecond). In this index the answer is its first entry, at a cost that stays flat.
 */
export class SimLiveControlPlane1732300022000 implements MigrationInterface {
  name = 'SimLiveControlPlane1732300022000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE INDEX sim_machines_live_control_plane ON sim_machines (cluster_id, joined_at, name) WHERE role = 'control-plane' AND joined_at IS NOT NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX sim_machines_live_control_plane`);
  }
}
