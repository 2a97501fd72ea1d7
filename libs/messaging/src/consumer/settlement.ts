import { context } from '@opentelemetry/api';
import type { DeadLetters, Rejection } from '../dead-letter.js';
import { describeError, isPermanent } from '../errors.js';
import type { MessagingMetrics } from '../metrics.js';
import type { BusOptions } from '../options.js';
import { decideOnFailure } from '../retry-policy.js';
import { extractTraceContext, startSettleSpan } from '../tracing.js';
import type { Item, Received } from './admission.js';

export interface ConsumerLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A delivery that reused an id with another payload. */
export interface Conflict {
  item: Item;
  /** The digest the id was first claimed with. */
  claimed: string;
}

/** What a committed transaction found: how many were duplicates, which reused an id, which its handler handed back. */
export interface Committed {
  duplicates: number;
  conflicts: Conflict[];
  deferred: readonly Item[];
}

/**
 * How a consumer's messages end: acked once their transaction committed, sent back with a delay
 * when a transient failure may pass, or dead-lettered with their reason (never handled, failing
 * for good, or out of deliveries), each message on its own.
 */
export class Settlement {
  constructor(
    private readonly durable: string,
    private readonly deps: { deadLetters: DeadLetters; metrics: MessagingMetrics; options: BusOptions; logger: ConsumerLogger },
  ) {}

  /**
   * Acks what the transaction handled or found duplicated; dead-letters deliveries that reused an
   * id. Deferred events are left to come back (the consumer holds them).
   */
  async committed(items: readonly Item[], { duplicates, conflicts, deferred }: Committed): Promise<void> {
    const unsettled = new Set<Item>([...conflicts.map((conflict) => conflict.item), ...deferred]);
    for (const item of items) {
      if (unsettled.has(item)) continue;
      const span = startSettleSpan('ack', item.message.subject, item.event.id, this.durable, extractTraceContext(item.headers, context.active()));
      item.message.ack();
      span.end();
    }
    this.deps.metrics.consumed.inc({ consumer: this.durable, outcome: 'handled' }, items.length - duplicates - conflicts.length - deferred.length);
    this.count('duplicate', duplicates);
    this.count('deferred', deferred.length);
    for (const { item, claimed } of conflicts) {
      const reason =
        `event id ${item.event.id} was already taken by an event with another payload (type, source, subject or data differ; ` +
        `digest ${claimed.slice(0, 12)}, this one ${item.digest.slice(0, 12)}): a different event needs its own id`;
      await this.reject(item, { code: 'id-conflict', reason, eventId: item.event.id, eventType: item.event.type, eventSubject: item.event.subject });
    }
  }

  /** Events handed back without a transaction (behind one of their subject handed back). */
  handedBack(n: number): void {
    this.count('deferred', n);
  }

  /** An event whose handling failed on its own: retried with backoff, or dead-lettered. */
  async failed(item: Item, error: unknown): Promise<void> {
    const { options } = this.deps;
    const deliveries = item.message.info.deliveryCount;
    const decision = decideOnFailure({ permanent: isPermanent(error), deliveryCount: deliveries, maxDeliver: options.maxDeliver, policy: options.retry });
    switch (decision.action) {
      case 'retry': {
        this.deps.logger.warn('handler failed; will retry', { consumer: this.durable, eventId: item.event.id, delivery: deliveries, delayMs: decision.delayMs, error: describeError(error) });
        item.message.nak(decision.delayMs);
        this.count('retried', 1);
        return;
      }
      case 'dead-letter': {
        // A PermanentError's own code (e.g. `already-imported`) leads the reason, so the
        // publisher learns which refusal it was.
        const detail = isPermanent(error) && error.code !== 'handler-rejected' ? `${error.code}: ${describeError(error)}` : describeError(error);
        const reason = decision.code === 'max-deliveries-exceeded' ? `gave up after ${deliveries} deliveries: ${detail}` : detail;
        await this.reject(item, { code: decision.code, reason, eventId: item.event.id, eventType: item.event.type, eventSubject: item.event.subject });
        return;
      }
    }
  }

  /**
   * Producers roll out before consumers: an event of a type this catalogue does not know yet is
   * acknowledged and counted, never dead-lettered (an unknown version of a known type is).
   */
  newerType({ message }: Received): void {
    message.ack();
    this.count('unknown-type', 1);
  }

  /** Dead-letters a message with its reason (`DeadLetters`), then counts it. */
  async reject({ message, natsSubject }: Received, rejection: Rejection): Promise<void> {
    this.deps.logger.warn('event dead-lettered', { consumer: this.durable, code: rejection.code, reason: rejection.reason, eventId: rejection.eventId, subject: natsSubject });
    await this.deps.deadLetters.reject(message, this.durable, rejection);
    this.count('dead-lettered', 1);
  }

  private count(outcome: 'handled' | 'duplicate' | 'deferred' | 'retried' | 'dead-lettered' | 'unknown-type', n: number): void {
    if (n > 0) this.deps.metrics.consumed.inc({ consumer: this.durable, outcome }, n);
  }
}
