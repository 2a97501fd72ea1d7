import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Management clusters (where hosted control planes run) and the control planes placed on them.
 * A control plane's reservation is its row: what a management cluster has in use is the sum of
 * its rows, so the two can never disagree.
 */
export class HostedControlPlanes1732300004000 implements MigrationInterface {
  name = 'HostedControlPlanes1732300004000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE management_clusters (
        name               text PRIMARY KEY,
        api_endpoint       text        NOT NULL,
        ingress_domain     text        NOT NULL,
        data_store         text        NOT NULL DEFAULT 'default',
        cpu_millicores     bigint      NOT NULL CHECK (cpu_millicores > 0),
        memory_bytes       bigint      NOT NULL CHECK (memory_bytes > 0),
        max_control_planes integer     NOT NULL CHECK (max_control_planes > 0),
        labels             jsonb       NOT NULL DEFAULT '{}',
        state              text        NOT NULL CHECK (state IN ('active', 'cordoned')),
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`
      CREATE TABLE hosted_control_planes (
        cluster_id              text PRIMARY KEY,
        management_cluster      text        NOT NULL REFERENCES management_clusters (name),
        size                    text        NOT NULL CHECK (size IN ('small', 'medium', 'large')),
        replicas                integer     NOT NULL CHECK (replicas > 0),
        reserved_cpu_millicores bigint      NOT NULL CHECK (reserved_cpu_millicores >= 0),
        reserved_memory_bytes   bigint      NOT NULL CHECK (reserved_memory_bytes >= 0),
        namespace               text        NOT NULL,
        endpoint                text        NOT NULL,
        manifest                jsonb       NOT NULL,
        created_at              timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX hosted_control_planes_management_cluster ON hosted_control_planes (management_cluster)`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE hosted_control_planes`);
    await runner.query(`DROP TABLE management_clusters`);
  }
}
