import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthBucket } from '@flotilla/auth';
import { TestTokenIssuer } from '@flotilla/auth/testing';
import type { ServiceName, StreamPlacement } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { ensureDatabase, eventually, freePort, randomSuffix } from '@flotilla/messaging/testing';
import pg from 'pg';
import { Fleet } from '../fleet-harness.js';

/** Debian installs it in /usr/sbin, which is not on every user's PATH. */
const NATS_SERVER = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';
/** How long a node has to report itself healthy: JetStream current with its meta leader and its streams. */
const HEALTHY_TIMEOUT_MS = 60_000;

interface NodePorts {
  client: number;
  route: number;
  monitor: number;
}

/** One nats-server of the cluster: its ports and store stay the same across a kill and a restart. */
export class NatsNode {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> | undefined;

  constructor(
    readonly name: string,
    readonly ports: NodePorts,
    private readonly args: string[],
    /** The server's log file, kept across restarts. */
    readonly logFile: string,
    /** Its `server_tags`: where a stream placement by tags may put replicas. */
    readonly tags: readonly string[] = [],
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.ports.client}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process; `healthy()` says when it has joined the cluster. */
  start(): void {
    this.child = spawn(NATS_SERVER, [...this.args, '--log', this.logFile], { stdio: 'ignore' });
    this.exited = once(this.child, 'exit');
  }

  /** The last lines of the server's log. */
  logTail(lines = 20): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
  }

  /**
   * Waits for the node's /healthz: JetStream enabled, in contact with the meta leader, and every
   * stream and consumer it holds a replica of caught up.
   */
  async healthy(timeoutMs = HEALTHY_TIMEOUT_MS): Promise<void> {
    await eventually(
      async () => {
        if (!this.running) throw new Error(`${this.name} exited:\n${this.logTail()}`);
        const response = await fetch(`http://127.0.0.1:${this.ports.monitor}/healthz`).catch(() => undefined);
        return response?.ok ? true : undefined;
      },
      timeoutMs,
      `NATS node ${this.name} healthy`,
    );
  }

  /** The names of the clients connected to this node now (a service's connection is named after it). */
  async clients(): Promise<string[]> {
    const response = await fetch(`http://127.0.0.1:${this.ports.monitor}/connz?limit=1024`);
    if (!response.ok) throw new Error(`${this.name} /connz: ${response.status}`);
    const body = (await response.json()) as { connections?: { name?: string }[] };
    return (body.connections ?? []).map((connection) => connection.name ?? '');
  }

  /** SIGKILL: no lame-duck mode, no flush of its store, like a machine losing power. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    await this.exited;
  }
}

/**
 * A JetStream cluster on loopback (Debian's nats-server): its own name, ports, routes to each
 * other and a store directory per node, removed on stop. Each node may carry `server_tags`
 * (`tags[i]` for node i), which a stream placement can ask for.
 */
export class NatsCluster {
  readonly nodes: NatsNode[];
  /** The cluster's name (nats-server `cluster.name`), which a stream placement can ask for. */
  readonly name = `flotilla-e2e-${randomSuffix()}`;

  private constructor(
    private readonly storeRoot: string,
    ports: NodePorts[],
    tags: readonly (readonly string[])[],
  ) {
    const routes = ports.map((p) => `nats://127.0.0.1:${p.route}`).join(',');
    this.nodes = ports.map((p, i) => {
      const name = `n${i + 1}`;
      const nodeTags = tags[i] ?? [];
      // Tags have no command-line flag: a configuration file holds them, the flags the rest.
      const config = join(storeRoot, `${name}.conf`);
      writeFileSync(config, `server_tags: ${JSON.stringify(nodeTags)}\n`);
      const args = ['-c', config, '-js', '-a', '127.0.0.1', '-p', String(p.client), '-m', String(p.monitor), '-n', name, '--cluster_name', this.name, '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes, '-sd', join(storeRoot, name)];
      return new NatsNode(name, p, args, join(storeRoot, `${name}.log`), nodeTags);
    });
  }

  static async start(size = 3, tags: readonly (readonly string[])[] = []): Promise<NatsCluster> {
    const cluster = new NatsCluster(mkdtempSync(join(tmpdir(), 'flotilla-nats-cluster-')), await distinctPorts(size), tags);
    for (const node of cluster.nodes) node.start();
    try {
      await Promise.all(cluster.nodes.map((node) => node.healthy()));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** What a service is given as NATS_URL: every node, comma-separated. */
  get url(): string {
    return this.nodes.map((node) => node.url).join(',');
  }

  node(name: string): NatsNode {
    const found = this.nodes.find((node) => node.name === name);
    if (!found) throw new Error(`no NATS node ${name}; nodes are ${this.nodes.map((node) => node.name).join(', ')}`);
    return found;
  }

  /** Restarts a node on its own ports and store, and waits until it has caught up. */
  async restart(node: NatsNode): Promise<void> {
    node.start();
    await node.healthy();
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    rmSync(this.storeRoot, { recursive: true, force: true });
  }
}

/** Client, route and monitoring ports for every node, no two the same. */
async function distinctPorts(size: number): Promise<NodePorts[]> {
  const taken = new Set<number>();
  const next = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  const ports: NodePorts[] = [];
  for (let i = 0; i < size; i++) ports.push({ client: await next(), route: await next(), monitor: await next() });
  return ports;
}

/**
 * The fleet of services against a NATS cluster: every service and the test connect with the
 * comma-separated list of its servers, and every stream and bucket has `replicas` replicas
 * (BUS_REPLICAS) placed as `placement` says (BUS_PLACEMENT_CLUSTER, BUS_PLACEMENT_TAGS).
 */
export class ClusteredFleet extends Fleet {
  constructor(
    readonly nats: NatsCluster,
    private readonly services: ServiceName[],
    readonly layout: { replicas: number; placement?: StreamPlacement },
    env: Record<string, string> = {},
  ) {
    const placement: Record<string, string> = layout.placement ? { BUS_PLACEMENT_CLUSTER: layout.placement.cluster ?? '', BUS_PLACEMENT_TAGS: (layout.placement.tags ?? []).join(',') } : {};
    super({ services: [], env: { NATS_URL: nats.url, BUS_REPLICAS: String(layout.replicas), ...placement, ...env } });
  }

  /**
   * Starts the upgrade planner, then the other services all at once: each of those may be the
   * first to create the streams. The planner goes first because a service starting while the
   * planner creates the support-matrix bucket at three replicas can die of a JetStream request
   * timeout the NATS client rejects where nothing handles it (seen once in three runs with all five
   * starting together on a loaded machine; where in the client is not found yet).
   */
  override async start(): Promise<void> {
    await ensureDatabase(this.database);
    this.db = new pg.Pool({ connectionString: this.databaseUrl, max: 4 });
    this.bus = await BusConnection.open(this.nats.url, 'e2e-clustered-bus');
    // The test issuer would otherwise be first to make the authentication bucket, at one replica.
    await AuthBucket.open(this.bus.nc, { prefix: this.prefix }, this.layout);
    this.issuer = await TestTokenIssuer.publish(this.bus.nc, this.prefix);
    const first: ServiceName[] = this.services.filter((name) => name === 'upgrade-planner');
    for (const name of first) await this.add(name);
    await Promise.all(this.services.filter((name) => !first.includes(name)).map((name) => this.add(name)));
  }
}
