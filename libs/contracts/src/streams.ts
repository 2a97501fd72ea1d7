import type { StreamPlacement } from './placement.js';

/**
 * Subject naming and stream settings of the bus, in one place.
 *
 *   <prefix>.events.<aggregate>.<verb>.v<N>   domain events, stream <STREAM>_EVENTS
 *   <prefix>.dlq.<consumer>                   dead letters, stream <STREAM>_DLQ
 *   <prefix>.replay.<consumer>                dead letters sent back to the consumer that refused them, stream <STREAM>_REPLAY
 *   <prefix>.audit.<service>                  audit records of each service's API, stream <STREAM>_AUDIT
 *   KV bucket <prefix>_auth                   the token issuer's public keys (`jwks`), revocations (`revoked.<jti>`)
 *                                             and each service replica's own key (`service-keys.<service>.<replica>`)
 *   KV bucket <prefix>_tunnel_sessions        the tunnel broker's registry of agent sessions (the broker's alone)
 *
 * The prefix defaults to `flotilla`; tests and side-by-side installations use their own so their
 * streams never overlap.
 */
export const DEFAULT_SUBJECT_PREFIX = 'flotilla';

export interface BusNaming {
  /** Lower-case subject prefix, e.g. `flotilla`. */
  prefix: string;
}

export function eventsSubject(naming: BusNaming, channel: string): string {
  return `${naming.prefix}.events.${channel}`;
}

export function allEventsSubject(naming: BusNaming): string {
  return `${naming.prefix}.events.>`;
}

export function deadLetterSubject(naming: BusNaming, consumer: string): string {
  return `${naming.prefix}.dlq.${consumer}`;
}

/**
 * Where a dead letter goes back to the one consumer that refused it (the inventory's replay API):
 * not the events stream, where every other consumer would see the event again and its id would
 * be dropped as a duplicate within the duplicate window.
 */
export function replaySubject(naming: BusNaming, consumer: string): string {
  return `${naming.prefix}.replay.${consumer}`;
}

/** Where a service publishes the audit records of its API (a SIEM may subscribe to `<prefix>.audit.>`). */
export function auditSubject(naming: BusNaming, service: string): string {
  return `${naming.prefix}.audit.${service}`;
}

export function allAuditSubject(naming: BusNaming): string {
  return `${naming.prefix}.audit.>`;
}

/**
 * The key-value bucket of API authentication: the issuer's public keys under `jwks`, revoked
 * token ids under `revoked.<jti>`, both written only by the inventory (the token issuer); and
 * the public key each replica of a service signs its own tokens with, under
 * `service-keys.<service>.<replica>`, written only by that service.
 */
export function authBucketName(naming: BusNaming): string {
  return `${naming.prefix}_auth`;
}

export const AUTH_BUCKET_KEYS = {
  jwks: 'jwks',
  revokedPrefix: 'revoked.',
  serviceKeysPrefix: 'service-keys.',
} as const;

/** The authentication bucket's key of one service replica's public key. */
export function serviceKeyName(service: string, replica: string): string {
  return `${AUTH_BUCKET_KEYS.serviceKeysPrefix}${service}.${replica}`;
}

/** The tunnel broker's registry of agent sessions, shared by its replicas; no other service reads it. */
export function tunnelSessionsBucketName(naming: BusNaming): string {
  return `${naming.prefix}_tunnel_sessions`;
}

/** The key-value bucket of the version policy's support matrix; only the upgrade planner writes it. */
export function supportMatrixBucketName(naming: BusNaming): string {
  return `${naming.prefix}_support_matrix`;
}

/**
 * Keys of the support-matrix bucket: the matrix revisions under `matrix` (JSON, SupportMatrixDocument)
 * and the platform release the global cluster runs under `platform-release` (JSON, `{ "release": "4.3" }`).
 * Every service judges against both; only the upgrade planner writes them.
 */
export const SUPPORT_MATRIX_BUCKET_KEYS = {
  matrix: 'matrix',
  platformRelease: 'platform-release',
} as const;

/** The stream behind a key-value bucket (the KV convention): `KV_<bucket>`. */
export function bucketStreamName(bucket: string): string {
  return `KV_${bucket}`;
}

/**
 * The durable consumer of a service's handlers of one pattern (a channel, or `>` for every
 * event), shared by every replica. Durable names cannot contain `.`, `*` or `>`.
 */
export function durableName(service: string, pattern: string): string {
  const suffix = pattern === '>' ? 'all' : pattern.replace(/\.>$/, '.all').replace(/[.*>]/g, '_');
  return `${service}__${suffix}`;
}

/** The inventory's durable consumer of the audit stream (the fleet-wide audit list). */
export const INVENTORY_AUDIT_DURABLE = 'inventory-audit';

/** The inventory's durable consumer of the dead-letter stream (the dead-letter admin API). */
export const INVENTORY_DEAD_LETTERS_DURABLE = 'inventory-dead-letters';

/**
 * The service that brings the bus's streams up to date (sizes, ages, replicas) and makes the
 * audit stream. Any service creates the events and dead-letter streams when they are missing,
 * since any may start first, but none other may change them.
 */
export const STREAM_OWNER = 'inventory';

