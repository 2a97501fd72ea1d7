import type { MigrationInterface, QueryRunner } from 'typeorm';

/** What the counts group clusters by; unknown values are '' so that groups compare equal. */
const KEY = 'labels, model, status, provider, kubernetes_version, access, tunnel, attention';
const KEY_COLUMNS = `
  labels             jsonb  NOT NULL,
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
  nodes_ready        bigint NOT NULL`;
/** A clusters row (or transition table row) as a count key, then its counts. */
const KEY_OF = `labels, coalesce(model, ''), status, coalesce(provider, ''), coalesce(kubernetes_version, ''), coalesce(access, ''), coalesce(tunnel, ''), attention`;

/**
 * The fleet's counts, maintained as clusters change, so that the overview and the totals of
 * filtered lists read a few hundred groups instead of every cluster and its nodes.
 *
 * Every statement on `clusters` appends what it changed (+1 for the new row's group, -1 for the
 * old row's, with their nodes) to `cluster_count_changes`, from a statement trigger: an insert
 * only, so concurrent projections never wait for each other on a shared counter. The inventory
 * folds the changes into `cluster_counts` every second (FleetCountsCompactor); readers add the
 * two in one snapshot, so counts are exact at every moment.
 */
export class ClusterCounts1732300017500 implements MigrationInterface {
  name = 'ClusterCounts1732300017500';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE cluster_counts (${KEY_COLUMNS}, PRIMARY KEY (${KEY}))`);
    await queryRunner.query(`CREATE TABLE cluster_count_changes (id bigserial PRIMARY KEY, ${KEY_COLUMNS})`);
    await queryRunner.query(`
      CREATE FUNCTION cluster_counts_changed() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO cluster_count_changes (${KEY}, clusters, nodes, nodes_ready)
          SELECT ${KEY_OF}, count(*), sum(node_count), sum(nodes_ready) FROM new_rows GROUP BY ${KEY_OF};
        ELSIF TG_OP = 'DELETE' THEN
          INSERT INTO cluster_count_changes (${KEY}, clusters, nodes, nodes_ready)
          SELECT ${KEY_OF}, -count(*), -sum(node_count), -sum(nodes_ready) FROM old_rows GROUP BY ${KEY_OF};
        ELSE
          -- Most updates leave a cluster in its group: only what moved is recorded.
          INSERT INTO cluster_count_changes (${KEY}, clusters, nodes, nodes_ready)
          SELECT ${KEY}, sum(clusters), sum(nodes), sum(nodes_ready)
            FROM (SELECT ${KEY_OF}, 1 AS clusters, node_count AS nodes, nodes_ready FROM new_rows
                  UNION ALL
                  SELECT ${KEY_OF}, -1, -node_count, -nodes_ready FROM old_rows) AS changed (${KEY}, clusters, nodes, nodes_ready)
           GROUP BY ${KEY}
          HAVING sum(clusters) <> 0 OR sum(nodes) <> 0 OR sum(nodes_ready) <> 0;
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`CREATE TRIGGER clusters_counted_insert AFTER INSERT ON clusters REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cluster_counts_changed()`);
    await queryRunner.query(
      `CREATE TRIGGER clusters_counted_update AFTER UPDATE ON clusters REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cluster_counts_changed()`,
    );
    await queryRunner.query(`CREATE TRIGGER clusters_counted_delete AFTER DELETE ON clusters REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION cluster_counts_changed()`);
    // The first clusters needing action of a label-scoped caller: its labels among the few that do.
    await queryRunner.query(`CREATE INDEX clusters_attention_labels ON clusters USING gin (labels jsonb_path_ops) WHERE attention <> '{}'`);
    await queryRunner.query(`INSERT INTO cluster_counts (${KEY}, clusters, nodes, nodes_ready) SELECT ${KEY_OF}, count(*), sum(node_count), sum(nodes_ready) FROM clusters GROUP BY ${KEY_OF}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX clusters_attention_labels`);
    for (const trigger of ['clusters_counted_insert', 'clusters_counted_update', 'clusters_counted_delete']) await queryRunner.query(`DROP TRIGGER ${trigger} ON clusters`);
    await queryRunner.query(`DROP FUNCTION cluster_counts_changed()`);
    await queryRunner.query(`DROP TABLE cluster_count_changes`);
    await queryRunner.query(`DROP TABLE cluster_counts`);
  }
}
