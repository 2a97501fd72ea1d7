/*
 * What a fleet run under faults must end with, read from the services' schemas and the bus:
 * every requested cluster in one terminal state, no machine made twice, each event in each
 * consumer's inbox once, every outbox drained, and the dead letters only those expected.
 */
import { ClusterProvisioningFailed, ClusterReady, streamName } from '@flotilla/contracts';
import type { BusConnection } from '@flotilla/messaging';
import { eventsOf, eventually } from '@flotilla/messaging/testing';
import type pg from 'pg';

/** The schema of each of the five services in the fleet's database. */
export const SERVICE_SCHEMAS = ['inventory', 'provisioner', 'importer', 'upgrade_planner', 'tunnel_broker'] as const;

export interface TerminalStates {
  /** Clusters whose ids match the pattern, as the inventory knows them. */
  known: number;
  /** Clusters with exactly one terminal fact (ClusterReady or ClusterProvisioningFailed) and that status. */
  terminal: number;
  running: number;
  failed: number;
  /** Ids with more than one terminal fact (e.g. Ready twice, or Ready and Failed), a few. */
  duplicated: string[];
  duplicatedCount: number;
}

/** The inventory's view of the clusters whose ids are LIKE the pattern. */
export async function terminalStates(db: pg.Pool, idLike: string): Promise<TerminalStates> {
  const { rows } = await db.query<{ known: number; running: number; failed: number }>(
    `SELECT count(*)::int AS known, (count(*) FILTER (WHERE status = 'Running'))::int AS running, (count(*) FILTER (WHERE status = 'Failed'))::int AS failed FROM inventory.clusters WHERE id LIKE $1`,
    [idLike],
  );
  const twice = await db.query<{ cluster_id: string }>(`SELECT cluster_id FROM inventory.cluster_events WHERE type = ANY($1) AND cluster_id LIKE $2 GROUP BY cluster_id HAVING count(*) > 1`, [
    [ClusterReady.type, ClusterProvisioningFailed.type],
    idLike,
  ]);
  const { known = 0, running = 0, failed = 0 } = rows[0] ?? {};
  const duplicatedCount = twice.rowCount ?? 0;
  return { known, terminal: running + failed - duplicatedCount, running, failed, duplicated: twice.rows.slice(0, 5).map((row) => row.cluster_id), duplicatedCount };
}

/** The simulated provider's machines of the matching clusters: how many, how many distinct (cluster, name). */
export async function simulatedMachines(db: pg.Pool, idLike: string): Promise<{ machines: number; distinct: number; clusters: number }> {
  const { rows } = await db.query<{ machines: number; distinct: number; clusters: number }>(
    `SELECT count(*)::int AS machines, count(DISTINCT (cluster_id, name))::int AS distinct, count(DISTINCT cluster_id)::int AS clusters FROM provisioner.sim_machines WHERE cluster_id LIKE $1`,
    [idLike],
  );
  return rows[0] ?? { machines: 0, distinct: 0, clusters: 0 };
}

/** ClusterReady on the bus per cluster of the given ids: the ones with none and the ones with more than one. */
export async function readyOnTheBus(bus: BusConnection, prefix: string, ids: ReadonlySet<string>): Promise<{ eventIds: string[]; missing: string[]; repeated: string[] }> {
  const ready = (await eventsOf(bus, prefix, ClusterReady)).filter((event) => ids.has(event.subject));
  const perCluster = new Map<string, number>();
  for (const event of ready) perCluster.set(event.subject, (perCluster.get(event.subject) ?? 0) + 1);
  return {
    eventIds: ready.map((event) => event.id),
    missing: [...ids].filter((id) => !perCluster.has(id)),
    repeated: [...perCluster].filter(([, n]) => n > 1).map(([id]) => id),
  };
}

/**
 * Per consumer of the schema's inbox, how many of the event ids it holds and how many distinct:
 * an id handled twice (a duplicated effect) would show as more rows than distinct ids.
 */
export async function inboxCounts(db: pg.Pool, schema: string, eventIds: readonly string[]): Promise<{ consumer: string; n: number; distinct_ids: number }[]> {
  const { rows } = await db.query<{ consumer: string; n: number; distinct_ids: number }>(
    `SELECT consumer, count(*)::int AS n, count(DISTINCT event_id)::int AS distinct_ids FROM ${schema}.inbox WHERE event_id = ANY($1) GROUP BY consumer ORDER BY consumer`,
    [eventIds],
  );
  return rows;
}

/** Outbox rows not yet published (parked ones included), per schema. */
export async function unpublishedOutbox(db: pg.Pool, schemas: readonly string[] = SERVICE_SCHEMAS): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const schema of schemas) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.outbox WHERE published_at IS NULL`);
    counts[schema] = rows[0]?.n ?? 0;
  }
  return counts;
}

/** Waits until every outbox is drained; fails naming those that are not. */
export async function outboxesDrained(db: pg.Pool, timeoutMs = 30_000, schemas: readonly string[] = SERVICE_SCHEMAS): Promise<void> {
  let last: Record<string, number> = {};
  await eventually(
    async () => {
      last = await unpublishedOutbox(db, schemas);
      return Object.values(last).every((n) => n === 0) ? true : undefined;
    },
    timeoutMs,
    'every outbox drained',
  ).catch((error: Error) => {
    throw new Error(`${error.message}; unpublished rows: ${JSON.stringify(last)}`);
  });
}

/**
 * Waits until every consumer of the events stream has taken and settled all of it. A replica
 * killed with messages in hand leaves them unacked until the stream's ack wait passes (30 s), and
 * only then are they delivered to another: every cluster may be terminal by other events first.
 */
export async function consumersCaughtUp(bus: BusConnection, prefix: string, timeoutMs = 90_000): Promise<void> {
  const stream = streamName({ prefix }, 'events');
  let behind: string[] = [];
  await eventually(
    async () => {
      behind = [];
      for await (const consumer of bus.jsm.consumers.list(stream)) {
        if (consumer.num_pending > 0 || consumer.num_ack_pending > 0) behind.push(`${consumer.name} (${consumer.num_pending} not delivered, ${consumer.num_ack_pending} unacked)`);
      }
      return behind.length === 0 ? true : undefined;
    },
    timeoutMs,
    'every consumer of the events stream caught up',
  ).catch((error: Error) => {
    throw new Error(`${error.message}; behind: ${behind.join(', ')}`);
  });
}

/** Messages in the prefix's dead-letter stream. */
export async function deadLetterCount(bus: BusConnection, prefix: string): Promise<number> {
  const info = await bus.jsm.streams.info(streamName({ prefix }, 'dlq'));
  return info.state.messages;
}
