import { Counter, Gauge, Histogram, register, type Registry } from 'prom-client';

/**
 * Prometheus metrics of the bus runtime, on prom-client's default registry so a service's
 * `/metrics` shows them next to its own.
 */
export class MessagingMetrics {
  readonly consumed: Counter<'consumer' | 'outcome'>;
  readonly published: Counter<'source'>;
  readonly deadLettered: Counter<'consumer' | 'code'>;
  readonly handlerSeconds: Histogram<'consumer'>;
  readonly batchSize: Histogram<'consumer'>;
  readonly consumerPending: Gauge<'consumer'>;
  readonly consumerDiscardHeadroom: Gauge<'consumer'>;
  readonly consumerOldestPendingAge: Gauge<'consumer'>;
  readonly outboxBacklog: Gauge;
  readonly outboxParked: Gauge;
  readonly deadLetters: Gauge<'consumer'>;

  constructor(registry: Registry = register) {
    this.consumed = getOrCreate(registry, 'flotilla_events_consumed_total', () => new Counter({
      name: 'flotilla_events_consumed_total',
      help: 'Outcomes of events taken from the bus, by consumer (handled, duplicate, retried, dead-lettered, unknown-type; deferred: handed back by the handler, counted each time)',
      labelNames: ['consumer', 'outcome'] as const,
      registers: [registry],
    }));
    this.published = getOrCreate(registry, 'flotilla_events_published_total', () => new Counter({
      name: 'flotilla_events_published_total',
      help: 'Events published to the bus and acknowledged by JetStream, by path (outbox, direct)',
      labelNames: ['source'] as const,
      registers: [registry],
    }));
    this.deadLettered = getOrCreate(registry, 'flotilla_events_dead_lettered_total', () => new Counter({
      name: 'flotilla_events_dead_lettered_total',
      help: 'Events moved to the dead-letter stream, by consumer and rejection code',
      labelNames: ['consumer', 'code'] as const,
      registers: [registry],
    }));
    this.handlerSeconds = getOrCreate(registry, 'flotilla_event_handler_duration_seconds', () => new Histogram({
      name: 'flotilla_event_handler_duration_seconds',
      help: 'Time to handle one batch of events in one transaction, commit included',
      labelNames: ['consumer'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }));
    this.batchSize = getOrCreate(registry, 'flotilla_event_batch_size', () => new Histogram({
      name: 'flotilla_event_batch_size',
      help: 'Events handled per transaction',
      labelNames: ['consumer'] as const,
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500],
      registers: [registry],
    }));
    this.consumerPending = getOrCreate(registry, 'flotilla_consumer_pending', () => new Gauge({
      name: 'flotilla_consumer_pending',
      help: 'Messages waiting in the stream for this durable consumer (JetStream num_pending)',
      labelNames: ['consumer'] as const,
      registers: [registry],
    }));
    this.consumerDiscardHeadroom = getOrCreate(registry, 'flotilla_consumer_discard_headroom_ratio', () => new Gauge({
      name: 'flotilla_consumer_discard_headroom_ratio',
      help: "How much of the stream's byte limit may still arrive before JetStream discards (oldest first) a message this durable consumer has not acknowledged, as a share of the limit: 1 with nothing unacknowledged or no limit, 0 when the next message stored drops one",
      labelNames: ['consumer'] as const,
      registers: [registry],
    }));
    this.consumerOldestPendingAge = getOrCreate(registry, 'flotilla_consumer_oldest_pending_age_seconds', () => new Gauge({
      name: 'flotilla_consumer_oldest_pending_age_seconds',
      help: "Age of the oldest message this replica holds for the durable consumer and has not settled (0 when it holds none): the stream discards events older than its max age (7 days) whether they were consumed or not",
      labelNames: ['consumer'] as const,
      registers: [registry],
    }));
    this.outboxBacklog = getOrCreate(registry, 'flotilla_outbox_backlog', () => new Gauge({
      name: 'flotilla_outbox_backlog',
      help: 'Outbox rows committed but not yet published',
      registers: [registry],
    }));
    this.outboxParked = getOrCreate(registry, 'flotilla_outbox_parked', () => new Gauge({
      name: 'flotilla_outbox_parked',
      help: 'Outbox rows the bus refused on every attempt (too large for it), parked with their reason and no longer published',
      registers: [registry],
    }));
    this.deadLetters = getOrCreate(registry, 'flotilla_dead_letters', () => new Gauge({
      name: 'flotilla_dead_letters',
      help: 'Messages this durable consumer refused that the dead-letter stream still keeps (replayed ones included)',
      labelNames: ['consumer'] as const,
      registers: [registry],
    }));
  }
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
