import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The simulated cloud's node health: tests flip `healthy` to make a node NotReady. */
export class SimulatedNodeHealth1732300007100 implements MigrationInterface {
  name = 'SimulatedNodeHealth1732300007100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE sim_machines ADD COLUMN healthy boolean NOT NULL DEFAULT true`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE sim_machines DROP COLUMN healthy`);
  }
}
