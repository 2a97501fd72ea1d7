import { z } from 'zod';
import type { EventData, EventDefinition } from './event-definition.js';
import { ClusterId, Timestamp } from './events/common.js';
import { PlanId } from './events/upgrade.js';
import { jsonMediaTypeProblem } from './media-type.js';

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

/**
 * The CloudEvents context attributes Flotilla accepts, as a schema: `validateEvent` checks them
 * and the JSON Schema and AsyncAPI headers are generated from it, so the three cannot drift.
 */
export const CloudEventAttributes = z.object({
  specversion: z.literal('1.0').describe('CloudEvents specification version'),
  id: z
    .string()
    .min(1)
    .describe('Unique per source; a retry of the same event keeps it. Also the Nats-Msg-Id JetStream de-duplicates on'),
  source: z.string().min(1).describe('Who emitted the event, e.g. /flotilla/provisioner'),
  type: z.string().min(1).describe('Versioned event type, e.g. io.flotilla.cluster.requested.v1'),
  subject: z
    .string()
    .min(1)
    .describe('What the event is about: the cluster id, unless the event says otherwise (e.g. the plan id)'),
  time: Timestamp.describe('When it happened, RFC 3339 with offset'),
  // Any case and parameters (RFC 9110), as the official SDKs send it: `application/json; charset=utf-8`.
  datacontenttype: z
    .string()
    .superRefine((value, context) => {
      const problem = jsonMediaTypeProblem(value);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    })
    .optional()
    .describe('application/json, in any case and with any parameters but a charset other than utf-8: data is a JSON value'),
  traceparent: z.string().optional().describe('W3C Trace Context traceparent (CloudEvents distributed-tracing extension)'),
  tracestate: z.string().optional().describe('W3C Trace Context tracestate'),
});

/**
 * What the `subject` of an event of this definition must be: a cluster id unless the definition
 * says otherwise (plan events name the plan; EventRejected repeats whatever it rejected).
 */
export function subjectSchema(definition: Pick<EventDefinition, 'subject'>): z.ZodType<string> {
  switch (definition.subject ?? 'cluster') {
    case 'cluster':
      return ClusterId;
    case 'plan':
      return PlanId;
    case 'any':
      return CloudEventAttributes.shape.subject;
  }
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
