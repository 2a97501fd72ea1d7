import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Users' hosts belong to one cluster at a time (`host_owners`: the primary key makes two replicas
 * taking the same host at once impossible), and what Flotilla changed on each host, step by
 * step (`host_changes`), so removing it undoes exactly that.
 */
export class HostOwnership1732300019100 implements MigrationInterface {
  name = 'HostOwnership1732300019100';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE host_owners (
        address    text        NOT NULL,
        port       integer     NOT NULL,
        cluster_id text        NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (address, port)
      )`);
    await runner.query(`CREATE INDEX host_owners_cluster ON host_owners (cluster_id)`);
    await runner.query(`
      CREATE TABLE host_changes (
        cluster_id  text        NOT NULL,
        machine     text        NOT NULL,
        kind        text        NOT NULL CHECK (kind IN ('package', 'file', 'kubeadm')),
        target      text        NOT NULL,
        step        text        NOT NULL,
        before      text,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (cluster_id, machine, kind, target)
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE host_changes`);
    await runner.query(`DROP TABLE host_owners`);
  }
}
