import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Each service's own audit records, kept whether or not they reached the bus yet. */
export class AuditTables1732300007000 implements MigrationInterface {
  name = 'AuditTables1732300007000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_records (
        id           uuid        PRIMARY KEY,
        time         timestamptz NOT NULL,
        record       jsonb       NOT NULL,
        published_at timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX audit_records_time ON audit_records (time)`);
    await queryRunner.query(`CREATE INDEX audit_records_unpublished ON audit_records (time) WHERE published_at IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_records`);
  }
}
