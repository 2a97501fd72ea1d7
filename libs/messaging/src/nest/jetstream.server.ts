import type { CloudEvent, EventDefinition, EventOf } from '@flotilla/contracts';
import { EventPattern, Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { EventConsumer, type ConsumerDependencies, type HandlerConcurrency, type Handling } from '../consumer/event-consumer.js';
import type { OutboxRelay } from '../outbox/outbox-relay.js';
import { ensureStreams } from '../topology.js';
import { JetStreamBatchContext, JetStreamContext } from './jetstream.context.js';

/** Subscribes a handler to every event of the bus. */
export const ALL_EVENTS = '>';

/**
 * NestJS transport over JetStream. Every `@EventPattern(channel)` becomes one durable pull
 * consumer named after the service and the channel (`ALL_EVENTS` for every event), shared by all
 * replicas. Handlers stay plain methods: the event arrives as `@Payload()`, the JetStream
 * message in `@Ctx()`, and the handler's state changes and emitted events commit together.
 */
export class JetStreamServer extends Server implements CustomTransportStrategy {
  private readonly consumers: EventConsumer[] = [];
  /** Set by `close()`: a start still under way stops what it started. */
  private closing = false;

  constructor(
    private readonly deps: ConsumerDependencies,
    private readonly relay: OutboxRelay,
  ) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      await ensureStreams(this.deps.jsm, this.deps.options);
      if (this.closing) return callback();
      // First: what the consumers commit from their first batch on is published at once.
      this.relay.start();
      for (const [pattern, handler] of this.getHandlers()) {
        if (!handler.isEventHandler) throw new Error(`@MessagePattern('${pattern}') is not supported on the event bus: use @EventPattern`);
        // Not async: it runs for every event, and most handlers return a promise, not an Observable.
        const settle = (result: unknown): Promise<void> | undefined => (isObservable(result) ? lastValueFrom(result, { defaultValue: undefined }).then(() => undefined) : undefined);
        const handling: Handling =
          agreedExtra(pattern, handler, 'batch', (value) => value === true)
            ? { kind: 'batch', handle: async (batch) => settle(await handler(batch.map((delivered) => delivered.event), new JetStreamBatchContext([batch]))) }
            : {
                kind: 'single',
                handle: async ({ event, message, consumer: group }) => settle(await handler(event, new JetStreamContext([message, event, group]))),
                concurrency: concurrencyOf(pattern, handler),
              };
        const consumer = new EventConsumer(this.deps, pattern, handling);
        // Listed before it starts: stopping it is safe whatever its start reached.
        this.consumers.push(consumer);
        await consumer.start();
        // Closed meanwhile (that close may have come before this start had finished): stopped too.
        if (this.closing) {
          await consumer.stop();
          await this.close();
          return callback();
        }
      }
      callback();
    } catch (error) {
      // Nothing left running behind a failed start: the consumers started so far, and the relay.
      await this.close().catch(() => undefined);
      callback(error);
    }
  }

  /** Graceful: stop pulling, finish in-flight batches, then flush the outbox. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.consumers.map((consumer) => consumer.stop()));
    this.consumers.length = 0;
    await this.relay.stop();
  }

  /** The durable consumers this process runs, one per handled pattern. */
  durables(): string[] {
    return this.consumers.map((consumer) => consumer.durable);
  }

  on(): never {
    throw new Error('JetStreamServer has no transport events to listen to');
  }

  unwrap<T>(): T {
    return this.deps.js as T;
  }
}

type HandlerDecorator<TEvent> = <THandler extends (event: TEvent, ...rest: never[]) => unknown>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<THandler>,
) => void;

export interface OnEventOptions {
  /**
   * `'by-subject'` lets the events of one batch about different subjects (clusters) run side by
   * side in the batch's transaction, each subject's still in stream order; their statements share
   * round trips to PostgreSQL (the benchmark's handler: 1.2 to 1.4x the events/s of
   * `'sequential'`, the default, on loopback; more where round trips are longer). Only for
   * handlers that touch their own subject's rows: handlers sharing a transaction do not isolate
   * each other. See `HandlerConcurrency`.
   */
  concurrency?: HandlerConcurrency;
}

const CONCURRENCIES: readonly HandlerConcurrency[] = ['sequential', 'by-subject'];

/**
 * Several methods may handle one event type; Nest calls them in turn on each event, so they
 * must agree on how events are handed to them.
 */
function agreedExtra<T>(pattern: string, handler: MessageHandler, name: string, read: (value: unknown) => T): T {
  const values = new Set<T>();
  for (let next: MessageHandler | undefined = handler; next; next = next.next as MessageHandler | undefined) values.add(read(next.extras?.[name]));
  if (values.size > 1) throw new Error(`the handlers of '${pattern}' must agree on ${name}, not ${[...values].map((value) => JSON.stringify(value)).join(' and ')}`);
  return values.values().next().value as T;
}

function concurrencyOf(pattern: string, handler: MessageHandler): HandlerConcurrency {
  return agreedExtra(pattern, handler, 'concurrency', (value = 'sequential') => {
    if (!CONCURRENCIES.includes(value as HandlerConcurrency)) {
      throw new Error(`@OnEvent('${pattern}'): concurrency must be one of ${CONCURRENCIES.join(', ')}, not ${JSON.stringify(value)}`);
    }
    return value as HandlerConcurrency;
  });
}

/**
 * `@EventPattern(definition.channel)` with the payload type checked against the contract:
 * `@OnEvent(ClusterRequested) onRequested(@Payload() event: EventOf<typeof ClusterRequested>)`.
 */
export function OnEvent<D extends EventDefinition>(definition: D, options: OnEventOptions = {}): HandlerDecorator<EventOf<D>> {
  return EventPattern(definition.channel, options.concurrency ? { concurrency: options.concurrency } : undefined);
}

type BatchHandlerDecorator<TEvent> = <THandler extends (events: TEvent[], ...rest: never[]) => unknown>(
  target: object,
  propertyKey: string | symbol,
  descriptor: TypedPropertyDescriptor<THandler>,
) => void;

/**
 * A handler that takes a whole batch (every new event of one transaction) in one call, for logic
 * that can be set-based. Emit derived events with `{ causedBy: event }` so each continues its
 * own trace. Redelivered duplicates are already filtered out.
 */
export function OnEventBatch<D extends EventDefinition>(definition: D): BatchHandlerDecorator<EventOf<D>> {
  return EventPattern(definition.channel, { batch: true }) as unknown as BatchHandlerDecorator<EventOf<D>>;
}

/** `@EventPattern(ALL_EVENTS)`: every event of the bus (read models, audit). */
export function OnAnyEvent(): HandlerDecorator<CloudEvent> {
  return EventPattern(ALL_EVENTS) as unknown as HandlerDecorator<CloudEvent>;
}
