import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ImporterTables1732300002000 implements MigrationInterface {
  name = 'ImporterTables1732300002000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE connected_clusters (
        id                 text PRIMARY KEY,
        name               text        NOT NULL,
        provider           text        NOT NULL,
        api_server         text,
        credential_ref     text        NOT NULL,
        state              text        NOT NULL CHECK (state IN ('Requested', 'Checking', 'Imported', 'Rejected', 'Unreachable')),
        attempt            integer     NOT NULL,
        request_event_id   text        NOT NULL,
        kubernetes_version text,
        distribution       text,
        node_count         integer,
        reasons            jsonb       NOT NULL DEFAULT '[]',
        warnings           jsonb       NOT NULL DEFAULT '[]',
        policy_revision    text,
        requested_at       timestamptz NOT NULL,
        check_started_at   timestamptz,
        imported_at        timestamptz,
        deleted_at         timestamptz,
        last_event_time    timestamptz NOT NULL,
        updated_at         timestamptz NOT NULL DEFAULT now()
      )`);
    // What the import worker scans for: small, whatever the size of the fleet.
    await runner.query(`CREATE INDEX connected_clusters_pending ON connected_clusters (requested_at) WHERE deleted_at IS NULL AND state IN ('Requested', 'Checking')`);
    await runner.query(`CREATE INDEX connected_clusters_state ON connected_clusters (state, id) WHERE deleted_at IS NULL`);
    await runner.query(`
      CREATE TABLE cluster_tunnels (
        cluster_id    text PRIMARY KEY,
        state         text        NOT NULL CHECK (state IN ('connected', 'disconnected')),
        agent_id      text        NOT NULL,
        agent_version text,
        reason        text,
        since         timestamptz NOT NULL
      )`);
    await runner.query(`
      CREATE TABLE credentials (
        ref        text PRIMARY KEY,
        kind       text        NOT NULL CHECK (kind IN ('bearer-token', 'client-certificate', 'cloud-account')),
        expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE credentials`);
    await runner.query(`DROP TABLE cluster_tunnels`);
    await runner.query(`DROP TABLE connected_clusters`);
  }
}
