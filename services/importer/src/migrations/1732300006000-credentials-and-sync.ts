import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Registered credentials (their secrets go to the `secrets` table), cloud locations and the sync schedule. */
export class CredentialsAndSync1732300006000 implements MigrationInterface {
  name = 'CredentialsAndSync1732300006000';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE credentials ADD COLUMN source text NOT NULL DEFAULT 'token' CHECK (source IN ('token', 'client-certificate', 'kubeconfig', 'cloud-account'))`);
    await runner.query(`ALTER TABLE credentials ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'`);
    await runner.query(`ALTER TABLE connected_clusters ADD COLUMN cloud jsonb`);
    // The sync loop's schedule: operational state, written by the sync worker only.
    await runner.query(`
      ALTER TABLE connected_clusters
        ADD COLUMN next_sync_at      timestamptz,
        ADD COLUMN sync_claimed_at   timestamptz,
        ADD COLUMN sync_failures     integer NOT NULL DEFAULT 0,
        ADD COLUMN unreachable_since timestamptz,
        ADD COLUMN last_synced_at    timestamptz`);
    // What the sync worker scans for: managed clusters by due time.
    await runner.query(`CREATE INDEX connected_clusters_sync_due ON connected_clusters (next_sync_at NULLS FIRST) WHERE deleted_at IS NULL AND state IN ('Imported', 'Unreachable')`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX connected_clusters_sync_due`);
    await runner.query(`ALTER TABLE connected_clusters DROP COLUMN next_sync_at, DROP COLUMN sync_claimed_at, DROP COLUMN sync_failures, DROP COLUMN unreachable_since, DROP COLUMN last_synced_at, DROP COLUMN cloud`);
    await runner.query(`ALTER TABLE credentials DROP COLUMN metadata, DROP COLUMN source`);
  }
}
