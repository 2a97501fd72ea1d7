import type { MigrationInterface, QueryRunner } from 'typeorm';

export class InventoryTables1732300001000 implements MigrationInterface {
  name = 'InventoryTables1732300001000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE clusters (
        id                 text PRIMARY KEY,
        name               text,
        model              text,
        status             text        NOT NULL,
        kubernetes_version text,
        distribution       text,
        nodes              jsonb       NOT NULL DEFAULT '[]',
        node_count         integer     NOT NULL DEFAULT 0,
        reasons            jsonb       NOT NULL DEFAULT '[]',
        warnings           jsonb       NOT NULL DEFAULT '[]',
        reachable          boolean,
        tunnel             text,
        last_event_time    timestamptz NOT NULL,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX clusters_model_status ON clusters (model, status, id)`);
    await runner.query(`CREATE INDEX clusters_status ON clusters (status, id)`);
    await runner.query(`
      CREATE TABLE cluster_events (
        event_id   text PRIMARY KEY,
        cluster_id text        NOT NULL,
        type       text        NOT NULL,
        source     text        NOT NULL,
        time       timestamptz NOT NULL,
        trace_id   text,
        summary    text        NOT NULL
      )`);
    await runner.query(`CREATE INDEX cluster_events_cluster_time ON cluster_events (cluster_id, time)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE cluster_events`);
    await runner.query(`DROP TABLE clusters`);
  }
}
