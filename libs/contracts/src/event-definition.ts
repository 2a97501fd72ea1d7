import type { z } from 'zod';

/** The services that emit or consume events on the Flotilla bus. */
export const SERVICES = ['inventory', 'provisioner', 'importer', 'upgrade-planner', 'tunnel-broker'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Anyone outside Flotilla that publishes on the bus (other platform services, operators' tools). */
export const EXTERNAL = 'external' as const;
export type Party = ServiceName | typeof EXTERNAL;

/**
 * What the CloudEvents `subject` of an event names, checked by `validateEvent`: a cluster id
 * (`ClusterId`, the default), an upgrade plan id (`PlanId`), or anything non-empty (EventRejected
 * repeats the subject of whatever it rejected).
 */
export const SUBJECT_KINDS = ['cluster', 'plan', 'any'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

/**
 * One event of the bus, defined once. Its schema is the single source of truth: the TypeScript
 * type, the JSON Schema file and the AsyncAPI message are all derived from it.
 */
export interface EventDefinition<TName extends string = string, TData extends z.ZodType = z.ZodType> {
  /** PascalCase name used in code and docs, e.g. `ClusterRequested`. */
  readonly name: TName;
  /** CloudEvents `type`, stable and versioned, e.g. `io.flotilla.cluster.requested.v1`. */
  readonly type: string;
  /** The subject token after the events prefix, e.g. `cluster.requested.v1`. */
  readonly channel: string;
  readonly version: number;
  readonly description: string;
  readonly data: TData;
  /** Who may emit it and who reads it: documentation, and the AsyncAPI operations. */
  readonly producers: readonly Party[];
  readonly consumers: readonly Party[];
  /** What the CloudEvents `subject` names; absent means a cluster id. */
  readonly subject?: SubjectKind;
}

export interface EventSpec<TName extends string, TData extends z.ZodType> {
  name: TName;
  /** Dotted aggregate and verb, e.g. `cluster.requested`. */
  topic: string;
  version: number;
  description: string;
  data: TData;
  producers: readonly Party[];
  consumers: readonly Party[];
  /** What the CloudEvents `subject` names; a cluster id unless said otherwise. */
  subject?: SubjectKind;
}

export const CLOUDEVENT_TYPE_PREFIX = 'io.flotilla.';

export function defineEvent<TName extends string, TData extends z.ZodType>(
  spec: EventSpec<TName, TData>,
): EventDefinition<TName, TData> {
  if (!/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/.test(spec.topic)) {
    throw new Error(`event ${spec.name}: topic "${spec.topic}" must be dotted lower-case words`);
  }
  const channel = `${spec.topic}.v${spec.version}`;
  return Object.freeze({
    name: spec.name,
    type: `${CLOUDEVENT_TYPE_PREFIX}${channel}`,
    channel,
    version: spec.version,
    description: spec.description,
    data: spec.data,
    producers: spec.producers,
    consumers: spec.consumers,
    subject: spec.subject ?? 'cluster',
  });
}

/** The `data` type of an event definition. */
export type EventData<D extends EventDefinition> = z.infer<D['data']>;
