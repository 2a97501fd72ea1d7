/**
 * NATS users and their permissions, derived from the catalogue: each service may publish only
 * the events it produces, its own dead letters and audit records, and reach the JetStream API
 * only for the streams and durable consumers it uses. Rendered as a nats-server configuration
 * (`deploy/nats/flotilla-nats.conf`); passwords are `$VARIABLE` references, never values.
 */
import { consumerDurables, producedBy } from './catalogue.js';
import { SERVICES, type EventDefinition, type ServiceName } from './event-definition.js';
import { ClusterRequested } from './events/cluster.js';
import {
  auditSubject,
  authBucketName,
  bucketStreamName,
  deadLetterSubject,
  eventsSubject,
  AUTH_BUCKET_KEYS,
  INVENTORY_AUDIT_DURABLE,
  INVENTORY_DEAD_LETTERS_DURABLE,
  replaySubject,
  serviceInboxPrefix,
  serviceKeyName,
  STREAM_OWNER,
  streamName,
  supportMatrixBucketName,
  tunnelSessionsBucketName,
  type BusNaming,
} from './streams.js';

export interface NatsUser {
  user: string;
  /** The environment variable nats-server reads the password from. */
  passwordVariable: string;
  publish: string[];
  subscribe: string[];
}

/** The example user of an outside platform service (it requests clusters, nothing else). */
export const OUTSIDE_PUBLISHER = 'outside-publisher';

/** The token issuer writes the keys and revocations of the authentication bucket; every service reads it. */
const AUTH_BUCKET_WRITER: ServiceName = 'inventory';
const SUPPORT_MATRIX_WRITER: ServiceName = 'upgrade-planner';
const TUNNEL_SESSIONS_OWNER: ServiceName = 'tunnel-broker';
/** Lists dead letters and replays them (the operators' dead-letter API). */
const DEAD_LETTER_ADMIN: ServiceName = 'inventory';

/** `FLOTILLA_NATS_<USER>_PASSWORD`, e.g. `FLOTILLA_NATS_UPGRADE_PLANNER_PASSWORD`. */
export function natsPasswordVariable(user: string): string {
  return `FLOTILLA_NATS_${user.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD`;
}

const API = '$JS.API';

/** Creating a missing stream and reading its state; changing it is for its owner (`update`). */
function streamAdmin(stream: string, update: boolean): string[] {
  return [`${API}.STREAM.INFO.${stream}`, `${API}.STREAM.CREATE.${stream}`, ...(update ? [`${API}.STREAM.UPDATE.${stream}`] : [])];
}

