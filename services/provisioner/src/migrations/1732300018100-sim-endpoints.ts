import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The simulated cloud's control-plane endpoints (its load balancers): one address per cluster,
 * from 198.18.0.0/15, allocated before the first control plane boots and released with the
 * cluster. Where one routes is read off the cluster's control-plane machines.
 */
export class SimEndpoints1732300018100 implements MigrationInterface {
  name = 'SimEndpoints1732300018100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE SEQUENCE sim_endpoint_seq`);
    await runner.query(`
      CREATE TABLE sim_endpoints (
        cluster_id text PRIMARY KEY,
        address    text NOT NULL UNIQUE,
        port       int  NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE sim_endpoints`);
    await runner.query(`DROP SEQUENCE sim_endpoint_seq`);
  }
}
