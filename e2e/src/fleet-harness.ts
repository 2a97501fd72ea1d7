import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Role } from '@flotilla/auth';
import { TestTokenIssuer } from '@flotilla/auth/testing';
import type { ServiceName } from '@flotilla/contracts';
import { BusConnection } from '@flotilla/messaging';
import { databaseUrl, deleteTestStreams, ensureDatabase, eventually, freePort, randomSuffix, TEST_NATS_URL, TEST_SERVER_URL, TEST_STREAM_MAX_BYTES } from '@flotilla/messaging/testing';
import pg from 'pg';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** How long a started process has to answer /readyz. */
const READY_TIMEOUT_MS = 90_000;

/** One service running as its own OS process. */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> | undefined;
  readonly output: string[] = [];

  constructor(
    readonly name: ServiceName,
    readonly replica: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly readyTimeoutMs = READY_TIMEOUT_MS,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const entry = `${root}services/${this.name}/dist/src/main.js`;
    const child = spawn(process.execPath, ['--enable-source-maps', '--import', '@flotilla/telemetry/register', entry], {
      cwd: root,
      env: { ...process.env, ...this.env, PORT: String(this.port), FLOTILLA_SERVICE: this.name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = once(child, 'exit');
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.output.length > 2000) this.output.splice(0, this.output.length - 2000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let last = '';
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`${this.name} exited with ${child.exitCode}:\n${this.output.slice(-20).join('\n')}`);
        const response = await fetch(`${this.url}/readyz`).catch(() => undefined);
        if (response && !response.ok) last = await response.text().catch(() => '');
        return response?.ok ? true : undefined;
      },
      // A busy two-core machine (several suites at once) takes up to half a minute per service.
      this.readyTimeoutMs,
      `${this.name}/${this.replica} to be ready`,
    ).catch(async (error: Error) => {
      // Not left running: the fleet stops only the services that started.
      await this.kill();
      throw new Error(`${error.message}; its last /readyz: ${last || '(no answer)'}; its last output:\n${this.output.slice(-20).join('\n')}`, { cause: error });
    });
  }

  /** SIGKILL: no shutdown hooks, no flush, like a node dying. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait for the graceful shutdown; resolves the exit code. */
  async stop(): Promise<number | null> {
    if (!this.child || this.child.exitCode !== null) return this.child?.exitCode ?? null;
    this.child.kill('SIGTERM');
    await this.exited;
    return this.child.exitCode;
  }
}

export interface FleetOptions {
  services: ServiceName[];
  /** Extra environment for every service (e.g. OTLP endpoint, simulated boot time). */
  env?: Record<string, string>;
  /** Another NATS than the machine's (e.g. one a test restarts). */
  natsUrl?: string;
  /** Another PostgreSQL server than the machine's: its maintenance database's URL. */
  serverUrl?: string;
  /** How long a started process has to answer /readyz (90 s unless given). */
  readyTimeoutMs?: number;
}

/**
 * The five services as separate processes against the machine's NATS and PostgreSQL, each run
 * of the test with its own database and stream names.
 */
export class Fleet {
  readonly prefix = `e${randomSuffix()}`;
  /** One throwaway key-encryption key for every service of the fleet. */
  private readonly secretsKeys = `e2e:${randomBytes(32).toString('base64')}`;
  readonly database = `flotilla_e2e_${randomSuffix()}`;
  readonly processes: ServiceProcess[] = [];
  bus!: BusConnection;
  db!: pg.Pool;
  /** Issues tokens every service of the fleet accepts (its key is in the prefix's authentication bucket). */
  issuer!: TestTokenIssuer;

  constructor(private readonly options: FleetOptions) {}

  get databaseUrl(): string {
    return databaseUrl(this.database, this.serverUrl);
  }

  private get serverUrl(): string {
    return this.options.serverUrl ?? TEST_SERVER_URL;
  }

  private get natsUrl(): string {
    return this.options.natsUrl ?? TEST_NATS_URL;
  }

  async start(): Promise<void> {
    await ensureDatabase(this.database, this.serverUrl);
    this.db = new pg.Pool({ connectionString: this.databaseUrl, max: 4 });
    this.bus = await BusConnection.open(this.natsUrl, 'e2e-test');
    // Published before any service starts, so each one knows the key from its first request.
    this.issuer = await TestTokenIssuer.publish(this.bus.nc, this.prefix);
    for (const name of this.options.services) await this.add(name);
  }

  /** `{ authorization: 'Bearer …' }` with a token of that role, for calling any service of the fleet. */
  async auth(role: Role): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await this.issuer.token(role, { subject: `e2e-${role}` })}` };
  }

  /** Starts (another replica of) a service; `env` adds to (or overrides) the fleet's environment for it. */
  async add(name: ServiceName, replica = 'a', env: Record<string, string> = {}): Promise<ServiceProcess> {
    const service = new ServiceProcess(name, replica, await freePort(), {
      DATABASE_URL: this.databaseUrl,
      NATS_URL: this.natsUrl,
      BUS_PREFIX: this.prefix,
      BUS_STREAM_MAX_BYTES: String(TEST_STREAM_MAX_BYTES),
      LOG_LEVEL: 'warn',
      SECRETS_KEYS: this.secretsKeys,
      // Any free port for the tunnel broker's agents (several fleets may run at once).
      TUNNEL_AGENT_PORT: '0',
      ...this.options.env,
      ...env,
    }, this.options.readyTimeoutMs);
    await service.start();
    this.processes.push(service);
    return service;
  }

  service(name: ServiceName, replica = 'a'): ServiceProcess {
    const found = this.processes.find((p) => p.name === name && p.replica === replica);
    if (!found) throw new Error(`no ${name}/${replica} in this fleet`);
    return found;
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
    await deleteTestStreams(this.bus.jsm, this.prefix);
    await this.bus.drain();
    // `end()` does not wait for the pool's connections to finish closing, and the database is
    // dropped WITH (FORCE) next: a connection still closing is terminated by the server, and the
    // pool reports it as an error event that would otherwise crash the test process.
    this.db.on('error', () => undefined);
    await this.db.end();
    const admin = new pg.Client({ connectionString: this.serverUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${this.database}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}
