import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The inbox and outbox tables, in the service's own schema (the connection's search_path).
 * Services list this migration before their own.
 */
export class MessagingTables1732300000000 implements MigrationInterface {
  name = 'MessagingTables1732300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE inbox (
        consumer     text        NOT NULL,
        event_id     text        NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, event_id)
      )`);
    await queryRunner.query(`CREATE INDEX inbox_processed_at ON inbox (processed_at)`);
    await queryRunner.query(`
      CREATE TABLE outbox (
        seq          bigserial   PRIMARY KEY,
        event_id     text        NOT NULL UNIQUE,
        subject      text        NOT NULL,
        headers      jsonb       NOT NULL,
        payload      text        NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz,
        attempts     integer     NOT NULL DEFAULT 0,
        last_error   text
      )`);
    // The relay only ever scans unpublished rows: keep that index small.
    await queryRunner.query(`CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE outbox`);
    await queryRunner.query(`DROP TABLE inbox`);
  }
}

/**
 * A digest of each claimed event (type, source, subject, data), so the same id arriving with
 * another payload is refused as a conflict instead of dropped as a duplicate. Rows claimed before
 * it have none and are taken as duplicates.
 */
export class InboxDigests1732300000050 implements MigrationInterface {
  name = 'InboxDigests1732300000050';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE inbox ADD COLUMN digest text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE inbox DROP COLUMN digest`);
  }
}

/**
 * Outbox rows that could not be published after a bounded number of attempts are parked
 * (`parked_at`, with `last_error` as the reason) and skipped by the relay, so they never delay
 * the rows behind them. The relay's index covers live rows only.
 */
export class OutboxParking1732300000060 implements MigrationInterface {
  name = 'OutboxParking1732300000060';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE outbox ADD COLUMN parked_at timestamptz`);
    await queryRunner.query(`DROP INDEX outbox_unpublished`);
    await queryRunner.query(`CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL AND parked_at IS NULL`);
    await queryRunner.query(`CREATE INDEX outbox_parked ON outbox (seq) WHERE parked_at IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX outbox_parked`);
    await queryRunner.query(`DROP INDEX outbox_unpublished`);
    await queryRunner.query(`CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL`);
    await queryRunner.query(`ALTER TABLE outbox DROP COLUMN parked_at`);
  }
}

/** Every migration of the messaging tables, in order: services list them before their own. */
export const MESSAGING_MIGRATIONS = [MessagingTables1732300000000, InboxDigests1732300000050, OutboxParking1732300000060];
