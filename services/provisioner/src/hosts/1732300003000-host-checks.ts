import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Users' hosts: pinned host keys, the facts and preflight checks of every host, and every install
 * step run on it. (SSH private keys are in the secret store's `secrets` table.)
 */
export class HostChecks1732300003000 implements MigrationInterface {
  name = 'HostChecks1732300003000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE host_keys (
        address     text        NOT NULL,
        port        integer     NOT NULL,
        fingerprint text        NOT NULL,
        pinned_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (address, port)
      )`);
    await runner.query(`
      CREATE TABLE host_facts (
        cluster_id  text        NOT NULL,
        machine     text        NOT NULL,
        role        text        NOT NULL CHECK (role IN ('control-plane', 'worker')),
        address     text        NOT NULL,
        facts       jsonb       NOT NULL,
        gathered_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (cluster_id, machine)
      )`);
    await runner.query(`
      CREATE TABLE host_checks (
        cluster_id  text        NOT NULL,
        machine     text        NOT NULL,
        check_name  text        NOT NULL,
        status      text        NOT NULL CHECK (status IN ('pass', 'warn', 'fail')),
        message     text        NOT NULL,
        observed    text        NOT NULL,
        checked_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (cluster_id, machine, check_name)
      )`);
    await runner.query(`
      CREATE TABLE host_steps (
        cluster_id  text        NOT NULL,
        machine     text        NOT NULL,
        step        text        NOT NULL,
        ordinal     integer     NOT NULL,
        command     text        NOT NULL,
        exit_code   integer,
        output      text        NOT NULL DEFAULT '',
        started_at  timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        PRIMARY KEY (cluster_id, machine, step)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE host_steps`);
    await runner.query(`DROP TABLE host_checks`);
    await runner.query(`DROP TABLE host_facts`);
    await runner.query(`DROP TABLE host_keys`);
  }
}
