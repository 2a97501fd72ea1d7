import { SERVICES, type EventDefinition, type Party, type ServiceName } from './event-definition.js';
import type { CloudEvent, EventOf } from './envelope.js';
import {
  ClusterAdopted,
  ClusterDeleted,
  ClusterDeletionRequested,
  ClusterProgress,
  ClusterProvisioningFailed,
  ClusterReady,
  ClusterRequested,
  ClusterUpgraded,
  ClusterVersionChanged,
  MachineReplaced,
  NodePoolScaled,
  NodeUnhealthy,
  NodePoolScaleRequested,
  NodesProvisioned,
  UpgradeStepApproved,
  UpgradeStepFailed,
} from './events/cluster.js';
import {
  ClusterImported,
  ClusterImportRequested,
  ClusterReachable,
  ClusterUnreachable,
  ImportRejected,
  TunnelConnected,
  TunnelDisconnected,
  TunnelRegistrationIssued,
  TunnelRegistrationRedeemed,
  TunnelRegistrationRevoked,
} from './events/connected.js';
import { EventRejected } from './events/rejected.js';
import { UpgradePlanned, UpgradePlanRequested } from './events/upgrade.js';
import { durableName } from './streams.js';

/** Every event of the bus. Adding an event means adding it here; generation and docs follow. */
export const EVENT_CATALOGUE = [
  ClusterRequested,
  NodesProvisioned,
  ClusterReady,
  ClusterProvisioningFailed,
  MachineReplaced,
  NodeUnhealthy,
  ClusterUpgraded,
  ClusterVersionChanged,
  ClusterDeleted,
  NodePoolScaleRequested,
  NodePoolScaled,
  ClusterProgress,
  ClusterDeletionRequested,
  UpgradeStepApproved,
  UpgradeStepFailed,
  ClusterImportRequested,
  ClusterImported,
  ClusterAdopted,
  ImportRejected,
  ClusterUnreachable,
  ClusterReachable,
  TunnelConnected,
  TunnelDisconnected,
  TunnelRegistrationIssued,
  TunnelRegistrationRevoked,
  TunnelRegistrationRedeemed,
  UpgradePlanRequested,
  UpgradePlanned,
  EventRejected,
] as const satisfies readonly EventDefinition[];

export type AnyEventDefinition = (typeof EVENT_CATALOGUE)[number];

const byType = new Map<string, EventDefinition>(EVENT_CATALOGUE.map((definition) => [definition.type, definition]));

export function findDefinition(type: string): EventDefinition | undefined {
  return byType.get(type);
}

/**
 * Services that read every event with one catch-all consumer (`@OnAnyEvent`: the inventory's
 * read model). They are listed among the consumers of every event, and their one durable
 * consumer replaces one per event.
 */
export const WHOLE_BUS_CONSUMERS: readonly ServiceName[] = ['inventory'];

export function isService(name: string): name is ServiceName {
  return (SERVICES as readonly string[]).includes(name);
}

/** The events a party may publish. The messaging runtime refuses to emit any other. */
export function producedBy(party: Party): AnyEventDefinition[] {
  return EVENT_CATALOGUE.filter((definition) => definition.producers.includes(party));
}

export function consumedBy(party: Party): AnyEventDefinition[] {
  return EVENT_CATALOGUE.filter((definition) => definition.consumers.includes(party));
}

/**
 * The durable consumers a service's handlers create on the events stream: one per event it
 * consumes, or one for every event. Its dead letters go to `<prefix>.dlq.<durable>`.
 */
export function consumerDurables(service: ServiceName): string[] {
  if (WHOLE_BUS_CONSUMERS.includes(service)) return [durableName(service, '>')];
  return consumedBy(service).map((definition) => durableName(service, definition.channel));
}

/**
 * A validated event tagged with its definition's name: a discriminated union, so consumers can
 * `switch (known.name)` and have the compiler check that every event is considered.
 */
export type KnownEvent = {
  [D in AnyEventDefinition as D['name']]: { name: D['name']; event: EventOf<D> };
}[AnyEventDefinition['name']];

/** Tags an event (already validated against the catalogue) with its definition's name. */
export function classify(event: CloudEvent): KnownEvent | undefined {
  const definition = byType.get(event.type) as AnyEventDefinition | undefined;
  return definition ? ({ name: definition.name, event } as KnownEvent) : undefined;
}
