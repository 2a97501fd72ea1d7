import { DEFAULT_EVENTS_MAX_BYTES, DEFAULT_MAX_EVENT_BYTES, DEFAULT_SUBJECT_PREFIX, type BusNaming, type StreamPlacement } from '@flotilla/contracts';
import type { RetryPolicy } from './retry-policy.js';

/** How a service talks to the bus. Every field but `service` has a production default. */
export interface BusOptions extends BusNaming {
  /** The service name: it names durable consumers (shared by every replica) and the event `source`. */
  service: string;
  natsUrl: string;
  /** The service's NATS user and password, when the server requires them. */
  natsUser?: string;
  natsPassword?: string;
  /** Stream replicas: 1 on a single server, 3 on a clustered NATS. */
  replicas: number;
  /** Which servers hold every stream's replicas (a cluster, server tags); absent: any. */
  placement?: StreamPlacement | undefined;
  /** Size cap of the events stream (JetStream reserves it on the server). */
  streamMaxBytes: number;
  /** Messages handled in one PostgreSQL transaction at most. */
  batchSize: number;
  /**
   * Transactions (batches) one consumer runs at once when a backlog waits. Events about one
   * subject are never in two of them, so they are still handled in stream order; events about
   * different subjects are handled in parallel, as separate replicas would.
   */
  lanes: number;
  /**
   * Consumer transactions a process runs at once, over all its consumers: each holds a pooled
   * connection, so keep it below the pool size (10 by default) to leave room for the outbox relay
   * and HTTP requests.
   */
  maxConcurrentBatches: number;
  /** Deliveries before a message that keeps failing is dead-lettered. */
  maxDeliver: number;
  /** How long JetStream waits for an ack before redelivering. */
  ackWaitMs: number;
  /**
   * How long one consumer transaction (handlers and commit) may run. Past it, its connection is
   * dropped (PostgreSQL rolls the transaction back), its slot freed and its messages retried, so a
   * stuck handler cannot hold every slot. Keep it below `ackWaitMs`.
   */
  handlerTimeoutMs: number;
  retry: RetryPolicy;
  maxEventBytes: number;
  /** Outbox rows published per relay round. */
  relayBatchSize: number;
  /** How often the relay looks for rows committed by other replicas or left by a crash. */
  relayPollMs: number;
  /**
   * Rows younger than this are left to the process that committed them, which publishes them
   * straight after commit; older unpublished rows were left by a crash or a failed publish.
   */
  relayGraceMs: number;
  /**
   * Times the bus may refuse one outbox row (too large, refused by JetStream) before the row is
   * parked with its reason (`outbox.parked_at`, `last_error`) and skipped. An outage counts none.
   */
  relayMaxAttempts: number;
}

export function busOptions(overrides: Partial<BusOptions> & Pick<BusOptions, 'service'>): BusOptions {
  return {
    prefix: DEFAULT_SUBJECT_PREFIX,
    natsUrl: 'nats://127.0.0.1:4222',
    replicas: 1,
    streamMaxBytes: DEFAULT_EVENTS_MAX_BYTES,
    batchSize: 100,
    lanes: 4,
    maxConcurrentBatches: 6,
    maxDeliver: 8,
    ackWaitMs: 30_000,
    handlerTimeoutMs: 20_000,
    retry: { baseDelayMs: 500, maxDelayMs: 60_000 },
    maxEventBytes: DEFAULT_MAX_EVENT_BYTES,
    relayBatchSize: 500,
    relayPollMs: 1_000,
    relayGraceMs: 5_000,
    relayMaxAttempts: 5,
    ...overrides,
  };
}
