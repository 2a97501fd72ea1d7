import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import { filterConditions, type ClusterFilter } from './cluster-filter.js';
import { ITEM_JSON } from './cluster-rows.js';
import { countOf } from './fleet-counts.js';

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

/**
 * A page of the fleet as the answer's JSON text, `{ items, total, nextCursor }` (items as
 * ClusterItem): PostgreSQL builds the items' JSON, and the service never parses it.
 */
export type ClusterPageJson = string & { readonly __brand: 'ClusterPageJson' };

/**
 * Up to how many matching clusters a filtered page is read filter first (the filters' indexes,
 * then the matches sorted); beyond, the sort key's index is walked until a page of matches is
 * found. Reading the matches costs their number, walking costs the page size times the fleet
 * over the matches: they cross near sqrt(page x fleet), about 2,000 at 100,000 clusters, and
 * walking suffers when matches cluster at the far end of the order, so the switch is higher.
 */
export const FILTER_FIRST_AT_MOST = 5_000;

interface PageRow {
  total: number;
  /** Clusters read: one more than the page says that another page follows. */
  read: number;
  items: string;
  last_key: string | null;
  last_id: string | null;
}

/**
 * The fleet a page at a time: filtered, sorted, keyset-paginated on (sort key, id), so a page
 * costs the same at any depth and no cluster is skipped or repeated while others are added.
 * One statement reads the total (from the maintained counts, before any row) and the page: one
 * snapshot, one round trip.
 */
@Injectable()
export class ClusterListing {
  /** FILTER_FIRST_AT_MOST; tests lower it to list every page by walking the sort key's index. */
  filterFirstAtMost = FILTER_FIRST_AT_MOST;

  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  async list(filter: ClusterFilter, sort: ClusterSort, order: SortOrder, limit: number, cursor: ListCursor | undefined): Promise<ClusterPageJson> {
    const params: unknown[] = [];
    const bind = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const filters = filterConditions(filter, params);
    const total = countOf(filters, filter);
    const conditions = [...filters];
    const key = SORT_KEYS[sort];
    const direction = order === 'asc' ? 'ASC' : 'DESC';
    if (cursor) {
      const after = order === 'asc' ? '>' : '<';
      const id = bind(cursor.id);
      conditions.push(sort === 'id' ? `id ${after} ${id}` : `(${key.sql}, id) ${after} (${bind(cursor.key)}::${key.type}, ${id})`);
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
    const readAtMost = bind(limit + 1);
    const walk = (gate: string) =>
      `SELECT id, ${key.sql} AS sort_value, ${ITEM_JSON} AS item FROM clusters ${where}${gate} ORDER BY ${key.sql} ${direction}, id ${direction} LIMIT ${readAtMost}`;
    let read = walk('');
    let matching = '';
    if (filters.length > 0) {
      // Whichever way the total says; the other branch's gate is false, and it is never run.
      const fewMatch = `(SELECT total FROM counted) <= ${bind(this.filterFirstAtMost)}`;
      // MATERIALIZED: the planner cannot fold the matches back into a walk of the sort index.
      matching = `matching AS MATERIALIZED (SELECT id, ${key.sql} AS sort_value FROM clusters ${where} AND ${fewMatch}),`;
      read = `SELECT page.id, page.sort_value, ${ITEM_JSON} AS item
                FROM (SELECT id, sort_value FROM matching ORDER BY sort_value ${direction}, id ${direction} LIMIT ${readAtMost}) AS page JOIN clusters USING (id)
              UNION ALL (${walk(` AND NOT ${fewMatch}`)})`;
    }
    const shownAtMost = bind(limit);
    const [row] = await this.unitOfWork.manager.query<PageRow[]>(
      `WITH counted AS (SELECT ${total} AS total), ${matching}
            read AS (${read}),
            numbered AS (SELECT id, sort_value::text AS sort_key, item, row_number() OVER (ORDER BY sort_value ${direction}, id ${direction}) AS n FROM read)
       SELECT (SELECT total FROM counted) AS total,
              (SELECT count(*)::int FROM numbered) AS read,
              (SELECT coalesce(json_agg(item ORDER BY n) FILTER (WHERE n <= ${shownAtMost}), '[]')::text FROM numbered) AS items,
              (SELECT sort_key FROM numbered WHERE n = ${shownAtMost}) AS last_key,
              (SELECT id FROM numbered WHERE n = ${shownAtMost}) AS last_id`,
      params,
    );
    const { total: count, read: fetched, items, last_key: lastKey, last_id: lastId } = row!;
    const nextCursor = fetched > limit && lastKey !== null && lastId !== null ? encodeListCursor({ sort, order, key: lastKey, id: lastId }) : null;
    return `{"items":${items},"total":${count},"nextCursor":${JSON.stringify(nextCursor)}}` as ClusterPageJson;
  }
}
