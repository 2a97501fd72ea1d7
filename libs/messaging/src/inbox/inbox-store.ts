import type { QueryRunner } from 'typeorm';

/**
 * Claims event ids for a consumer inside the caller's transaction and returns the ids that were
 * new. An id already claimed by a committed transaction is a duplicate delivery; one claimed by a
 * transaction still in flight makes this wait for it, so two replicas never both apply an effect.
 */
export async function claimInbox(runner: QueryRunner, consumer: string, eventIds: readonly string[]): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  const rows = (await runner.query(
    `INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id`,
    [consumer, eventIds],
  )) as { event_id: string }[];
  return new Set(rows.map((row) => row.event_id));
}

/** Forgets processed ids older than the stream keeps messages: they can no longer be redelivered. */
export async function pruneInbox(runner: QueryRunner, olderThanMs: number): Promise<number> {
  const result = (await runner.query(`DELETE FROM inbox WHERE processed_at < now() - ($1::bigint * interval '1 millisecond')`, [olderThanMs])) as [unknown, number];
  return result[1] ?? 0;
}
