import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Where each cluster's API servers answer (a load balancer, a virtual IP, a hosted endpoint); null until known. */
export class ClusterApiServerEndpoint1732300018000 implements MigrationInterface {
  name = 'ClusterApiServerEndpoint1732300018000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE clusters ADD COLUMN api_server_endpoint text`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE clusters DROP COLUMN api_server_endpoint`);
  }
}
