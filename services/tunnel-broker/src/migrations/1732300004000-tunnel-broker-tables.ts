import type { MigrationInterface, QueryRunner } from 'typeorm';

export class TunnelBrokerTables1732300004000 implements MigrationInterface {
  name = 'TunnelBrokerTables1732300004000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE tunnel_sessions (
        id                uuid PRIMARY KEY,
        cluster_id        text        NOT NULL,
        agent_id          text        NOT NULL,
        agent_version     text        NOT NULL,
        remote_address    text,
        state             text        NOT NULL CHECK (state IN ('Active', 'Closed', 'Expired')),
        opened_at         timestamptz NOT NULL,
        last_heartbeat_at timestamptz NOT NULL,
        expires_at        timestamptz NOT NULL,
        ended_at          timestamptz,
        end_reason        text CHECK (end_reason IN ('agent-closed', 'superseded', 'cluster-deleted', 'heartbeat-timeout')),
        CHECK ((state = 'Active') = (ended_at IS NULL))
      )`);
    // One live session per agent: a restarted agent's new session supersedes the old one.
    await runner.query(`CREATE UNIQUE INDEX tunnel_sessions_live_agent ON tunnel_sessions (cluster_id, agent_id) WHERE state = 'Active'`);
    // What the sweeper scans: only live sessions, by deadline.
    await runner.query(`CREATE INDEX tunnel_sessions_deadline ON tunnel_sessions (expires_at) WHERE state = 'Active'`);
    await runner.query(`CREATE INDEX tunnel_sessions_ended ON tunnel_sessions (ended_at) WHERE state <> 'Active'`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE tunnel_sessions`);
  }
}