/** One named durable pull consumer: create or update it, read its state, pull and ack. */
function durableConsumer(stream: string, durable: string): string[] {
  return [
    `${API}.CONSUMER.INFO.${stream}.${durable}`,
    `${API}.CONSUMER.CREATE.${stream}.${durable}`,
    `${API}.CONSUMER.CREATE.${stream}.${durable}.>`,
    `${API}.CONSUMER.DURABLE.CREATE.${stream}.${durable}`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.${durable}`,
    `$JS.ACK.${stream}.${durable}.>`,
  ];
}

/**
 * Reading a key-value bucket: its state, single entries (direct or through the API) and
 * watchers, which are ephemeral ordered consumers with generated names (and flow control).
 */
function bucketReader(bucket: string): string[] {
  const stream = bucketStreamName(bucket);
  return [
    `${API}.STREAM.INFO.${stream}`,
    `${API}.STREAM.MSG.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}`,
    `${API}.DIRECT.GET.${stream}.>`,
    `${API}.CONSUMER.CREATE.${stream}`,
    `${API}.CONSUMER.CREATE.${stream}.>`,
    `${API}.CONSUMER.INFO.${stream}.*`,
    `${API}.CONSUMER.DELETE.${stream}.*`,
    `${API}.CONSUMER.MSG.NEXT.${stream}.*`,
    `$JS.FC.${stream}.>`,
  ];
}

/** Every key of a bucket, and the bucket's stream. */
function bucketWriter(bucket: string): string[] {
  return [...streamAdmin(bucketStreamName(bucket), true), ...keyWriter(bucket, '>')];
}

/**
 * Writing keys of a bucket: a put, a delete and a purge are all publishes to `$KV.<bucket>.<key>`
 * (a delete or purge carries a `KV-Operation` header, a purge a rollup too), so the subject is
 * the whole of the permission.
 */
function keyWriter(bucket: string, key: string): string[] {
  return [`$KV.${bucket}.${key}`];
}

/**
 * The authentication bucket: the issuer writes the published keys (`jwks`) and revocations;
 * every service writes its own replicas' keys (`service-keys.<service>.>`) and no other's, so
 * a service can sign tokens as itself and as nobody else. Every service opens the bucket by
 * creating it when missing (any may start first); only the issuer may change its settings.
 */
function authBucketAccess(naming: BusNaming, service: ServiceName): string[] {
  const auth = authBucketName(naming);
  const ownKeys = keyWriter(auth, serviceKeyName(service, '>'));
  if (service !== AUTH_BUCKET_WRITER) return [...bucketReader(auth), `${API}.STREAM.CREATE.${bucketStreamName(auth)}`, ...ownKeys];
  return [
    ...bucketReader(auth),
    ...streamAdmin(bucketStreamName(auth), true),
    ...keyWriter(auth, AUTH_BUCKET_KEYS.jwks),
    ...keyWriter(auth, `${AUTH_BUCKET_KEYS.revokedPrefix}>`),
    ...ownKeys,
  ];
}

export function serviceNatsUser(naming: BusNaming, service: ServiceName): NatsUser {
  const events = streamName(naming, 'events');
  const durables = consumerDurables(service);
  const matrix = supportMatrixBucketName(naming);
  const tunnelSessions = tunnelSessionsBucketName(naming);
  const publish = [
    ...producedBy(service).map((definition) => eventsSubject(naming, definition.channel)),
    ...durables.map((durable) => deadLetterSubject(naming, durable)),
    auditSubject(naming, service),
    `${API}.INFO`,
    ...(['events', 'dlq', 'replay'] as const).flatMap((kind) => streamAdmin(streamName(naming, kind), service === STREAM_OWNER)),
    ...(service === STREAM_OWNER ? streamAdmin(streamName(naming, 'audit'), true) : []),
    ...durables.flatMap((durable) => durableConsumer(events, durable)),
    // A dead letter replayed to one of the service's consumers arrives on that durable of the replay stream.
    ...durables.flatMap((durable) => durableConsumer(streamName(naming, 'replay'), durable)),
    ...(service === 'inventory' ? durableConsumer(streamName(naming, 'audit'), INVENTORY_AUDIT_DURABLE) : []),
    // The dead-letter admin API: the inventory indexes the dead letters, reads one back and replays it to its consumer.
    ...(service === DEAD_LETTER_ADMIN
      ? [...durableConsumer(streamName(naming, 'dlq'), INVENTORY_DEAD_LETTERS_DURABLE), `${API}.STREAM.MSG.GET.${streamName(naming, 'dlq')}`, replaySubject(naming, '*')]
      : []),
    ...authBucketAccess(naming, service),
    ...bucketReader(matrix),
    ...(service === SUPPORT_MATRIX_WRITER ? bucketWriter(matrix) : []),
    // The broker's session registry is its own: no other service reads or makes it.
    ...(service === TUNNEL_SESSIONS_OWNER ? [...bucketReader(tunnelSessions), ...bucketWriter(tunnelSessions)] : []),
  ];
  return { user: service, passwordVariable: natsPasswordVariable(service), publish: [...new Set(publish)], subscribe: [`${serviceInboxPrefix(service)}.>`] };
}

/**
 * A publisher outside Flotilla, allowed to publish the given events (each must list `external`
 * among its producers) and to receive JetStream's acks in its own inbox (`_INBOX_<user>`).
 */
export function outsidePublisherUser(naming: BusNaming, user: string, events: readonly EventDefinition[]): NatsUser {
  for (const definition of events) {
    if (!definition.producers.includes('external')) throw new Error(`${definition.name} is not published from outside Flotilla (its producers: ${definition.producers.join(', ')})`);
  }
  return {
    user,
    passwordVariable: natsPasswordVariable(user),
    // JetStream clients read the account's JetStream status when they start.
    publish: [...events.map((definition) => eventsSubject(naming, definition.channel)), `${API}.INFO`],
    subscribe: [`${serviceInboxPrefix(user)}.>`],
  };
}

/** The five services and the example outside publisher. */
export function natsUsers(naming: BusNaming): NatsUser[] {
  return [...SERVICES.map((service) => serviceNatsUser(naming, service)), outsidePublisherUser(naming, OUTSIDE_PUBLISHER, [ClusterRequested])];
}

export interface NatsConfigOptions {
  /** Users besides the generated ones (tests add an administrator). */
  extraUsers?: readonly NatsUser[];
  /** Comment lines at the top. */
  header?: readonly string[];
}

const quote = (value: string): string => JSON.stringify(value);
const list = (values: readonly string[], indent: string): string => `[\n${values.map((value) => `${indent}  ${quote(value)}`).join(',\n')}\n${indent}]`;

/**
 * The nats-server configuration: JetStream on, and the users with their permissions. Each
 * password is read from its environment variable when the server starts; a missing variable
 * stops the server, so no user is ever left without a password.
 */
export function renderNatsConfig(naming: BusNaming, options: NatsConfigOptions = {}): string {
  const users = [...natsUsers(naming), ...(options.extraUsers ?? [])].map((user) =>
    [
      '    {',
      `      user: ${quote(user.user)}`,
      `      password: $${user.passwordVariable}`,
      '      permissions: {',
      `        publish: { allow: ${list(user.publish, '        ')} }`,
      `        subscribe: { allow: ${list(user.subscribe, '        ')} }`,
      '      }',
      '    }',
    ].join('\n'),
  );
  const header = (options.header ?? []).map((line) => `# ${line}`.trimEnd());
  return [...header, ...(header.length > 0 ? [''] : []), 'jetstream: enabled', '', 'authorization {', '  users = [', users.join(',\n'), '  ]', '}', ''].join('\n');
}
