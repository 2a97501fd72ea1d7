import type { CloudEvent, EventDefinition, EventOf } from '@flotilla/contracts';
import { EventPattern, Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { EventConsumer, type ConsumerDependencies } from '../consumer/event-consumer.js';
import type { OutboxRelay } from '../outbox/outbox-relay.js';
import { ensureStreams } from '../topology.js';
import { JetStreamContext } from './jetstream.context.js';

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

  constructor(
    private readonly deps: ConsumerDependencies,
    private readonly relay: OutboxRelay,
  ) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      await ensureStreams(this.deps.jsm, this.deps.options);
      for (const [pattern, handler] of this.getHandlers()) {
        if (!handler.isEventHandler) throw new Error(`@MessagePattern('${pattern}') is not supported on the event bus: use @EventPattern`);
        const consumer = new EventConsumer(this.deps, pattern, async ({ event, message, consumer: group }) => {
          const result: unknown = await handler(event, new JetStreamContext([message, event, group]));
          if (isObservable(result)) await lastValueFrom(result, { defaultValue: undefined });
        });
        await consumer.start();
        this.consumers.push(consumer);
      }
      this.relay.start();
      callback();
    } catch (error) {
      callback(error);
    }
  }

  /** Graceful: stop pulling, finish in-flight batches, then flush the outbox. */
  async close(): Promise<void> {
    await Promise.all(this.consumers.map((consumer) => consumer.stop()));
    this.consumers.length = 0;
    await this.relay.stop();
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

/**
 * `@EventPattern(definition.channel)` with the payload type checked against the contract:
 * `@OnEvent(ClusterRequested) onRequested(@Payload() event: EventOf<typeof ClusterRequested>)`.
 */
export function OnEvent<D extends EventDefinition>(definition: D): HandlerDecorator<EventOf<D>> {
  return EventPattern(definition.channel) as unknown as HandlerDecorator<EventOf<D>>;
}

/** `@EventPattern(ALL_EVENTS)`: every event of the bus (read models, audit). */
export function OnAnyEvent(): HandlerDecorator<CloudEvent> {
  return EventPattern(ALL_EVENTS) as unknown as HandlerDecorator<CloudEvent>;
}
