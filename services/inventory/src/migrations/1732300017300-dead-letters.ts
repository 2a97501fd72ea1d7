import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The dead-letter stream, indexed for the operators' dead-letter API: one row per dead letter
 * (its sequence in the stream), what it was and who refused it, and whether it was replayed.
 */
export class DeadLetters1732300017300 implements MigrationInterface {
  name = 'DeadLetters1732300017300';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE dead_letters (
        sequence bigint PRIMARY KEY,
        service text NOT NULL,
        consumer text NOT NULL,
        code text NOT NULL,
        reason text NOT NULL,
        deliveries integer,
        event_id text,
        event_type text,
        event_subject text,
        event_time timestamptz,
        original_subject text NOT NULL,
        dead_lettered_at timestamptz NOT NULL,
        replayed_at timestamptz,
        replayed_by text
      )`);
    await queryRunner.query(`CREATE INDEX dead_letters_consumer ON dead_letters (consumer, sequence)`);
    await queryRunner.query(`CREATE INDEX dead_letters_service ON dead_letters (service, sequence)`);
    await queryRunner.query(`CREATE INDEX dead_letters_event_subject ON dead_letters (event_subject, sequence)`);
    await queryRunner.query(`CREATE INDEX dead_letters_event_type ON dead_letters (event_type, sequence)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE dead_letters`);
  }
}
