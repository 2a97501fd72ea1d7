import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Where a public-cloud cluster runs at its cloud (AWS region, Azure location, GCP region or zone). */
export class ClusterRegion1732300017800 implements MigrationInterface {
  name = 'ClusterRegion1732300017800';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE clusters ADD COLUMN region text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE clusters DROP COLUMN region`);
  }
}
