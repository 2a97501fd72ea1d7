import type { ClientBase } from 'pg';
import type { QueryRunner } from 'typeorm';

/** An event ready to publish, as the binding encodes it. */
export interface OutboxRow {
  eventId: string;
  subject: string;
  headers: Record<string, string>;
  payload: string;
}

export interface StoredOutboxRow extends OutboxRow {
  seq: string;
}

/**
 * Writes rows in the caller's transaction: one statement whatever the count. An event id already
 * there is skipped, so an emit with a fixed id is idempotent. The statement runs even with no rows:
 * just before a commit, it fails (SQLSTATE 25P02) when a database error caught by application
 * code left the transaction aborted, which the commit itself would not say (it quietly rolls back).
 */
export async function insertOutboxRows(client: ClientBase, rows: readonly OutboxRow[]): Promise<void> {
  // Named: parsed and planned once per connection.
  await client.query({ name: 'flotilla-outbox-insert', text: outboxInsertSql('$1'), values: [outboxRowsParameter(rows)] });
}

/**
 * The outbox insert of the rows given as one jsonb parameter (`outboxRowsParameter`), at
 * `parameter` (`$3`). `guard` (SQL) adds a condition: in a data-modifying CTE of a statement that
 * changes state too, the events are written only when the change was made (`EXISTS (SELECT 1 FROM
 * saved)`), and both commit together, as one statement does.
 */
export function outboxInsertSql(parameter: string, guard?: string): string {
  return `INSERT INTO outbox (event_id, subject, headers, payload)
           SELECT event_id, subject, headers, payload
             FROM jsonb_to_recordset(${parameter}::jsonb) AS r(event_id text, subject text, headers jsonb, payload text)${guard === undefined ? '' : `
            WHERE ${guard}`}
           ON CONFLICT (event_id) DO NOTHING`;
}

/** The rows as the parameter of `outboxInsertSql`. */
export function outboxRowsParameter(rows: readonly OutboxRow[]): string {
  return JSON.stringify(rows.map((row) => ({ event_id: row.eventId, subject: row.subject, headers: row.headers, payload: row.payload })));
}

/** Locks the oldest unpublished rows; other relays skip them instead of publishing them twice. */
export async function lockUnpublished(runner: QueryRunner, limit: number, minAgeMs = 0): Promise<StoredOutboxRow[]> {
  const rows = (await runner.query(
    `SELECT seq::text AS seq, event_id, subject, headers, payload
       FROM outbox
      WHERE published_at IS NULL AND parked_at IS NULL AND created_at <= now() - ($2::bigint * interval '1 millisecond')
      ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit, minAgeMs],
  )) as { seq: string; event_id: string; subject: string; headers: Record<string, string>; payload: string }[];
  return rows.map((row) => ({ seq: row.seq, eventId: row.event_id, subject: row.subject, headers: row.headers, payload: row.payload }));
}

export async function markPublished(runner: QueryRunner, seqs: readonly string[]): Promise<void> {
  if (seqs.length === 0) return;
  await runner.query(`UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL WHERE seq = ANY($1::bigint[])`, [seqs]);
}

/**
 * Marks rows published by event id, outside any other transaction (the fast path after commit),
 * through a TypeORM query runner or a node-postgres pool or client.
 */
export async function markPublishedByEventId(runner: { query(text: string, values: unknown[]): Promise<unknown> }, eventIds: readonly string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await runner.query(`UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE event_id = ANY($1::text[]) AND published_at IS NULL`, [eventIds]);
}

export async function markFailed(runner: QueryRunner, seqs: readonly string[], error: string): Promise<void> {
  if (seqs.length === 0) return;
  await runner.query(`UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = ANY($1::bigint[])`, [seqs, error.slice(0, 2000)]);
}

/** A row the bus refused, with why. */
export interface RowFailure {
  seq: string;
  error: string;
}

/**
 * Counts a refusal of each row against it, and parks the rows that reached `maxAttempts`: they
 * keep their reason (`last_error`) and are skipped from now on. Returns the rows parked now.
 */
export async function markRefused(runner: QueryRunner, failures: readonly RowFailure[], maxAttempts: number): Promise<{ seq: string; eventId: string; subject: string; attempts: number; error: string }[]> {
  if (failures.length === 0) return [];
  const rows = (await runner.query(
    `UPDATE outbox o SET attempts = o.attempts + 1, last_error = f.error,
            parked_at = CASE WHEN o.attempts + 1 >= $2 THEN now() END
       FROM jsonb_to_recordset($1::jsonb) AS f(seq bigint, error text)
      WHERE o.seq = f.seq
      RETURNING o.seq::text AS seq, o.event_id, o.subject, o.attempts, o.last_error, o.parked_at IS NOT NULL AS parked`,
    [JSON.stringify(failures.map((failure) => ({ seq: failure.seq, error: failure.error.slice(0, 2000) }))), maxAttempts],
  )) as [{ seq: string; event_id: string; subject: string; attempts: number; last_error: string; parked: boolean }[], number];
  return rows[0].filter((row) => row.parked).map((row) => ({ seq: row.seq, eventId: row.event_id, subject: row.subject, attempts: row.attempts, error: row.last_error }));
}

export async function countUnpublished(runner: QueryRunner): Promise<number> {
  const rows = (await runner.query(`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL AND parked_at IS NULL`)) as { n: number }[];
  return rows[0]?.n ?? 0;
}

export async function countParked(runner: QueryRunner): Promise<number> {
  const rows = (await runner.query(`SELECT count(*)::int AS n FROM outbox WHERE parked_at IS NOT NULL`)) as { n: number }[];
  return rows[0]?.n ?? 0;
}

export async function prunePublished(runner: QueryRunner, olderThanMs: number): Promise<void> {
  await runner.query(`DELETE FROM outbox WHERE published_at < now() - ($1::bigint * interval '1 millisecond')`, [olderThanMs]);
}

