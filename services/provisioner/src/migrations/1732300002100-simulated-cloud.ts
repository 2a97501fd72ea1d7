import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The simulated provider's "cloud": it stands for a real cloud API, so it outlives a crash of the
 * provisioner. One row per machine name in a cluster; `create_calls` counts how often a create
 * reached an existing machine (the reconciler should adopt instead).
 */
export class SimulatedCloud1732300002100 implements MigrationInterface {
  name = 'SimulatedCloud1732300002100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE SEQUENCE sim_machine_seq`);
    await runner.query(`
      CREATE TABLE sim_machines (
        provider_id  text PRIMARY KEY,
        cluster_id   text        NOT NULL,
        name         text        NOT NULL,
        role         text        NOT NULL,
        machine_size text,
        addresses    jsonb       NOT NULL,
        fails        boolean     NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        ready_at     timestamptz NOT NULL,
        create_calls integer     NOT NULL DEFAULT 1,
        UNIQUE (cluster_id, name)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE sim_machines`);
    await runner.query(`DROP SEQUENCE sim_machine_seq`);
  }
}
