import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the fleet overview counts and the listing filters and sorts on, at 100,000 clusters:
 * each cluster's provider, its Ready nodes and why it needs action (written by the projection),
 * its Kubernetes minor and a version that sorts numerically (derived from its version), and an
 * index per sort order and filter so that a page reads a page of rows.
 *
 * Existing rows: a connected cluster's provider comes from its distribution (eks, aks, gke, else
 * cncf); a platform cluster's stays unknown (its request is not kept).
 */
export class ClusterOverviewOrder1732300017400 implements MigrationInterface {
  name = 'ClusterOverviewOrder1732300017400';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE clusters
        ADD COLUMN provider    text,
        ADD COLUMN nodes_ready integer NOT NULL DEFAULT 0,
        ADD COLUMN attention   text[]  NOT NULL DEFAULT '{}',
        ADD COLUMN kubernetes_minor text GENERATED ALWAYS AS (substring(kubernetes_version from '^v?(\\d+\\.\\d+)')) STORED,
        ADD COLUMN version_order bigint NOT NULL GENERATED ALWAYS AS (
          coalesce(substring(kubernetes_version from '^v?(\\d{1,6})\\.')::bigint * 1000000000000
                   + substring(kubernetes_version from '^v?\\d{1,6}\\.(\\d{1,6})')::bigint * 1000000
                   + coalesce(substring(kubernetes_version from '^v?\\d{1,6}\\.\\d{1,6}\\.(\\d{1,6})')::bigint, 0), -1)) STORED`);
    // The same rules as readyNodes and attentionOf (src/domain/cluster-attention.ts), once.
    await queryRunner.query(`
      UPDATE clusters SET
        provider = CASE WHEN model = 'connected' THEN CASE WHEN distribution IN ('eks', 'aks', 'gke') THEN distribution ELSE 'cncf' END END,
        nodes_ready = CASE
          WHEN status = 'Deleted' THEN 0
          WHEN progress IS NOT NULL THEN least(node_count, (progress->'controlPlane'->>'ready')::int
                                               + coalesce((SELECT sum((pool->>'ready')::int) FROM jsonb_array_elements(progress->'nodePools') pool), 0))
          WHEN status = 'Running' THEN node_count
          ELSE 0 END,
        attention = CASE WHEN status = 'Deleted' THEN '{}'::text[] ELSE array_remove(ARRAY[
          CASE WHEN status = 'Failed' THEN 'failed' END,
          CASE WHEN reachable IS FALSE THEN 'unreachable' END,
          CASE WHEN last_refusal IS NOT NULL AND (last_refusal->>'time')::timestamptz >= last_event_time THEN 'refused' END,
          CASE WHEN tunnel = 'disconnected' THEN 'tunnel-disconnected' END], NULL) END`);
    // Sort orders: the key, then the id (keyset pages).
    await queryRunner.query(`CREATE INDEX clusters_name_order ON clusters ((coalesce(name, '')), id)`);
    await queryRunner.query(`CREATE INDEX clusters_version_order ON clusters (version_order, id)`);
    await queryRunner.query(`CREATE INDEX clusters_created_order ON clusters (created_at, id)`);
    await queryRunner.query(`CREATE INDEX clusters_updated_order ON clusters (updated_at, id)`);
    // Filters not covered yet (model and status are, labels by GIN, access partially).
    await queryRunner.query(`CREATE INDEX clusters_provider ON clusters (provider, id)`);
    await queryRunner.query(`CREATE INDEX clusters_kubernetes_minor ON clusters (kubernetes_minor, id)`);
    await queryRunner.query(`CREATE INDEX clusters_access_id ON clusters (access, id)`);
    await queryRunner.query(`DROP INDEX clusters_access`);
    // The clusters needing action, first ids first: few of the fleet.
    await queryRunner.query(`CREATE INDEX clusters_attention ON clusters (id) WHERE attention <> '{}'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX clusters_access ON clusters (access) WHERE access IS NOT NULL`);
    for (const index of ['clusters_attention', 'clusters_access_id', 'clusters_kubernetes_minor', 'clusters_provider', 'clusters_updated_order', 'clusters_created_order', 'clusters_version_order', 'clusters_name_order']) {
      await queryRunner.query(`DROP INDEX ${index}`);
    }
    await queryRunner.query(`ALTER TABLE clusters DROP COLUMN version_order, DROP COLUMN kubernetes_minor, DROP COLUMN attention, DROP COLUMN nodes_ready, DROP COLUMN provider`);
  }
}