/**
 * Where a service's NATS replies arrive (`<inbox prefix>.<random>`): one prefix per service, so
 * a service may subscribe to its own replies and nobody else's.
 */
export function serviceInboxPrefix(service: string): string {
  return `_INBOX_${service}`;
}

export function streamName(naming: BusNaming, kind: 'events' | 'dlq' | 'replay' | 'audit'): string {
  return `${naming.prefix.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${kind.toUpperCase()}`;
}

/** JetStream stream settings, in the units of the JetStream API (nanoseconds for durations). */
export interface StreamSettings {
  name: string;
  subjects: string[];
  retention: 'limits';
  storage: 'file' | 'memory';
  /** How long events are kept: long enough for a service that was down to catch up, and to replay. */
  max_age_ns: number;
  max_bytes: number;
  max_msg_size: number;
  /** Window within which a repeated `Nats-Msg-Id` is dropped: covers outbox relay retries. */
  duplicate_window_ns: number;
  /** 1 on a single server; 3 on a clustered NATS (R3). */
  num_replicas: number;
  /** Which servers hold the replicas (BUS_PLACEMENT_CLUSTER, BUS_PLACEMENT_TAGS); absent: any. */
  placement?: StreamPlacement;
  discard: 'old';
}

const SECOND_NS = 1_000_000_000;
export const DEFAULT_EVENTS_MAX_BYTES = 1024 ** 3;
const DAY_NS = 86_400 * SECOND_NS;

export interface StreamOptions {
  replicas?: number;
  placement?: StreamPlacement | undefined;
  /**
   * Size cap of the events stream. JetStream reserves a file stream's max_bytes on the server
   * up front, so the default is modest; size it to the fleet (the dead-letter stream gets a
   * quarter).
   */
  maxBytes?: number;
  storage?: 'file' | 'memory';
}

export function eventsStreamSettings(naming: BusNaming, options: StreamOptions = {}): StreamSettings {
  return {
    name: streamName(naming, 'events'),
    subjects: [allEventsSubject(naming)],
    retention: 'limits',
    storage: options.storage ?? 'file',
    max_age_ns: 7 * DAY_NS,
    max_bytes: options.maxBytes ?? DEFAULT_EVENTS_MAX_BYTES,
    max_msg_size: 1024 * 1024,
    duplicate_window_ns: 10 * 60 * SECOND_NS,
    num_replicas: options.replicas ?? 1,
    ...(options.placement ? { placement: options.placement } : {}),
    discard: 'old',
  };
}

export function deadLetterStreamSettings(naming: BusNaming, options: StreamOptions = {}): StreamSettings {
  return {
    name: streamName(naming, 'dlq'),
    subjects: [`${naming.prefix}.dlq.>`],
    retention: 'limits',
    storage: options.storage ?? 'file',
    max_age_ns: 30 * DAY_NS,
    max_bytes: Math.max(16 * 1024 ** 2, Math.floor((options.maxBytes ?? DEFAULT_EVENTS_MAX_BYTES) / 4)),
    // A dead letter carries the original payload, which may itself be over the events limit.
    max_msg_size: 8 * 1024 * 1024,
    duplicate_window_ns: 10 * 60 * SECOND_NS,
    num_replicas: options.replicas ?? 1,
    ...(options.placement ? { placement: options.placement } : {}),
    discard: 'old',
  };
}

/** Replayed dead letters: each waits for its consumer, which takes it within seconds; a week covers a consumer that is down. */
export function replayStreamSettings(naming: BusNaming, options: StreamOptions = {}): StreamSettings {
  return {
    ...deadLetterStreamSettings(naming, options),
    name: streamName(naming, 'replay'),
    subjects: [`${naming.prefix}.replay.>`],
    max_age_ns: 7 * DAY_NS,
  };
}

/** The audit stream: records are small and kept 90 days; a SIEM may also keep its own copy. */
export function auditStreamSettings(naming: BusNaming, options: StreamOptions = {}): StreamSettings {
  return {
    name: streamName(naming, 'audit'),
    subjects: [allAuditSubject(naming)],
    retention: 'limits',
    storage: options.storage ?? 'file',
    max_age_ns: 90 * DAY_NS,
    max_bytes: Math.max(16 * 1024 ** 2, Math.floor((options.maxBytes ?? DEFAULT_EVENTS_MAX_BYTES) / 4)),
    max_msg_size: 64 * 1024,
    duplicate_window_ns: 10 * 60 * SECOND_NS,
    num_replicas: options.replicas ?? 1,
    ...(options.placement ? { placement: options.placement } : {}),
    discard: 'old',
  };
}

/** Headers a dead letter carries besides the original message's own. */
export const DEAD_LETTER_HEADERS = {
  reason: 'Flotilla-Rejection-Reason',
  code: 'Flotilla-Rejection-Code',
  consumer: 'Flotilla-Rejected-By',
  originalSubject: 'Flotilla-Original-Subject',
  originalStreamSequence: 'Flotilla-Original-Sequence',
  deliveries: 'Flotilla-Deliveries',
  /** On a replayed dead letter: the dead letter's sequence in the dead-letter stream. */
  replayOf: 'Flotilla-Replay-Of',
} as const;
