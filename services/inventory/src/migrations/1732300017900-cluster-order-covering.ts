import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Every column a listing filters on (cluster-filter.ts). */
const FILTERED = ['model', 'status', 'access', 'provider', 'kubernetes_minor', 'kubernetes_version', 'labels'];

/**
 * Each sort order's index, by its key (cluster-listing.ts's SORT_KEYS), the columns it carries
 * besides, and the index it replaces. The name's index carries `name`: an index-only scan computes
 * an expression from the columns an index holds, not from the expression it is keyed on.
 */
const ORDERS = [
  { index: 'clusters_id_order', key: 'id', carries: FILTERED, replaces: undefined },
  { index: 'clusters_name_order', key: `(coalesce(name, '')), id`, carries: ['name', ...FILTERED], replaces: 'clusters_name_order' },
  { index: 'clusters_status', key: 'status, id', carries: FILTERED.filter((column) => column !== 'status'), replaces: 'clusters_status' },
  { index: 'clusters_version_order', key: 'version_order, id', carries: FILTERED, replaces: 'clusters_version_order' },
  { index: 'clusters_created_order', key: 'created_at, id', carries: FILTERED, replaces: 'clusters_created_order' },
  { index: 'clusters_updated_order', key: 'updated_at, id', carries: FILTERED, replaces: 'clusters_updated_order' },
];

/**
 * The sort orders' indexes carry every filtered column, so a filtered page walks its order's
 * index alone (an index-only scan) and reads table rows for the page's clusters only.
 */
export class ClusterOrderCovering1732300017900 implements MigrationInterface {
  name = 'ClusterOrderCovering1732300017900';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const { index, key, carries, replaces } of ORDERS) {
      if (replaces) await queryRunner.query(`DROP INDEX ${replaces}`);
      await queryRunner.query(`CREATE INDEX ${index} ON clusters (${key}) INCLUDE (${carries.join(', ')})`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const { index, key, replaces } of ORDERS) {
      await queryRunner.query(`DROP INDEX ${index}`);
      if (replaces) await queryRunner.query(`CREATE INDEX ${replaces} ON clusters (${key})`);
    }
  }
}
