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
 * How a filtered page is read. The sort key's index carries every filtered column (see the
 * migrations), so walking it reads no table row: about a tenth of a microsecond a cluster. A page
 * walks at most WALK_AT_MOST clusters of the order; when that finds no full page (the matches are
 * rare or far along the order), the page is read filter first instead: the filters' indexes, then
 * the matches sorted, which costs a table row per match. With more than FILTER_FIRST_AT_MOST
 * matches that would cost more than any walk, so the walk is not bounded.
 */
export const WALK_AT_MOST = 10_000;
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
  /** WALK_AT_MOST and FILTER_FIRST_AT_MOST; tests change them to read pages each way. */
  walkAtMost = WALK_AT_MOST;
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
    const key = SORT_KEYS[sort];
    const direction = order === 'asc' ? 'ASC' : 'DESC';
    const orderBy = (sortKey: string) => `ORDER BY ${sortKey} ${direction}, id ${direction}`;
    let after = 'TRUE';
    if (cursor) {
      const beyond = order === 'asc' ? '>' : '<';
      const id = bind(cursor.id);
      after = sort === 'id' ? `id ${beyond} ${id}` : `(${key.sql}, id) ${beyond} (${bind(cursor.key)}::${key.type}, ${id})`;
    }
    const readAtMost = bind(limit + 1);
    const matches = filters.length > 0 ? filters.join(' AND ') : 'TRUE';
    let page = `SELECT id, ${key.sql} AS sort_value FROM clusters WHERE ${after} AND ${matches} ${orderBy(key.sql)} LIMIT ${readAtMost}`;
    let steps = '';
    if (filters.length > 0) {
      // The filter is applied above the walk's LIMIT, so the walk stops after walkAtMost clusters
      // (or never, when many match), and as soon as a page of matches is found.
      const few = `(SELECT total FROM counted) <= ${bind(this.filterFirstAtMost)}`;
      const walkAtMost = bind(this.walkAtMost);
      const walkedAPage = `(SELECT count(*) FROM walked) = ${readAtMost}`;
      steps = `walked AS MATERIALIZED (
                 SELECT id, sort_value FROM (
                   SELECT id, ${key.sql} AS sort_value, ${matches} AS matches FROM clusters WHERE ${after}
                   ${orderBy(key.sql)} LIMIT CASE WHEN ${few} THEN ${walkAtMost}::bigint END) AS walk
                 WHERE matches LIMIT ${readAtMost}),
               filtered_first AS MATERIALIZED (
                 SELECT id, ${key.sql} AS sort_value FROM clusters WHERE ${after} AND ${matches} AND ${few} AND NOT ${walkedAPage}),`;
      // Whichever the walk says; the other branch's gate is false, and it is never run.
      page = `SELECT id, sort_value FROM walked WHERE NOT ${few} OR ${walkedAPage}
              UNION ALL (SELECT id, sort_value FROM filtered_first ${orderBy('sort_value')} LIMIT ${readAtMost})`;
    }
    const shownAtMost = bind(limit);
    const [row] = await this.unitOfWork.manager.query<PageRow[]>(
      `WITH counted AS (SELECT ${total} AS total), ${steps}
            page AS (${page}),
            numbered AS (SELECT page.id, sort_value::text AS sort_key, ${ITEM_JSON} AS item, row_number() OVER (${orderBy('sort_value')}) AS n
                           FROM page JOIN clusters USING (id))
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
