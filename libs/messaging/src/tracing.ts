import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';

/**
 * OpenTelemetry for the bus, following the messaging semantic conventions: W3C trace context in
 * message headers, `send` spans when publishing, `process` spans around handlers, `settle` spans
 * for acks.
 */
export function tracer(): Tracer {
  // Looked up on every use, not once at import: a tracer taken before a provider is installed
  // (tests install theirs after importing) would stay a no-op.
  return trace.getTracer('@flotilla/messaging');
}

export const MessagingAttributes = {
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  messageId: 'messaging.message.id',
  consumerGroup: 'messaging.consumer.group.name',
  batchCount: 'messaging.batch.message_count',
  deliveryCount: 'messaging.nats.delivery_count',
  cloudEventType: 'cloudevents.event_type',
  cloudEventSubject: 'cloudevents.event_subject',
} as const;

const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const recordGetter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key] ?? carrier[key.toLowerCase()],
};

/** The W3C trace context (`traceparent`, `tracestate`) of `ctx`, as plain headers. */
export function injectTraceContext(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier, recordSetter);
  return carrier;
}

export function extractTraceContext(headers: Record<string, string>, parent: Context = context.active()): Context {
  return propagation.extract(parent, headers, recordGetter);
}

export function startSendSpan(destination: string, messageId: string, parent: Context): Span {
  return tracer().startSpan(
    `send ${destination}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        [MessagingAttributes.system]: 'nats',
        [MessagingAttributes.destination]: destination,
        [MessagingAttributes.operationType]: 'send',
        [MessagingAttributes.operationName]: 'publish',
        [MessagingAttributes.messageId]: messageId,
      },
    },
    parent,
  );
}

export function startProcessSpan(input: {
  destination: string;
  messageId: string;
  consumerGroup: string;
  deliveryCount: number;
  eventType?: string;
  eventSubject?: string;
  parent: Context;
}): Span {
  const attributes: Record<string, string | number> = {
    [MessagingAttributes.system]: 'nats',
    [MessagingAttributes.destination]: input.destination,
    [MessagingAttributes.operationType]: 'process',
    [MessagingAttributes.operationName]: 'process',
    [MessagingAttributes.messageId]: input.messageId,
    [MessagingAttributes.consumerGroup]: input.consumerGroup,
    [MessagingAttributes.deliveryCount]: input.deliveryCount,
  };
  if (input.eventType) attributes[MessagingAttributes.cloudEventType] = input.eventType;
  if (input.eventSubject) attributes[MessagingAttributes.cloudEventSubject] = input.eventSubject;
  return tracer().startSpan(`process ${input.destination}`, { kind: SpanKind.CONSUMER, attributes }, input.parent);
}

export function startBatchProcessSpan(input: { destination: string; consumerGroup: string; links: Context[] }): Span {
  return tracer().startSpan(`process ${input.destination}`, {
    kind: SpanKind.CONSUMER,
    attributes: {
      [MessagingAttributes.system]: 'nats',
      [MessagingAttributes.destination]: input.destination,
      [MessagingAttributes.operationType]: 'process',
      [MessagingAttributes.operationName]: 'process',
      [MessagingAttributes.consumerGroup]: input.consumerGroup,
      [MessagingAttributes.batchCount]: input.links.length,
    },
    links: input.links.map((ctx) => trace.getSpanContext(ctx)).filter((spanContext) => spanContext !== undefined).map((spanContext) => ({ context: spanContext })),
  });
}

export function startSettleSpan(operation: 'ack' | 'nak' | 'term', destination: string, messageId: string, consumerGroup: string, parent: Context): Span {
  return tracer().startSpan(
    `${operation} ${destination}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        [MessagingAttributes.system]: 'nats',
        [MessagingAttributes.destination]: destination,
        [MessagingAttributes.operationType]: 'settle',
        [MessagingAttributes.operationName]: operation,
        [MessagingAttributes.messageId]: messageId,
        [MessagingAttributes.consumerGroup]: consumerGroup,
      },
    },
    parent,
  );
}

export function endWithError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : new Error(String(error)));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.end();
}
