import { hash } from 'node:crypto';
import type { CloudEvent, StreamSettings } from '@flotilla/contracts';
import type { ClientBase } from 'pg';
import type { QueryRunner } from 'typeorm';

/** An event id to claim, with the digest of what the event says (`eventDigest`). */
export interface InboxEntry {
  id: string;
  digest: string;
}

export interface InboxClaim {
  /** Ids this transaction claimed: their events are new. */
  fresh: Set<string>;
  /** The stored digest of every id claimed before (null for rows older than digests). */
  seen: Map<string, string | null>;
}

/**
 * Claims event ids for a consumer inside the caller's transaction. An id already claimed by a
 * committed transaction is a duplicate delivery, or a conflict when its stored digest differs;
 * one claimed by a transaction still in flight makes this wait for it, so two replicas never both
 * apply an effect. The stored digests are read only when some id was not new (a second round
 * trip, in a fresh snapshot, so a claim that committed while this one waited is seen).
 */
export async function claimInbox(client: ClientBase, consumer: string, entries: readonly InboxEntry[]): Promise<InboxClaim> {
  const claim: InboxClaim = { fresh: new Set(), seen: new Map() };
  if (entries.length === 0) return claim;
  // Named: parsed and planned once per connection.
  const { rows } = await client.query<{ event_id: string }>({
    name: 'flotilla-inbox-claim',
    text: `INSERT INTO inbox (consumer, event_id, digest) SELECT $1, id, digest FROM unnest($2::text[], $3::text[]) AS claimed(id, digest)
           ON CONFLICT DO NOTHING RETURNING event_id`,
    values: [consumer, entries.map((entry) => entry.id), entries.map((entry) => entry.digest)],
  });
  for (const row of rows) claim.fresh.add(row.event_id);
  if (claim.fresh.size < entries.length) {
    const known = entries.filter((entry) => !claim.fresh.has(entry.id)).map((entry) => entry.id);
    const stored = await client.query<{ event_id: string; digest: string | null }>(`SELECT event_id, digest FROM inbox WHERE consumer = $1 AND event_id = ANY($2::text[])`, [consumer, known]);
    for (const row of stored.rows) claim.seen.set(row.event_id, row.digest);
  }
  return claim;
}

/** Undoes claims this transaction made (events its handler handed back): they are claimed again when they come back. */
export async function unclaimInbox(client: ClientBase, consumer: string, eventIds: readonly string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await client.query({ name: 'flotilla-inbox-unclaim', text: `DELETE FROM inbox WHERE consumer = $1 AND event_id = ANY($2::text[])`, values: [consumer, eventIds] });
}

/**
 * What makes two deliveries with one id the same event: type, source, subject and data (keys in
 * any order). Time and trace context are left out: a retry may carry another trace.
 */
export function eventDigest(event: Pick<CloudEvent, 'type' | 'source' | 'subject' | 'data'>): string {
  // One-shot: no Hash object per event (every delivery is digested).
  return hash('sha256', canonicalJson([event.type, event.source, event.subject, event.data]), 'base64url');
}

/**
 * JSON with object keys sorted, so the same value always gives the same text. Digests are stored:
 * the text must never change for a value (`inbox-store.spec.ts` pins one).
 */
function canonicalJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) text += ',';
      text += canonicalJson(value[index] ?? null);
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > 1) sortKeys(keys);
  let text = '{';
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (!first) text += ',';
    first = false;
    text += `${quotedKey(key)}:${canonicalJson(item)}`;
  }
  return `${text}}`;
}

/**
 * In place, by UTF-16 code units as `<` compares them (the default sort's order). Events' objects
 * have a few keys each: an insertion sort allocates nothing, where the built-in sort takes a work
 * array per call.
 */
function sortKeys(keys: string[]): void {
  if (keys.length > 32) {
    keys.sort();
    return;
  }
  for (let index = 1; index < keys.length; index++) {
    const key = keys[index]!;
    let at = index - 1;
    for (; at >= 0 && keys[at]! > key; at--) keys[at + 1] = keys[at]!;
    keys[at + 1] = key;
  }
}

/** Object keys as JSON strings: events repeat the same few keys, so each is quoted once. */
const QUOTED_KEYS = new Map<string, string>();
const QUOTED_KEYS_MAX = 4_096;

function quotedKey(key: string): string {
  let quoted = QUOTED_KEYS.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (QUOTED_KEYS.size < QUOTED_KEYS_MAX) QUOTED_KEYS.set(key, quoted);
  }
  return quoted;
}

/**
 * Forgets processed ids older than the stream keeps messages (they can no longer be redelivered),
 * at most `limit` of them, so one round never holds a long delete; returns how many went.
 */
export async function pruneInbox(runner: QueryRunner, olderThanMs: number, limit: number): Promise<number> {
  const result = (await runner.query(
    `DELETE FROM inbox WHERE ctid = ANY(ARRAY(
       SELECT ctid FROM inbox WHERE processed_at < now() - ($1::bigint * interval '1 millisecond') LIMIT $2))`,
    [olderThanMs, limit],
  )) as [unknown, number];
  return result[1] ?? 0;
}

/**
 * How long the inbox remembers an event id: as long as the events stream may still deliver the
 * event (its max age), plus its duplicate window for a publisher's late retry. Not the duplicate
 * window alone: an event handled but never acked (a crash) comes back whenever its consumer
 * returns, which may be days later.
 */
export function inboxRetentionMs(stream: Pick<StreamSettings, 'max_age_ns' | 'duplicate_window_ns'>): number {
  return (stream.max_age_ns + stream.duplicate_window_ns) / 1_000_000;
}
