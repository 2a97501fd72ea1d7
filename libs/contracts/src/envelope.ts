import type { EventData, EventDefinition } from './event-definition.js';

/**
 * A CloudEvents 1.0 event as Flotilla carries it. `subject` is the cluster id the event is about
 * (or another aggregate id for events that are not about one cluster).
 */
export interface CloudEvent<TType extends string = string, TData = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: TType;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: TData;
  /** W3C trace context, the CloudEvents distributed-tracing extension. */
  traceparent?: string;
  tracestate?: string;
}

export type EventOf<D extends EventDefinition> = CloudEvent<D['type'], EventData<D>>;

export interface NewEvent {
  subject: string;
  source: string;
  id?: string;
  time?: Date;
}

/** Builds a CloudEvent for a definition; `data` is validated against the schema. */
export function createEvent<D extends EventDefinition>(definition: D, meta: NewEvent, data: EventData<D>): EventOf<D> {
  const parsed = definition.data.parse(data) as EventData<D>;
  return {
    specversion: '1.0',
    id: meta.id ?? crypto.randomUUID(),
    source: meta.source,
    type: definition.type,
    subject: meta.subject,
    time: (meta.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    data: parsed,
  };
}

/** The `source` attribute of events a Flotilla service emits. */
export function serviceSource(service: string): string {
  return `/flotilla/${service}`;
}
