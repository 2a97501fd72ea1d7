// The NATS permissions generated from the catalogue, on a nats-server of the test's own: each
// service may publish only what it produces, the outside publisher only ClusterRequested, and
// the five services (in-process, each as its own NATS user) still take a cluster request to
// Running. Reads go through the bus and the inventory's database, not HTTP.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  auditSubject,
  replaySubject,
  authBucketName,
  bucketStreamName,
  ClusterDeleted,
  ClusterReady,
  MachineReplaced,
  ClusterRequested,
  createEvent,
  deadLetterSubject,
  durableName,
  EventRejected,
  eventsSubject,
  natsPasswordVariable,
  natsUsers,
  OUTSIDE_PUBLISHER,
  renderNatsConfig,
  serviceInboxPrefix,
  SERVICES,
  streamName,
  tunnelSessionsBucketName,
  type ClusterSpec,
  type ServiceName,
} from '@flotilla/contracts';
import { AuthBucket, generateSigningKey, type PublishedServiceKey } from '@flotilla/auth';
import { importerService } from '@flotilla/importer/dist/src/service.js';
import { inventoryService } from '@flotilla/inventory/dist/src/service.js';
import { BusConnection, busOptions, ensureAuditStream, ensureStreams, publishEvent } from '@flotilla/messaging';
import { eventually, freePort, testBusPrefix, TEST_STREAM_MAX_BYTES } from '@flotilla/messaging/testing';
import { provisionerService } from '@flotilla/provisioner/dist/src/service.js';
import type { ServiceDefinition } from '@flotilla/service-kit';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { tunnelBrokerService } from '@flotilla/tunnel-broker/dist/src/service.js';
import { upgradePlannerService } from '@flotilla/upgrade-planner/dist/src/service.js';
import pg from 'pg';
import type { z } from 'zod';

const NATS_SERVER = process.env['NATS_SERVER_BIN'] ?? '/usr/sbin/nats-server';
/** The test's own user, for setting up and reading streams; also the user of unauthenticated connections. */
const ADMIN = 'test-admin';

function spec(name: string): ClusterSpec {
  return {
    name,
    model: 'platform-provisioned',
    kubernetesVersion: '1.34',
    controlPlane: { count: 1, machineSize: 'small' },
    nodePools: [{ name: 'workers', count: 1, machineSize: 'small', labels: {}, taints: [] }],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  };
}

