import {
  ClusterDeleted,
  ClusterImported,
  ClusterReady,
  ClusterUpgraded,
  ClusterVersionChanged,
  createEvent,
  decodeMessage,
  eventsSubject,
  NodesProvisioned,
  streamName,
  validateEvent,
  type CloudEvent,
  type EventDefinition,
  type EventOf,
} from '@flotilla/contracts';
import type { Role } from '@flotilla/auth';
import { publishEvent, type BusConnection } from '@flotilla/messaging';
import { eventually } from '@flotilla/messaging/testing';
import type { TestService } from '@flotilla/service-kit/testing';
import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';

/** Every event of one type on the bus, decoded and validated as consumers do. */
export class EventLog<D extends EventDefinition> {
  private constructor(
    private readonly messages: ConsumerMessages,
    private readonly loop: Promise<void>,
    readonly events: EventOf<D>[],
    /** Reasons of events that would fail a consumer's validation. */
    readonly invalid: string[],
  ) {}

  static async open<D extends EventDefinition>(bus: BusConnection, prefix: string, definition: D): Promise<EventLog<D>> {
    const consumer = await bus.js.consumers.get(streamName({ prefix }, 'events'), { filter_subjects: eventsSubject({ prefix }, definition.channel), deliver_policy: DeliverPolicy.All });
    const messages = await consumer.consume();
    const events: EventOf<D>[] = [];
    const invalid: string[] = [];
    const loop = (async () => {
      for await (const message of messages) {
        const headers: Record<string, string> = {};
        for (const [key, values] of message.headers ?? []) if (values[0] !== undefined) headers[key] = values[0];
        const decoded = decodeMessage({ headers, payload: message.data });
        const validated = decoded.ok ? validateEvent(decoded.event) : undefined;
        if (validated?.ok) events.push(validated.event as EventOf<D>);
        else invalid.push(decoded.ok ? (validated && !validated.ok ? validated.reason : 'invalid') : decoded.reason);
      }
    })();
    return new EventLog<D>(messages, loop, events, invalid);
  }

  about(subject: string): EventOf<D>[] {
    return this.events.filter((event) => event.subject === subject);
  }

  /** The first event about `subject` matching `predicate`. */
  async waitFor(subject: string, predicate: (event: EventOf<D>) => boolean = () => true, timeoutMs = 15_000): Promise<EventOf<D>> {
    return eventually(() => this.about(subject).find(predicate), timeoutMs, `an event about ${subject}`);
  }

  async close(): Promise<void> {
    await this.messages.close();
    await this.loop;
  }
}

let clock = Date.UTC(2026, 10, 23, 12, 0, 0);
/** Strictly increasing event times, so facts published in order are also ordered in time. */
export function tick(): Date {
  clock += 1_000;
  return new Date(clock);
}

const meta = (subject: string) => ({ subject, source: '/tests/facts', time: tick() });

export const facts = {
  nodes: (id: string, model: 'platform-provisioned' | 'user-provisioned' | 'hosted-control-plane', nodes: { name: string; role: 'control-plane' | 'worker'; pool?: string; kubeletVersion: string }[]) =>
    createEvent(NodesProvisioned, meta(id), { model, nodes: nodes.map((node) => ({ addresses: [], ...node })) }),
  ready: (id: string, model: 'platform-provisioned' | 'user-provisioned' | 'hosted-control-plane', kubernetesVersion: string) =>
    createEvent(ClusterReady, meta(id), { model, kubernetesVersion, nodeCount: 2 }),
  imported: (id: string, distribution: 'eks' | 'vanilla', kubernetesVersion: string) =>
    createEvent(ClusterImported, meta(id), { name: id, distribution, kubernetesVersion, nodeCount: 3, capacity: { cpuCores: 12, memoryBytes: 48e9 }, warnings: [] }),
  versionChanged: (id: string, previousVersion: string, kubernetesVersion: string) => createEvent(ClusterVersionChanged, meta(id), { previousVersion, kubernetesVersion }),
  upgraded: (id: string, model: 'user-provisioned', fromVersion: string, toVersion: string) => createEvent(ClusterUpgraded, meta(id), { model, fromVersion, toVersion }),
  deleted: (id: string, model: 'user-provisioned') => createEvent(ClusterDeleted, meta(id), { model }),
};

