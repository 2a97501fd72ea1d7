import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the simulated cloud received as a machine's first-boot data: its format, SHA-256 and size,
 * never the data itself (it holds join secrets). Null for machines created without any.
 */
export class SimBootstrapData1732300003500 implements MigrationInterface {
  name = 'SimBootstrapData1732300003500';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE sim_machines
        ADD COLUMN bootstrap_format text,
        ADD COLUMN bootstrap_sha256 text,
        ADD COLUMN bootstrap_bytes  integer`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE sim_machines DROP COLUMN bootstrap_format, DROP COLUMN bootstrap_sha256, DROP COLUMN bootstrap_bytes`);
  }
}
