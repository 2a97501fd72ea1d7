import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A host is its address and its host key: one machine reached under two addresses is still one
 * host, in one cluster at most. `host_owners.host_key` is the key the host presented (or the
 * request named), and its unique index makes two claims of one key impossible, across replicas
 * too. Existing owners take their pinned key, the earliest claim where two share one.
 */
export class HostIdentity1732300019200 implements MigrationInterface {
  name = 'HostIdentity1732300019200';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`ALTER TABLE host_owners ADD COLUMN host_key text`);
    await runner.query(`
      UPDATE host_owners o SET host_key = first.fingerprint
        FROM (SELECT DISTINCT ON (k.fingerprint) o.address, o.port, k.fingerprint
                FROM host_owners o JOIN host_keys k ON lower(k.address) = o.address AND k.port = o.port
               ORDER BY k.fingerprint, o.claimed_at) AS first
       WHERE o.address = first.address AND o.port = first.port`);
    await runner.query(`CREATE UNIQUE INDEX host_owners_host_key ON host_owners (host_key) WHERE host_key IS NOT NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`DROP INDEX host_owners_host_key`);
    await runner.query(`ALTER TABLE host_owners DROP COLUMN host_key`);
  }
}
