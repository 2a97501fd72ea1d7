import { ClusterRequested, createEvent, decodeMessage, eventsSubject, streamName, validateEvent, type ClusterSpec, type CloudEvent, type EventData, type EventDefinition, type EventOf } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { TEST_NATS_URL, deleteTestStreams, eventually } from '@flotilla/messaging/testing';
import { Clock } from '@flotilla/service-kit';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { DataSource } from 'typeorm';
import { ProvisionerModule } from '../../src/provisioner.module.js';
import { provisionerService } from '../../src/service.js';

export { eventually };

/** A valid platform-provisioned request: 1 control plane, one pool of 2. */
export function clusterSpec(overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    name: 'edge',
    model: 'platform-provisioned',
    kubernetesVersion: '1.34',
    controlPlane: { count: 1, machineSize: 'cp-large' },
    nodePools: [{ name: 'workers', count: 2, machineSize: 'm-xlarge', labels: {}, taints: [] }],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    ...overrides,
  };
}

export function requestEvent(clusterId: string, spec: ClusterSpec, id?: string): EventOf<typeof ClusterRequested> {
  return createEvent(ClusterRequested, { subject: clusterId, source: '/tests/provisioner', ...(id ? { id } : {}) }, spec);
}

/** A clock the test moves forward, to cross timeouts and lifetimes without waiting for them. */
export class TestClock extends Clock {
  private offsetMs = 0;

  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** The provisioner on the test's clock (pass it to `Harness.start`). */
export function onClock(clock: Clock): typeof provisionerService {
  return { ...provisionerService, module: (config) => ProvisionerModule.register(config, { clock }) };
}

/** A provisioner instance plus what a test needs around it: the bus and a view of its schema. */
export class Harness {
  private constructor(
    readonly service: TestService,
    readonly bus: BusConnection,
    readonly db: DataSource,
  ) {}

  static async start(env: Record<string, string> = {}, definition: typeof provisionerService = provisionerService): Promise<Harness> {
    const service = await startTestService(definition, { SIM_BOOT_MS: '50', RECONCILE_IDLE_MS: '20', MACHINE_POLL_MS: '50', ...env });
    const bus = await BusConnection.open(TEST_NATS_URL, 'provisioner-test');
    const db = await new DataSource({
      type: 'postgres',
      url: service.env['DATABASE_URL']!,
      extra: { options: `-c search_path=${service.env['DATABASE_SCHEMA']}`, max: 2 },
    }).initialize();
    return new Harness(service, bus, db);
  }

  get prefix(): string {
    return this.service.env['BUS_PREFIX']!;
  }

  /** Another replica: same schema, same bus prefix. */
  async replica(env: Record<string, string> = {}): Promise<TestService> {
    return startTestService(provisionerService, { ...this.service.env, PORT: '0', ...env });
  }

  async request(clusterId: string, spec: ClusterSpec = clusterSpec(), id?: string): Promise<EventOf<typeof ClusterRequested>> {
    const event = requestEvent(clusterId, spec, id);
    await publishEvent(this.bus.js, eventsSubject({ prefix: this.prefix }, ClusterRequested.channel), event);
    return event;
  }

  /** Publishes any event about a cluster, as the inventory or an outside service would. */
  async publish<D extends EventDefinition>(definition: D, clusterId: string, data: EventData<D>): Promise<EventOf<D>> {
    const event = createEvent(definition, { subject: clusterId, source: '/tests/provisioner' }, data);
    await publishEvent(this.bus.js, eventsSubject({ prefix: this.prefix }, definition.channel), event);
    return event;
  }

  /** Every event of a type on the bus so far, optionally about one cluster. */
  async events<D extends EventDefinition>(definition: D, clusterId?: string): Promise<EventOf<D>[]> {
    return (await this.allEvents()).filter((event): event is EventOf<D> => event.type === definition.type && (clusterId === undefined || event.subject === clusterId));
  }

  async allEvents(): Promise<CloudEvent[]> {
    const stream = streamName({ prefix: this.prefix }, 'events');
    const info = await this.bus.jsm.streams.info(stream);
    const events: CloudEvent[] = [];
    for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
      const stored = await this.bus.jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (!stored) continue;
      const headers: Record<string, string> = {};
      for (const [key, values] of stored.header ?? []) if (values[0] !== undefined) headers[key] = values[0];
      const decoded = decodeMessage({ headers, payload: stored.data });
      if (!decoded.ok) continue;
      const validated = validateEvent(decoded.event);
      if (validated.ok) events.push(validated.event);
    }
    return events;
  }

  /** Waits for the first event of a type about a cluster. */
  async waitFor<D extends EventDefinition>(definition: D, clusterId: string, timeoutMs = 15_000): Promise<EventOf<D>> {
    return eventually(async () => (await this.events(definition, clusterId))[0], timeoutMs, `${definition.name} for ${clusterId}`);
  }

  async query<T>(sql: string, parameters: unknown[] = []): Promise<T[]> {
    return this.db.query<T[]>(sql, parameters);
  }

  /** Calls the provisioner's API as an admin (replicas share the bus prefix, so the token works on any of them). */
  async api(path: string, init: RequestInit = {}, url = this.service.url): Promise<Response> {
    return fetch(`${url}${path}`, { ...init, headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...(await this.service.auth()), ...(init.headers as Record<string, string> | undefined) } });
  }

  async getCluster(id: string, url = this.service.url): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await this.api(`/api/v1/provisioner/clusters/${id}`, {}, url);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async dispose(): Promise<void> {
    await this.service.dispose().catch(() => undefined);
    await this.db.destroy();
    await deleteTestStreams(this.bus.jsm, this.prefix);
    await this.bus.drain();
  }
}