/**
 * A mixed fleet built from facts, as the provisioner and importer would publish them:
 *   pp-1    platform-provisioned on 1.30, a worker pool on 1.27 (must move before 1.31)
 *   up-1    user-provisioned, upgraded from 1.30 to 1.31
 *   hcp-1   hosted control plane on 1.33, workers only
 *   eks-1   connected EKS on 1.30
 *   cncf-1  connected CNCF cluster, moved from 1.33 to 1.34 outside the platform
 *   gone-1  deleted: not in any plan
 */
export function mixedFleetFacts(): CloudEvent[] {
  return [
    facts.nodes('pp-1', 'platform-provisioned', [
      { name: 'pp-1-cp-0', role: 'control-plane', kubeletVersion: 'v1.30.4' },
      { name: 'pp-1-w-0', role: 'worker', pool: 'workers', kubeletVersion: 'v1.27.3' },
    ]),
    facts.ready('pp-1', 'platform-provisioned', 'v1.30.4'),
    facts.nodes('up-1', 'user-provisioned', [
      { name: 'up-1-cp-0', role: 'control-plane', kubeletVersion: 'v1.30.2' },
      { name: 'up-1-w-0', role: 'worker', pool: 'workers', kubeletVersion: 'v1.30.2' },
    ]),
    facts.ready('up-1', 'user-provisioned', 'v1.30.2'),
    facts.upgraded('up-1', 'user-provisioned', 'v1.30.2', 'v1.31.2'),
    facts.nodes('hcp-1', 'hosted-control-plane', [{ name: 'hcp-1-w-0', role: 'worker', pool: 'workers', kubeletVersion: 'v1.33.1' }]),
    facts.ready('hcp-1', 'hosted-control-plane', 'v1.33.1'),
    facts.imported('eks-1', 'eks', 'v1.30.9-eks-113cf36'),
    facts.imported('cncf-1', 'vanilla', 'v1.33.0'),
    facts.versionChanged('cncf-1', 'v1.33.0', 'v1.34.1'),
    facts.ready('gone-1', 'user-provisioned', 'v1.29.1'),
    facts.deleted('gone-1', 'user-provisioned'),
  ];
}

/** What the fleet view should show once the mixed fleet's facts are in. */
export const MIXED_FLEET_VERSIONS: Record<string, string> = {
  'cncf-1': 'v1.34.1',
  'eks-1': 'v1.30.9-eks-113cf36',
  'hcp-1': 'v1.33.1',
  'pp-1': 'v1.30.4',
  'up-1': 'v1.31.2',
};

export async function publishAll(bus: BusConnection, prefix: string, events: CloudEvent[]): Promise<void> {
  const definitions: EventDefinition[] = [NodesProvisioned, ClusterReady, ClusterImported, ClusterVersionChanged, ClusterUpgraded, ClusterDeleted];
  for (const event of events) {
    const definition = definitions.find((d) => d.type === event.type);
    if (!definition) throw new Error(`no definition for ${event.type}`);
    await publishEvent(bus.js, eventsSubject({ prefix }, definition.channel), event);
  }
}

/**
 * A request to the service with a token of `role`: viewer reads, operator asks for and closes
 * plans, admin replaces the support matrix.
 */
export async function call(service: Pick<TestService, 'url' | 'auth'>, path: string, init: RequestInit = {}, role: Role = 'viewer'): Promise<Response> {
  return fetch(`${service.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...(await service.auth(role)) } });
}

/** Waits until the planner's fleet view holds exactly these control-plane versions. */
export async function fleetShows(service: Pick<TestService, 'url' | 'auth'>, expected: Record<string, string>, timeoutMs = 15_000): Promise<void> {
  await eventually(
    async () => {
      const body = (await (await call(service, '/api/v1/fleet?limit=1000')).json()) as { items: { id: string; controlPlaneVersion: string }[] };
      const actual = body.items.map((c) => `${c.id}=${c.controlPlaneVersion}`).sort();
      const wanted = Object.entries(expected).map(([id, version]) => `${id}=${version}`).sort();
      return actual.join() === wanted.join() ? true : undefined;
    },
    timeoutMs,
    `fleet view ${JSON.stringify(expected)}`,
  );
}

export const json = (body: unknown, method = 'POST'): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
