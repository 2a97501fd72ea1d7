import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UpgradePlannerTables1732300004000 implements MigrationInterface {
  name = 'UpgradePlannerTables1732300004000';

  async up(runner: QueryRunner): Promise<void> {
    // The planner's own view of the fleet, from facts. write_xid is the transaction that last
    // wrote the row: the in-memory view reads only rows written since its last look (see FleetRepository).
    await runner.query(`
      CREATE TABLE fleet_clusters (
        id                    text        PRIMARY KEY,
        model                 text,
        distribution          text,
        control_plane_version text,
        version_time          timestamptz,
        nodes                 jsonb       NOT NULL DEFAULT '[]',
        deleted_at            timestamptz,
        last_event_time       timestamptz NOT NULL,
        write_xid             xid8        NOT NULL DEFAULT pg_current_xact_id(),
        updated_at            timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX fleet_clusters_write_xid ON fleet_clusters (write_xid)`);
    await runner.query(`
      CREATE TABLE plans (
        id               text        PRIMARY KEY,
        from_release     text        NOT NULL,
        to_release       text        NOT NULL,
        max_concurrency  integer     NOT NULL,
        status           text        NOT NULL CHECK (status IN ('open', 'closed')),
        current_revision integer     NOT NULL,
        requested_via    text        NOT NULL,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX plans_open ON plans (id) WHERE status = 'open'`);
    await runner.query(`
      CREATE TABLE plan_revisions (
        plan_id             text        NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
        revision            integer     NOT NULL,
        trigger             text        NOT NULL,
        policy_revision     text        NOT NULL,
        matrix_sequence     bigint      NOT NULL,
        matrix_published_at timestamptz,
        satisfiable         boolean     NOT NULL,
        summary             jsonb       NOT NULL,
        changes             jsonb       NOT NULL,
        -- The whole plan as gzip'd JSON (a 100,000-cluster plan: 41 MB of JSON, 2 MB stored);
        -- NULL once pruned (PLAN_REVISIONS_KEPT): the revision's summary and changes stay.
        plan_gz             bytea,
        event_id            text        NOT NULL,
        created_at          timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (plan_id, revision)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE plan_revisions`);
    await runner.query(`DROP TABLE plans`);
    await runner.query(`DROP TABLE fleet_clusters`);
  }
}
