import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ProvisionerTables1732300002000 implements MigrationInterface {
  name = 'ProvisionerTables1732300002000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE clusters (
        id              text PRIMARY KEY,
        name            text        NOT NULL,
        model           text        NOT NULL,
        release         text        NOT NULL,
        spec            jsonb       NOT NULL,
        phase           text        NOT NULL CHECK (phase IN ('Pending', 'Provisioning', 'Provisioned', 'Running', 'Deleting', 'Deleted', 'Failed')),
        conditions      jsonb       NOT NULL DEFAULT '[]',
        failure_reasons jsonb       NOT NULL DEFAULT '[]',
        requested_at    timestamptz NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query(`CREATE INDEX clusters_phase ON clusters (phase)`);
    await runner.query(`
      CREATE TABLE machines (
        cluster_id        text        NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
        name              text        NOT NULL,
        ordinal           integer     NOT NULL,
        role              text        NOT NULL CHECK (role IN ('control-plane', 'worker')),
        pool              text,
        machine_size      text,
        host              jsonb,
        phase             text        NOT NULL CHECK (phase IN ('Pending', 'Provisioning', 'Provisioned', 'Running', 'Failed')),
        provider_id       text,
        addresses         jsonb       NOT NULL DEFAULT '[]',
        kubelet_version   text,
        failure_reason    jsonb,
        deadline          timestamptz,
        conditions        jsonb       NOT NULL DEFAULT '[]',
        next_reconcile_at timestamptz,
        claimed_by        text,
        claims            integer     NOT NULL DEFAULT 0,
        provider_errors   integer     NOT NULL DEFAULT 0,
        last_error        text,
        updated_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (cluster_id, name)
      )`);
    // The reconciler's queue: only machines with work to do are in it.
    await runner.query(`CREATE INDEX machines_due ON machines (next_reconcile_at) WHERE next_reconcile_at IS NOT NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP TABLE machines`);
    await runner.query(`DROP TABLE clusters`);
  }
}
