import type { z } from 'zod';
import { EVENT_CATALOGUE, findDefinition, isService } from './catalogue.js';
import { CloudEventAttributes, subjectSchema, type CloudEvent } from './envelope.js';
import { CLOUDEVENT_TYPE_PREFIX, type EventDefinition } from './event-definition.js';
import { decodeMessage, DEFAULT_MAX_EVENT_BYTES, type NatsMessage } from './nats-binding.js';
import { eventsSubject } from './streams.js';

export type ValidationFailure = { ok: false; code: 'schema-invalid' | 'unknown-type'; reason: string };
export type ValidationResult = { ok: true; event: CloudEvent; definition: EventDefinition } | ValidationFailure;

/**
 * Checks decoded attributes and data against the catalogue. A failure names every bad field,
 * e.g. `data.controlPlane.count: Invalid input`.
 */
export function validateEvent(raw: Record<string, unknown>): ValidationResult {
  const attributes = CloudEventAttributes.safeParse(raw);
  if (!attributes.success) {
    return { ok: false, code: 'schema-invalid', reason: describeIssues(attributes.error) };
  }
  const definition = findDefinition(attributes.data.type);
  if (!definition) {
    return { ok: false, code: 'unknown-type', reason: `unknown event type "${attributes.data.type}"` };
  }
  const forged = forgedSourceProblem(attributes.data.source, definition);
  if (forged) return { ok: false, code: 'schema-invalid', reason: forged };
  const subject = subjectSchema(definition).safeParse(attributes.data.subject);
  if (!subject.success) {
    return { ok: false, code: 'schema-invalid', reason: describeIssues(subject.error, 'subject') };
  }
  const data = definition.data.safeParse(raw['data']);
  if (!data.success) {
    return { ok: false, code: 'schema-invalid', reason: describeIssues(data.error, 'data') };
  }
  const event: CloudEvent = {
    ...attributes.data,
    datacontenttype: 'application/json',
    data: data.data,
  };
  return { ok: true, event, definition };
}

/**
 * A source naming a Flotilla service (`/flotilla/<service>`) that the catalogue does not list
 * among the type's producers claims an authority it does not have: consumers would take its
 * facts for that service's. Other sources (outside publishers) are not judged here.
 */
function forgedSourceProblem(source: string, definition: EventDefinition): string | undefined {
  const claimed = /^\/flotilla\/([^/]+)$/.exec(source)?.[1];
  if (claimed === undefined || !isService(claimed) || definition.producers.includes(claimed)) return undefined;
  return `source: ${source} does not produce ${definition.type} (its producers: ${definition.producers.join(', ')})`;
}

export interface AdmissionOptions {
  /** Payload cap (code `too-large`); `DEFAULT_MAX_EVENT_BYTES` if absent. */
  maxBytes?: number;
  /** The bus prefix: when given with the message's NATS subject, the event must be on its type's subject. */
  prefix?: string;
}

/** A message as a consumer receives it: headers, payload and, when known, the NATS subject it came on. */
export interface ReceivedMessage extends NatsMessage {
  natsSubject?: string;
}

export type AdmissionFailure = {
  ok: false;
  code: 'unparseable' | 'too-large' | 'unknown-type' | 'schema-invalid';
  reason: string;
  /**
   * A type this catalogue has never heard of (no version of it), on a subject no known type uses:
   * a newer producer's event. Consumers acknowledge and count it instead of dead-lettering it,
   * since producers roll out before consumers.
   */
  newerType?: true;
  /** What could be read of the refused event, for its dead letter and EventRejected. */
  id?: string;
  type?: string;
  subject?: string;
};
export type AdmissionResult = { ok: true; event: CloudEvent; definition: EventDefinition } | AdmissionFailure;

/**
 * THE envelope check: every consumer of the bus admits a message with this function and nothing
 * else, so what one service refuses no service handles. It decodes the NATS message (binary or
 * structured mode, media types as RFC 9110 writes them), checks the CloudEvents attributes (ids,
 * the subject as its type requires: a cluster id unless the type says otherwise, the content
 * type), the data against the catalogue, and that the event came on its type's NATS subject.
 * A refusal names the field and carries the id, type and subject when they could be read.
 */
export function admitMessage(message: ReceivedMessage, options: AdmissionOptions = {}): AdmissionResult {
  const decoded = decodeMessage(message, options.maxBytes ?? DEFAULT_MAX_EVENT_BYTES);
  if (!decoded.ok) return decoded;
  const validated = validateEvent(decoded.event);
  if (!validated.ok) {
    const refusal: AdmissionFailure = { ...validated, ...readableAttributes(decoded.event) };
    return validated.code === 'unknown-type' && refusal.type !== undefined ? judgeUnknownType(refusal, refusal.type, message.natsSubject, options.prefix) : refusal;
  }
  if (options.prefix !== undefined && message.natsSubject !== undefined) {
    const expected = eventsSubject({ prefix: options.prefix }, validated.definition.channel);
    if (message.natsSubject !== expected) {
      return {
        ok: false,
        code: 'schema-invalid',
        reason: `type ${validated.event.type} must be published on ${expected}, not ${message.natsSubject}`,
        ...readableAttributes(decoded.event),
      };
    }
  }
  return validated;
}

/**
 * An unknown type is one of three things. Another version of a known type (`cluster.requested.v2`
 * where v1 is known): its data may mean something else, so it is refused with a reason naming the
 * versions known, and can be replayed once the consumer knows it. A type published on a known
 * type's subject: mislabelled, refused. Anything else: a newer producer's type (`newerType`).
 */
function judgeUnknownType(refusal: AdmissionFailure, type: string, natsSubject: string | undefined, prefix: string | undefined): AdmissionFailure {
  const version = /^(.+)\.v(\d+)$/.exec(type.startsWith(CLOUDEVENT_TYPE_PREFIX) ? type.slice(CLOUDEVENT_TYPE_PREFIX.length) : '');
  if (version) {
    const [, topic, number] = version;
    const known = EVENT_CATALOGUE.filter((definition) => definition.channel === `${topic}.v${definition.version}`);
    if (known.length > 0) {
      const versions = known.map((definition) => `v${definition.version}`).join(', ');
      return { ...refusal, reason: `version ${number} of ${topic} is not known to this consumer (it knows ${versions}): replay the dead letter once it is upgraded` };
    }
  }
  if (natsSubject !== undefined && prefix !== undefined && EVENT_CATALOGUE.some((definition) => eventsSubject({ prefix }, definition.channel) === natsSubject)) {
    return { ...refusal, reason: `${refusal.reason}, published on ${natsSubject}, the subject of a known type` };
  }
  return { ...refusal, newerType: true };
}

/** The attributes a refused event did carry, as far as they are strings. */
function readableAttributes(event: Record<string, unknown>): Pick<AdmissionFailure, 'id' | 'type' | 'subject'> {
  const known: Pick<AdmissionFailure, 'id' | 'type' | 'subject'> = {};
  if (typeof event['id'] === 'string' && event['id'] !== '') known.id = event['id'];
  if (typeof event['type'] === 'string' && event['type'] !== '') known.type = event['type'];
  if (typeof event['subject'] === 'string' && event['subject'] !== '') known.subject = event['subject'];
  return known;
}

/** One line per problem, each naming the field path. */
export function describeIssues(error: z.ZodError, root?: string): string {
  return error.issues
    .map((issue) => {
      const path = [...(root ? [root] : []), ...issue.path.map(String)].join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}
