import {
  CE_HEADER_PREFIX,
  CONTENT_TYPE_HEADER,
  DEAD_LETTER_HEADERS,
  DEFAULT_SUBJECT_PREFIX,
  deadLetterSubject,
  eventAttributesJsonSchema,
  eventDataJsonSchema,
  eventsStreamSettings,
  eventsSubject,
  NATS_MSG_ID_HEADER,
  RejectionCode,
  STRUCTURED_CONTENT_TYPE,
  streamName,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  type EventDefinition,
  type Party,
} from '../src/index.js';

/** What each party is, for the AsyncAPI tags; typed so a new service cannot be left out. */
const PARTIES: Record<Party, string> = {
  inventory: "The fleet read model and the operators' API",
  provisioner: 'Cluster and machine lifecycle for the platform-managed models',
  importer: 'Connected clusters and their credentials',
  'upgrade-planner': 'Upgrade plans under the version-compatibility policy',
  'tunnel-broker': 'Reverse tunnels to clusters the global side cannot reach',
  external: "Publishers and readers outside Flotilla: other platform services, operators' tools",
};

/** Attributes that the binding carries in a header of their own rather than `ce-<name>`. */
const HEADER_OF_ATTRIBUTE: Record<string, string> = {
  datacontenttype: CONTENT_TYPE_HEADER,
  traceparent: TRACEPARENT_HEADER,
  tracestate: TRACESTATE_HEADER,
};

const naming = { prefix: DEFAULT_SUBJECT_PREFIX };

/** AsyncAPI ids must match ^[a-zA-Z0-9.\-_]+$; the version keeps v1 and v2 of an event apart. */
export function messageId(definition: EventDefinition): string {
  return `${definition.name}V${definition.version}`;
}

/** The AsyncAPI 3.0 document of the bus. Key order is fixed by construction, so output is stable. */
export function asyncApiDocument(catalogue: readonly EventDefinition[], version: string): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};

  for (const definition of catalogue) {
    const id = messageId(definition);
    channels[id] = {
      address: eventsSubject(naming, definition.channel),
      title: definition.name,
      description: `${definition.description}\n\nCloudEvents type \`${definition.type}\`, stored in stream ${streamName(naming, 'events')}.`,
      messages: { [id]: { $ref: `#/components/messages/${id}` } },
    };
    messages[id] = {
      name: definition.name,
      title: definition.name,
      summary: definition.description,
      description:
        `Binary content mode: the CloudEvents attributes are NATS headers, \`data\` is the JSON payload. ` +
        `Structured mode is accepted too: \`${CONTENT_TYPE_HEADER}: ${STRUCTURED_CONTENT_TYPE}\` and the whole event as the payload ` +
        `(schemas/${definition.type}.json).`,
      contentType: 'application/json',
      headers: headersSchema(definition),
      payload: withoutDialect(eventDataJsonSchema(definition, 'draft-07')),
      'x-cloudevents-type': definition.type,
    };
    const channel = { $ref: `#/channels/${id}` };
    const message = { $ref: `#/channels/${id}/messages/${id}` };
    for (const party of definition.producers) {
      operations[`${party}.send.${id}`] = {
        action: 'send',
        channel,
        title: `${party} publishes ${definition.name}`,
        tags: [{ name: party }],
        messages: [message],
      };
    }
    for (const party of definition.consumers) {
      operations[`${party}.receive.${id}`] = {
        action: 'receive',
        channel,
        title: `${party} consumes ${definition.name}`,
        tags: [{ name: party }],
        messages: [message],
      };
    }
  }

  channels['deadLetters'] = {
    address: deadLetterSubject(naming, '{consumer}'),
    title: 'Dead letters',
    description:
      `Messages a consumer can never process, moved here with the reason (stream ${streamName(naming, 'dlq')}). ` +
      'The publisher learns of it from an EventRejected event.',
    parameters: { consumer: { description: 'The durable consumer that rejected the message' } },
    messages: { DeadLetter: { $ref: '#/components/messages/DeadLetter' } },
  };
  messages['DeadLetter'] = {
    name: 'DeadLetter',
    title: 'Dead letter',
    summary: 'A rejected message: the original headers and payload, plus why it was rejected.',
    headers: deadLetterHeadersSchema(),
    payload: { description: 'The original payload, byte for byte' },
  };

  const events = eventsStreamSettings(naming);
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Flotilla event bus',
      version,
      description: [
        'Domain events of the Flotilla control plane: CloudEvents 1.0 over NATS JetStream (the CloudEvents NATS protocol binding, binary content mode).',
        '',
        `- Subjects are \`<prefix>.events.<aggregate>.<verb>.v<N>\`; the addresses here use the default prefix \`${DEFAULT_SUBJECT_PREFIX}\`. Installations may use their own prefix.`,
        `- All events are stored in stream ${events.name} (subjects \`${events.subjects.join(', ')}\`). Publish with JetStream so the publish is acknowledged.`,
        `- Set \`${NATS_MSG_ID_HEADER}\` to the event id: JetStream drops a repeat within the ${events.duplicate_window_ns / 1e9 / 60}-minute duplicate window, so retrying a publish is safe.`,
        `- The CloudEvents \`subject\` is the cluster id the event is about, unless the event says otherwise.`,
        `- W3C trace context travels in the \`${TRACEPARENT_HEADER}\` and \`${TRACESTATE_HEADER}\` headers.`,
      ].join('\n'),
      tags: Object.entries(PARTIES).map(([name, description]) => ({ name, description })),
    },
    servers: {
      nats: {
        host: '{host}',
        protocol: 'nats',
        title: 'NATS with JetStream',
        description: "The installation's NATS server or cluster.",
        variables: { host: { default: 'localhost:4222', description: 'host:port of a NATS server of the installation' } },
      },
    },
    channels,
    operations,
    components: { messages },
  };
}

