import type { MigrationInterface, QueryRunner } from 'typeorm';

const KEY = 'model, status, provider, kubernetes_version, access, tunnel, attention';

/**
 * The fleet's counts without labels, folded from the same change log as `cluster_counts`: what
 * callers who filter on no label read (the overview of an unscoped caller, most list totals), so
 * their cost does not grow with how many label sets the fleet has (a label naming each cluster
 * would make as many groups as clusters).
 */
export class ClusterCountsFleet1732300017600 implements MigrationInterface {
  name = 'ClusterCountsFleet1732300017600';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE cluster_counts_fleet (
        model              text   NOT NULL,
        status             text   NOT NULL,
        provider           text   NOT NULL,
        kubernetes_version text   NOT NULL,
        kubernetes_minor   text   GENERATED ALWAYS AS (substring(kubernetes_version from '^v?(\\d+\\.\\d+)')) STORED,
        access             text   NOT NULL,
        tunnel             text   NOT NULL,
        attention          text[] NOT NULL,
        clusters           integer NOT NULL,
        nodes              bigint NOT NULL,
        nodes_ready        bigint NOT NULL,
        PRIMARY KEY (${KEY}))`);
    // Changes not folded yet are folded into both tables by the next round.
    await queryRunner.query(`INSERT INTO cluster_counts_fleet (${KEY}, clusters, nodes, nodes_ready) SELECT ${KEY}, sum(clusters), sum(nodes), sum(nodes_ready) FROM cluster_counts GROUP BY ${KEY}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE cluster_counts_fleet`);
  }
}
