import { auditStreamSettings, deadLetterStreamSettings, describePlacement, eventsStreamSettings, replayStreamSettings, STREAM_OWNER, type StreamPlacement, type StreamSettings } from '@flotilla/contracts';

// Consumer naming is part of the contract: the NATS permissions generated from the catalogue name the durables.
export { durableName } from '@flotilla/contracts';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { BusOptions } from './options.js';

const MS_NS = 1_000_000;

function toStreamConfig(settings: StreamSettings): Partial<StreamConfig> & { name: string } {
  return {
    name: settings.name,
    subjects: settings.subjects,
    retention: RetentionPolicy.Limits,
    storage: settings.storage === 'memory' ? StorageType.Memory : StorageType.File,
    max_age: settings.max_age_ns,
    max_bytes: settings.max_bytes,
    max_msg_size: settings.max_msg_size,
    duplicate_window: settings.duplicate_window_ns,
    num_replicas: settings.num_replicas,
    ...(settings.placement ? { placement: jetStreamPlacement(settings.placement) } : {}),
    discard: DiscardPolicy.Old,
  };
}

/** How many replicas every stream and bucket has, and where they are placed. */
export type StreamLayout = Pick<BusOptions, 'replicas' | 'placement'>;

/** A stream or bucket refused for its replicas or placement: says which variable to change, and how. */
export class BusLayoutError extends Error {
  override readonly name = 'BusLayoutError';
}

const REPLICAS_NOT_SUPPORTED = 10074;
const NO_SUITABLE_PEERS = 10005;
const INSUFFICIENT_RESOURCES = 10023;

/**
 * JetStream's refusal of a stream or bucket (`what`) for its replica count or placement, said in
 * terms of the variables that set them (BUS_REPLICAS, BUS_PLACEMENT_CLUSTER, BUS_PLACEMENT_TAGS);
 * any other error is returned as it is.
 */
export function explainLayoutRefusal(error: unknown, what: string, layout: StreamLayout): unknown {
  if (!(error instanceof JetStreamApiError)) return error;
  const { replicas, placement } = layout;
  if (error.code === REPLICAS_NOT_SUPPORTED || /replicas > 1 not supported in non-clustered mode/i.test(error.message)) {
    return new BusLayoutError(
      `BUS_REPLICAS is ${replicas}, but the NATS server is a single server, not a JetStream cluster, and refuses ${what} with more than one replica (${error.message}): ` +
        'set BUS_REPLICAS=1 on a single server, or give NATS_URL the servers of a JetStream cluster with at least that many nodes',
      { cause: error },
    );
  }
  if (error.code === NO_SUITABLE_PEERS || error.code === INSUFFICIENT_RESOURCES || /no suitable peers|insufficient resources/i.test(error.message)) {
    const where = placement ? ` placed on ${describePlacement(placement)} (BUS_PLACEMENT_CLUSTER, BUS_PLACEMENT_TAGS)` : '';
    return new BusLayoutError(
      `JetStream finds no ${replicas} server(s) to hold ${what} at ${replicas} replica(s)${where} (${error.message}): ` +
        (placement ? 'check that the cluster name and server_tags of enough servers match the placement, or lower BUS_REPLICAS' : 'lower BUS_REPLICAS to the servers the cluster has'),
      { cause: error },
    );
  }
  return error;
}

/** The placement in the form the JetStream client takes (a key-value bucket's `placement`). */
export function jetStreamPlacement(placement: StreamPlacement | undefined): { cluster: string; tags: string[] } | undefined {
  return placement ? { cluster: placement.cluster ?? '', tags: placement.tags ?? [] } : undefined;
}

/** The `placement` option of a key-value bucket made with `Kvm.create`, or nothing when none is asked for. */
export function bucketPlacement(layout: StreamLayout): { placement?: { cluster: string; tags: string[] } } {
  const placement = jetStreamPlacement(layout.placement);
  return placement ? { placement } : {};
}

/**
 * Creates the events, dead-letter and replay streams when they are missing; the stream owner (the
 * inventory) also brings existing ones up to date. Idempotent.
 */
export async function ensureStreams(jsm: JetStreamManager, options: Pick<BusOptions, 'prefix' | 'service' | 'replicas' | 'placement' | 'streamMaxBytes'>): Promise<void> {
  const sizing = { replicas: options.replicas, placement: options.placement, maxBytes: options.streamMaxBytes };
  await ensureStreamSettings(
    jsm,
    [eventsStreamSettings(options, sizing), deadLetterStreamSettings(options, sizing), replayStreamSettings(options, sizing)],
    options.service === STREAM_OWNER,
    options,
  );
}

/**
 * Creates the audit stream, or brings its settings up to date: the job of the service that reads
 * it (the inventory). Services that only publish records cannot change it; until it exists their
 * records wait in their own tables.
 */
export async function ensureAuditStream(jsm: JetStreamManager, options: Pick<BusOptions, 'prefix' | 'replicas' | 'placement' | 'streamMaxBytes'>): Promise<void> {
  await ensureStreamSettings(jsm, [auditStreamSettings(options, { replicas: options.replicas, placement: options.placement, maxBytes: options.streamMaxBytes })], true, options);
}

async function ensureStreamSettings(jsm: JetStreamManager, all: StreamSettings[], mayUpdate: boolean, layout: StreamLayout): Promise<void> {
  for (const settings of all) {
    const config = toStreamConfig(settings);
    try {
      await jsm.streams.info(config.name);
      if (!mayUpdate) continue;
      const { name, ...update } = config;
      await jsm.streams.update(name, update).catch((error: unknown) => {
        throw explainLayoutRefusal(error, `stream ${name}`, layout);
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await jsm.streams.add(config);
      } catch (addError) {
        // Another replica created it between our lookup and our add.
        if (!isAlreadyInUse(addError)) throw explainLayoutRefusal(addError, `stream ${config.name}`, layout);
      }
    }
  }
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubject: string;
}

/**
 * A durable pull consumer shared by every replica of a service. Explicit acks. The server never
 * gives up on a message (`max_deliver` -1): giving up is the consumer's decision, which
 * dead-letters a failing event on its `maxDeliver`-th delivery, so nothing silently disappears
 * after an outage.
 */
export async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec, options: BusOptions): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: spec.durable,
    filter_subject: spec.filterSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: options.ackWaitMs * MS_NS,
    max_deliver: -1,
    max_ack_pending: Math.max(1000, options.batchSize * 20),
  };
  try {
    await jsm.consumers.info(spec.stream, spec.durable);
    await jsm.consumers.update(spec.stream, spec.durable, {
      ack_wait: config.ack_wait,
      max_deliver: config.max_deliver,
      max_ack_pending: config.max_ack_pending,
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    try {
      await jsm.consumers.add(spec.stream, config);
    } catch (addError) {
      if (!isAlreadyInUse(addError)) throw addError;
    }
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.status === 404;
}

function isAlreadyInUse(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === 10058 || error.code === 10148 || error.code === 10013);
}