/** The binary-mode headers of one event type, derived from the attribute schema. */
function headersSchema(definition: EventDefinition): Record<string, unknown> {
  const attributes = eventAttributesJsonSchema(definition, 'draft-07') as { properties: Record<string, unknown>; required?: string[] };
  const header = (attribute: string) => HEADER_OF_ATTRIBUTE[attribute] ?? `${CE_HEADER_PREFIX}${attribute}`;
  const properties: Record<string, unknown> = {};
  for (const [attribute, schema] of Object.entries(attributes.properties)) properties[header(attribute)] = schema;
  properties[NATS_MSG_ID_HEADER] = {
    type: 'string',
    minLength: 1,
    description: `Equal to ${CE_HEADER_PREFIX}id: JetStream de-duplicates on it`,
  };
  return {
    type: 'object',
    properties,
    required: [...(attributes.required ?? []).map(header), NATS_MSG_ID_HEADER],
  };
}

function deadLetterHeadersSchema(): Record<string, unknown> {
  const descriptions: Record<keyof typeof DEAD_LETTER_HEADERS, string> = {
    reason: 'Why the message was rejected, for humans',
    code: `Rejection code, one of ${RejectionCode.options.join(', ')}`,
    consumer: 'The durable consumer that rejected it',
    originalSubject: 'The subject the message was published on',
    originalStreamSequence: 'Its sequence in the events stream',
    deliveries: 'How many times it was delivered before it was rejected',
    replayOf: 'On a dead letter of a replayed message only: the sequence, in the dead-letter stream, of the dead letter that was replayed',
  };
  const properties: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(DEAD_LETTER_HEADERS)) {
    properties[name] = { type: 'string', description: descriptions[key as keyof typeof DEAD_LETTER_HEADERS] };
  }
  return {
    type: 'object',
    description: 'The original message headers (ce-*, Nats-Msg-Id, traceparent...) are kept, and these added.',
    properties,
    required: Object.values(DEAD_LETTER_HEADERS).filter((name) => name !== DEAD_LETTER_HEADERS.replayOf),
  };
}

function withoutDialect(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}
