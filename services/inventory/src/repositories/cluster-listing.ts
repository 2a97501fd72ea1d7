import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import { filterConditions, type ClusterFilter } from './cluster-filter.js';
import { ITEM_COLUMNS, rowToItem, type ClusterItem, type ClusterRow } from './cluster-rows.js';
import { FleetCounts } from './fleet-counts.js';

export const CLUSTER_SORTS = ['id', 'name', 'status', 'version', 'created', 'updated'] as const;
export type ClusterSort = (typeof CLUSTER_SORTS)[number];
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

/**
 * Each sort's key as SQL (an index on (key, id) serves it; see the migrations) and its type, to
 * read a cursor's key back exactly: the key travels as PostgreSQL's own text of it (timestamps
 * to the microsecond).
 */
const SORT_KEYS: Record<ClusterSort, { sql: string; type: string }> = {
  id: { sql: 'id', type: 'text' },
  name: { sql: "coalesce(name, '')", type: 'text' },
  status: { sql: 'status', type: 'text' },
  version: { sql: 'version_order', type: 'bigint' },
  created: { sql: 'created_at', type: 'timestamptz' },
  updated: { sql: 'updated_at', type: 'timestamptz' },
};

/** Where a page ends: the sort it was made for, the last item's sort key and its id. */
export interface ListCursor {
  sort: ClusterSort;
  order: SortOrder;
  key: string;
  id: string;
}

export function encodeListCursor(cursor: ListCursor): string {
  return Buffer.from(JSON.stringify([cursor.sort, cursor.order, cursor.key, cursor.id])).toString('base64url');
}

/** The cursor a client sent back, or undefined when it is not one this API made. */
export function decodeListCursor(text: string): ListCursor | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 4) return undefined;
    const [sort, order, key, id] = value as unknown[];
    if (!CLUSTER_SORTS.includes(sort as ClusterSort) || !SORT_ORDERS.includes(order as SortOrder)) return undefined;
    if (typeof key !== 'string' || typeof id !== 'string' || id.length === 0) return undefined;
    if (sort === 'version' && !/^-?\d{1,19}$/.test(key)) return undefined;
    if ((sort === 'created' || sort === 'updated') && Number.isNaN(Date.parse(key))) return undefined;
    return { sort: sort as ClusterSort, order: order as SortOrder, key, id };
  } catch {
    return undefined;
  }
}

export interface ClusterPage {
  items: ClusterItem[];
  /** How many clusters match the filter (all pages). */
  total: number;
  nextCursor: string | null;
}

/**
 * Up to how many matching clusters a filtered page is read filter first (the filters' indexes,
 * then the matches sorted); beyond, the sort key's index is walked until a page of matches is
 * found. Reading the matches costs their number, walking costs the page size times the fleet
 * over the matches: they cross near sqrt(page x fleet), about 2,000 at 100,000 clusters, and
 * walking suffers when matches cluster at the far end of the order, so the switch is higher.
 */
export const FILTER_FIRST_AT_MOST = 5_000;

/**
 * The fleet a page at a time: filtered, sorted, keyset-paginated on (sort key, id), so a page
 * costs the same at any depth and no cluster is skipped or repeated while others are added.
 */
@Injectable()
export class ClusterListing {
  /** FILTER_FIRST_AT_MOST; tests lower it to list every page by walking the sort key's index. */
  filterFirstAtMost = FILTER_FIRST_AT_MOST;

  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(FleetCounts) private readonly counts: FleetCounts,
  ) {}

  async list(filter: ClusterFilter, sort: ClusterSort, order: SortOrder, limit: number, cursor: ListCursor | undefined): Promise<ClusterPage> {
    // The maintained counts say how many match (the answer's total) before any row is read.
    const total = await this.counts.count(filter);
    const params: unknown[] = [];
    const conditions = filterConditions(filter, params);
    const key = SORT_KEYS[sort];
    const direction = order === 'asc' ? 'ASC' : 'DESC';
    if (cursor) {
      const after = order === 'asc' ? '>' : '<';
      params.push(cursor.id);
      const id = `$${params.length}`;
      if (sort === 'id') conditions.push(`id ${after} ${id}`);
      else {
        params.push(cursor.key);
        conditions.push(`(${key.sql}, id) ${after} ($${params.length}::${key.type}, ${id})`);
      }
    }
    params.push(limit + 1);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const filterFirst = conditions.length > (cursor ? 1 : 0) && total <= this.filterFirstAtMost;
    const rows = await this.unitOfWork.manager.query<(Omit<ClusterRow, 'fact_times'> & { sort_key: string })[]>(
      filterFirst
        ? // MATERIALIZED: the planner cannot fold the matches back into a walk of the sort index.
          `WITH matching AS MATERIALIZED (SELECT id, ${key.sql} AS sort_key FROM clusters ${where}),
                page AS (SELECT id, sort_key FROM matching ORDER BY sort_key ${direction}, id ${direction} LIMIT $${params.length})
           SELECT ${ITEM_COLUMNS}, page.sort_key::text AS sort_key FROM page JOIN clusters USING (id) ORDER BY page.sort_key ${direction}, id ${direction}`
        : `SELECT ${ITEM_COLUMNS}, (${key.sql})::text AS sort_key FROM clusters ${where} ORDER BY ${key.sql} ${direction}, id ${direction} LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { items: page.map(rowToItem), total, nextCursor: rows.length > limit && last ? encodeListCursor({ sort, order, key: last.sort_key, id: last.id }) : null };
  }
}
