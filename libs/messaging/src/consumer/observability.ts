import type { Consumer, ConsumerInfo, StreamInfo } from '@nats-io/jetstream';
import { context, ROOT_CONTEXT, trace, type Span } from '@opentelemetry/api';
import type { MessagingMetrics } from '../metrics.js';
import { endWithError, extractTraceContext, startBatchProcessSpan, startProcessSpan } from '../tracing.js';
import type { Item, Received } from './admission.js';

/** Runs `work` as the current span, ending it with the outcome (one promise: every event goes through here). */
function within(span: Span, work: () => Promise<void>): Promise<void> {
  let running: Promise<void>;
  try {
    running = context.with(trace.setSpan(context.active(), span), work);
  } catch (error) {
    endWithError(span, error);
    throw error;
  }
  return running.then(
    () => span.end(),
    (error: unknown) => {
      endWithError(span, error);
      throw error;
    },
  );
}

/** A `process` span (CONSUMER) around one event's handler, continuing the event's own trace. */
export function inProcessSpan(item: Item, work: () => Promise<void>): Promise<void> {
  const span = startProcessSpan({
    destination: item.message.subject,
    messageId: item.event.id,
    consumerGroup: item.consumer,
    deliveryCount: item.message.info.deliveryCount,
    eventType: item.event.type,
    eventSubject: item.event.subject,
    parent: extractTraceContext(item.headers, context.active()),
  });
  return within(span, work);
}

/**
 * One `process` span for a batch handler, linked to every message's own trace (the messaging
 * conventions for batch receipt); events the handler emits with `causedBy` continue the trace of
 * the event that caused them.
 */
export function inBatchProcessSpan(items: readonly Item[], work: () => Promise<void>): Promise<void> {
  const span = startBatchProcessSpan({
    destination: items[0]!.message.subject,
    consumerGroup: items[0]!.consumer,
    links: items.map((item) => extractTraceContext(item.headers, ROOT_CONTEXT)),
  });
  return within(span, work);
}

/**
 * A consumer's gauges: how many messages wait for it in the stream, the age of the oldest one
 * this replica holds unsettled, and its headroom before the stream's byte limit. Messages arrive
 * in stream order, so under a backlog the ones held (buffered or being handled) are the oldest
 * not yet settled: their age says how close the consumer is to the stream's max age, past which
 * JetStream discards events whether consumed or not; the headroom says the same of its max bytes.
 */
export async function reportPending(durable: string, consumer: Consumer | undefined, stream: () => Promise<StreamInfo>, held: Iterable<Received>, metrics: MessagingMetrics): Promise<void> {
  try {
    const info = await consumer?.info(true);
    if (info) {
      metrics.consumerPending.set({ consumer: durable }, info.num_pending + info.num_ack_pending);
      metrics.consumerDiscardHeadroom.set({ consumer: durable }, discardHeadroom(info, await stream()));
    }
    metrics.consumerOldestPendingAge.set({ consumer: durable }, oldestAgeSeconds(held));
  } catch {
    // Not being able to read the count is not worth a log line every 5 s; readiness reports NATS.
  }
}

/**
 * The share of the stream's byte limit that may still be stored before a message `consumer` has
 * not acknowledged is discarded: the free bytes, plus the bytes stored before its ack floor
 * (discarded first; estimated from the sequences at the stream's mean message size). 1 when it
 * has nothing unacknowledged or the stream has no byte limit.
 */
export function discardHeadroom(consumer: Pick<ConsumerInfo, 'num_pending' | 'num_ack_pending' | 'ack_floor'>, stream: Pick<StreamInfo, 'config' | 'state'>): number {
  const limit = stream.config.max_bytes;
  if (!(limit > 0) || consumer.num_pending + consumer.num_ack_pending === 0) return 1;
  const { bytes, first_seq: first, last_seq: last } = stream.state;
  const stored = Math.max(1, last - first + 1);
  const before = Math.min(stored, Math.max(0, consumer.ack_floor.stream_seq + 1 - first));
  const headroom = Math.max(0, limit - bytes) + (bytes * before) / stored;
  return Math.min(1, headroom / limit);
}

function oldestAgeSeconds(held: Iterable<Received>): number {
  let oldest = Infinity;
  for (const { message } of held) oldest = Math.min(oldest, message.time.getTime());
  return oldest === Infinity ? 0 : Math.max(0, (Date.now() - oldest) / 1000);
}

/** Per transaction: how long its handling took and how many events it held. */
export function observeBatch(metrics: MessagingMetrics, durable: string, startedMs: number, size: number): void {
  metrics.handlerSeconds.observe({ consumer: durable }, (performance.now() - startedMs) / 1000);
  metrics.batchSize.observe({ consumer: durable }, size);
}