/** A nats-server with the configuration generated for `prefix`, passwords in its environment. */
class SecuredNats {
  private process: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'flotilla-secured-nats-'));
  // Letters first: nats-server parses a variable's value as a configuration value (`1e5` is a number).
  readonly passwords = new Map([...natsUsers({ prefix: 'x' }).map((user) => user.user), ADMIN].map((user) => [user, `p${randomBytes(16).toString('hex')}`]));
  port = 0;
  monitorPort = 0;

  constructor(private readonly prefix: string) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port = await freePort();
    this.monitorPort = await freePort();
    const config = join(this.dir, 'nats.conf');
    const admin = { user: ADMIN, passwordVariable: natsPasswordVariable(ADMIN), publish: ['>'], subscribe: ['>'] };
    writeFileSync(config, `${renderNatsConfig({ prefix: this.prefix }, { extraUsers: [admin] })}no_auth_user: ${JSON.stringify(ADMIN)}\n`);
    const env = { ...process.env, ...Object.fromEntries([...this.passwords].map(([user, password]) => [natsPasswordVariable(user), password])) };
    const args = ['-c', config, '-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitorPort), '-js', '-sd', join(this.dir, 'store')];
    const output: string[] = [];
    const child = spawn(NATS_SERVER, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    this.process = child;
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}: ${output.join('')}`);
        return new Promise<true | undefined>((resolve) => {
          const socket = tcpConnect(this.port, '127.0.0.1', () => {
            socket.end();
            resolve(true);
          }).on('error', () => resolve(undefined));
        });
      },
      10_000,
      'the secured nats-server to listen',
    );
  }

  /** A connection as one of the generated users, the way the services open theirs. */
  open(user: string): Promise<BusConnection> {
    return BusConnection.open(this.url, user, { user, password: this.passwords.get(user)!, inboxPrefix: serviceInboxPrefix(user) });
  }

  /** Which user each client connection authenticated as, by connection name. */
  async connections(): Promise<Map<string, string>> {
    const response = await fetch(`http://127.0.0.1:${this.monitorPort}/connz?auth=true&limit=1000`);
    const body = (await response.json()) as { connections: { name?: string; authorized_user?: string }[] };
    return new Map(body.connections.map((connection) => [connection.name ?? '', connection.authorized_user ?? '']));
  }

  async stop(): Promise<void> {
    if (this.process && this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGTERM');
      await once(this.process, 'exit');
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('NATS permissions generated from the catalogue', { timeout: 180_000 }, () => {
  const prefix = testBusPrefix();
  const nats = new SecuredNats(prefix);
  const services: TestService[] = [];
  const connections = new Map<string, BusConnection>();
  let admin: BusConnection;
  let db: pg.Client | undefined;

  const as = async (user: string): Promise<BusConnection> => {
    let connection = connections.get(user);
    if (!connection) {
      connection = await nats.open(user);
      connections.set(user, connection);
    }
    return connection;
  };
  const publish = async (user: string, subject: string, payload = '{}'): Promise<unknown> => (await as(user)).js.publish(subject, payload, { timeout: 5_000 });
  const refused = async (user: string, subject: string): Promise<void> => {
    await assert.rejects(publish(user, subject), /Permissions Violation for Publish/, `${user} publishing to ${subject}`);
  };
  const event = (definition: { channel: string }) => eventsSubject({ prefix }, definition.channel);

  before(async () => {
    await nats.start();
    admin = await BusConnection.open(nats.url, ADMIN, { user: ADMIN, password: nats.passwords.get(ADMIN)! });
    const options = busOptions({ service: ADMIN, prefix, natsUrl: nats.url, streamMaxBytes: TEST_STREAM_MAX_BYTES });
    await ensureStreams(admin.jsm, options);
    // The inventory makes the audit stream when it starts; the first tests run before it does.
    await ensureAuditStream(admin.jsm, options);
  });

  after(async () => {
    for (const service of services.reverse()) await service.dispose().catch(() => undefined);
    await db?.end();
    for (const connection of connections.values()) await connection.drain().catch(() => undefined);
    await admin?.drain().catch(() => undefined);
    await nats.stop();
  });

  it("refuses a service publishing another service's event, and lets it publish its own", async () => {
    await refused('provisioner', event(ClusterRequested));
    // What it may publish, then what it may not.
    await publish('importer', event(ClusterReady));
    await refused('importer', event(MachineReplaced));
    await refused('tunnel-broker', event(ClusterDeleted));
    await publish('provisioner', event(ClusterReady));
    await publish('tunnel-broker', event(EventRejected));
    // Its own dead letters and audit records only.
    await publish('provisioner', deadLetterSubject({ prefix }, durableName('provisioner', ClusterRequested.channel)));
    await refused('provisioner', deadLetterSubject({ prefix }, durableName('importer', ClusterDeleted.channel)));
    await publish('inventory', auditSubject({ prefix }, 'inventory'));
    await refused('inventory', auditSubject({ prefix }, 'provisioner'));
    // Dead letters go back to the consumer that refused them through the inventory's replay API only.
    await publish('inventory', replaySubject({ prefix }, durableName('provisioner', ClusterRequested.channel)));
    await refused('provisioner', replaySubject({ prefix }, durableName('provisioner', ClusterRequested.channel)));
  });

  it('lets only the inventory, the streams\' owner, change the streams', async () => {
    for (const kind of ['audit', 'events', 'dlq', 'replay'] as const) {
      const stream = streamName({ prefix }, kind);
      const { config } = await admin.jsm.streams.info(stream);
      await assert.rejects((await as('provisioner')).jsm.streams.update(stream, { max_age: 1_000_000_000 }), /Permissions Violation|timeout/i, `provisioner updating ${stream}`);
      const info = await (await as('inventory')).jsm.streams.update(stream, { max_age: config.max_age });
      assert.equal(info.config.name, stream);
    }
  });

  it('lets the outside publisher publish ClusterRequested and nothing else', async () => {
    await publish(OUTSIDE_PUBLISHER, event(ClusterRequested));
    await refused(OUTSIDE_PUBLISHER, event(ClusterDeleted));
    await refused(OUTSIDE_PUBLISHER, auditSubject({ prefix }, 'inventory'));
  });

  it('lets only the inventory write the authentication bucket, and every service read it', async () => {
    const auth = authBucketName({ prefix });
    // As the bucket client makes it (a purge is a rollup).
    await admin.jsm.streams.add({ name: bucketStreamName(auth), subjects: [`$KV.${auth}.>`], max_msgs_per_subject: 1, allow_direct: true, allow_rollup_hdrs: true });
    // An empty key set: the services' authentication reads this bucket once they start.
    await publish('inventory', `$KV.${auth}.jwks`, JSON.stringify({ keys: [] }));
    await refused('provisioner', `$KV.${auth}.jwks`);
    await refused(OUTSIDE_PUBLISHER, `$KV.${auth}.jwks`);
    for (const service of SERVICES) {
      const stored = await (await as(service)).jsm.streams.getMessage(bucketStreamName(auth), { last_by_subj: `$KV.${auth}.jwks` });
      assert.ok(stored, `${service} reads the bucket`);
    }
    await publish('inventory', `$KV.${auth}.revoked.some-token`, JSON.stringify({ expiresAt: new Date().toISOString() }));
    await refused('importer', `$KV.${auth}.revoked.some-token`);
  });

  it("lets each service write its own replicas' keys in the authentication bucket, and nobody else's", async () => {
    // Through the bucket client the services use: a put is a publish to `$KV.<bucket>.<key>`, a
    // purge one with a KV-Operation header, so the subject decides both.
    const bucketAs = async (user: string) => AuthBucket.open((await as(user)).nc, { prefix });
    const key = await generateSigningKey();
    const published: PublishedServiceKey = { ...(key.publicJwk as PublishedServiceKey), expiresAt: new Date(Date.now() + 3_600_000).toISOString() };
    const importer = await bucketAs('importer');
    await importer.publishServiceKey('importer', 'replica-1', published);
    assert.deepEqual((await importer.serviceKeys('importer')).map(({ replica }) => replica), ['replica-1']);
    await importer.withdrawServiceKey('importer', 'replica-1');
    assert.deepEqual(await importer.serviceKeys('importer'), []);
    const violation = /Permissions Violation for Publish/;
    await assert.rejects(importer.publishServiceKey('inventory', 'x', published), violation, 'importer writing service-keys.inventory.x');
    await assert.rejects(importer.withdrawServiceKey('inventory', 'x'), violation, 'importer purging service-keys.inventory.x');
    await assert.rejects(importer.updateJwks((jwks) => ({ keys: [...jwks.keys, published] })), violation, 'importer writing jwks');
    await assert.rejects(importer.revoke('some-token', new Date()), violation, 'importer revoking a token');
    // The issuer keeps the keys and revocations, and its own service keys, but not another service's.
    const inventory = await bucketAs('inventory');
    await inventory.publishServiceKey('inventory', 'replica-1', published);
    await inventory.withdrawServiceKey('inventory', 'replica-1');
    await assert.rejects(inventory.publishServiceKey('importer', 'x', published), violation, 'inventory writing service-keys.importer.x');
    await assert.rejects((await bucketAs('provisioner')).publishServiceKey('importer', 'x', published), violation, 'provisioner writing service-keys.importer.x');
  });

  it('lets only the tunnel broker make, read and write its session registry', async () => {
    const bucket = tunnelSessionsBucketName({ prefix });
    const stream = bucketStreamName(bucket);
    const config = { name: stream, subjects: [`$KV.${bucket}.>`], max_msgs_per_subject: 1, allow_direct: true, allow_rollup_hdrs: true };
    for (const service of SERVICES.filter((one) => one !== 'tunnel-broker')) {
      await assert.rejects((await as(service)).jsm.streams.add(config), /Permissions Violation|timeout/i, `${service} creating ${stream}`);
    }
    const broker = await as('tunnel-broker');
    await broker.jsm.streams.add(config);
    await publish('tunnel-broker', `$KV.${bucket}.session-1`, '{"agent":"a"}');
    const stored = await broker.jsm.streams.getMessage(stream, { last_by_subj: `$KV.${bucket}.session-1` });
    assert.equal(stored?.string(), '{"agent":"a"}');
    for (const service of SERVICES.filter((one) => one !== 'tunnel-broker')) {
      await refused(service, `$KV.${bucket}.session-1`);
      await assert.rejects((await as(service)).jsm.streams.getMessage(stream, { last_by_subj: `$KV.${bucket}.session-1` }), /Permissions Violation|timeout/i, `${service} reading ${stream}`);
    }
  });

  it('runs the five services with their own users: a cluster requested from outside ends Running, and dead letters flow', async () => {
    const definitions: ServiceDefinition<z.ZodObject>[] = [inventoryService, provisionerService, importerService, upgradePlannerService, tunnelBrokerService];
    for (const definition of definitions) {
      const name: ServiceName = definition.name;
      services.push(await startTestService(definition, { NATS_URL: nats.url, BUS_PREFIX: prefix, NATS_USER: name, NATS_PASSWORD: nats.passwords.get(name)!, SIM_BOOT_MS: '200' }));
    }
    const authenticated = await nats.connections();
    for (const service of SERVICES) assert.equal(authenticated.get(service), service, `${service} is connected as its own user`);
    // The importer published its replica's key with its own user's permissions.
    const keys = await (await AuthBucket.open(admin.nc, { prefix })).serviceKeys('importer');
    assert.equal(keys.length, 1, "the importer's service key is published");

    const outside = await as(OUTSIDE_PUBLISHER);
    await publishEvent(outside.js, event(ClusterRequested), createEvent(ClusterRequested, { subject: 'secured-1', source: '/another-platform-service' }, spec('secured-1')));
    const inventory = services[0]!;
    db = new pg.Client({ connectionString: inventory.env['DATABASE_URL'] });
    await db.connect();
    const schema = inventory.env['DATABASE_SCHEMA']!;
    await eventually(
      async () => {
        const { rows } = await db!.query<{ status: string }>(`SELECT status FROM "${schema}".clusters WHERE id = $1`, ['secured-1']);
        return rows[0]?.status === 'Running' ? true : undefined;
      },
      60_000,
      'secured-1 Running in the inventory',
    );

    // The messages without a CloudEvent published by the first tests can never succeed: their
    // consumers dead-letter them and announce it, each on subjects its permissions allow.
    const dlq = streamName({ prefix }, 'dlq');
    for (const consumer of [durableName('provisioner', ClusterRequested.channel), durableName('upgrade-planner', ClusterReady.channel), durableName('inventory', '>')]) {
      await eventually(
        () => admin.jsm.streams.getMessage(dlq, { last_by_subj: deadLetterSubject({ prefix }, consumer) }).catch(() => undefined),
        20_000,
        `a dead letter from ${consumer}`,
      );
    }
    const rejectedBy = async (): Promise<Set<string>> => {
      const events = streamName({ prefix }, 'events');
      const sources = new Set<string>();
      const { state } = await admin.jsm.streams.info(events);
      for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
        const stored = await admin.jsm.streams.getMessage(events, { seq });
        const source = stored?.subject === event(EventRejected) ? stored.header?.get('ce-source') : undefined;
        if (source) sources.add(source);
      }
      return sources;
    };
    await eventually(
      async () => {
        const sources = await rejectedBy();
        return ['inventory', 'provisioner', 'upgrade-planner'].every((service) => sources.has(`/flotilla/${service}`)) ? true : undefined;
      },
      20_000,
      'EventRejected from the inventory, the provisioner and the upgrade planner',
    );
  });
});
