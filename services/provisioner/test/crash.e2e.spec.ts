import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ClusterReady, ClusterRequested, eventsSubject, NodesProvisioned, streamName } from '@flotilla/contracts';
import { BusConnection, publishEvent } from '@flotilla/messaging';
import { databaseUrl, deleteTestStreams, ensureDatabase, eventually, randomSuffix, TEST_NATS_URL, TEST_STREAM_MAX_BYTES, testBusPrefix } from '@flotilla/messaging/testing';
import { DataSource } from 'typeorm';
import { clusterSpec, requestEvent } from './support/harness.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

describe('the provisioner process killed with SIGKILL mid-provisioning', () => {
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl('flotilla_test'),
    DATABASE_SCHEMA: `provisioner_${randomSuffix()}`,
    BUS_PREFIX: testBusPrefix(),
    NATS_URL: TEST_NATS_URL,
    PORT: '0',
    LOG_LEVEL: 'warn',
    OTEL_SDK_DISABLED: 'true',
    BUS_STREAM_MAX_BYTES: String(TEST_STREAM_MAX_BYTES),
    // Both processes open the join secrets the first one sealed.
    SECRETS_KEYS: `crash:${randomBytes(32).toString('base64')}`,
    SIM_BOOT_MS: '1500',
    // A killed process's claims run out quickly, so the next one takes its machines over.
    MACHINE_LEASE_MS: '1000',
    RECONCILE_IDLE_MS: '20',
    MACHINE_POLL_MS: '100',
    // One machine per round: the kill lands with some machines made and others not.
    RECONCILE_BATCH_SIZE: '1',
  };
  let bus: BusConnection;
  let db: DataSource;
  const children: ChildProcess[] = [];

  const startProcess = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--enable-source-maps', MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(child);
    // Ready when its schema is migrated and its durable consumer exists (streams come first).
    await eventually(async () => ((await db.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'sim_machines'`, [env['DATABASE_SCHEMA']]))[0]?.n === 1 ? true : undefined), 60_000, 'provisioner migrated');
    await eventually(async () => ((await bus.jsm.consumers.info(streamName({ prefix: env['BUS_PREFIX']! }, 'events'), 'provisioner__cluster_requested_v1')) ? true : undefined), 30_000, 'provisioner consuming');
    return child;
  };

  before(async () => {
    await ensureDatabase('flotilla_test');
    bus = await BusConnection.open(TEST_NATS_URL, 'provisioner-crash-test');
    db = await new DataSource({ type: 'postgres', url: env['DATABASE_URL']!, extra: { max: 2 } }).initialize();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await db.query(`DROP SCHEMA IF EXISTS "${env['DATABASE_SCHEMA']}" CASCADE`);
    await db.destroy();
    await deleteTestStreams(bus.jsm, env['BUS_PREFIX']!);
    await bus.drain();
  });

  it('loses nothing and makes no machine twice: the next process adopts what the killed one created', async () => {
    const schema = env['DATABASE_SCHEMA']!;
    const first = await startProcess();
    const spec = clusterSpec({ nodePools: [{ name: 'workers', count: 5, machineSize: 'm', labels: {}, taints: [] }] });
    await publishEvent(bus.js, eventsSubject({ prefix: env['BUS_PREFIX']! }, ClusterRequested.channel), requestEvent('killed-1', spec));
    await eventually(async () => ((await db.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${schema}".sim_machines`))[0]!.n >= 2 ? true : undefined), 60_000, 'some machines created');
    first.kill('SIGKILL');
    await once(first, 'exit');
    const atKill = (await db.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${schema}".machines WHERE phase = 'Running'`))[0]!.n;
    assert.ok(atKill < 6, 'killed before the cluster was done');

    await startProcess();
    await eventually(async () => ((await readEvents(bus, env['BUS_PREFIX']!)).includes(ClusterReady.type) ? true : undefined), 60_000, 'ClusterReady');
    // Anything emitted twice would be in the stream by now: the outbox is flushed after commit.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ready = await readEvents(bus, env['BUS_PREFIX']!);
    assert.equal(ready.filter((type) => type === ClusterReady.type).length, 1);
    assert.equal(ready.filter((type) => type === NodesProvisioned.type).length, 1);

    const cloud = await db.query<{ name: string; create_calls: number }[]>(`SELECT name, create_calls FROM "${schema}".sim_machines ORDER BY name`);
    assert.deepEqual(cloud.map((row) => row.name), ['killed-1-cp-0', ...Array.from({ length: 5 }, (_, index) => `killed-1-workers-${index}`)]);
    assert.ok(cloud.every((row) => row.create_calls === 1), `each machine created once: ${JSON.stringify(cloud)}`);
    const phases = await db.query<{ phase: string }[]>(`SELECT phase FROM "${schema}".clusters`);
    assert.deepEqual(phases, [{ phase: 'Running' }]);
  });
});

async function readEvents(bus: BusConnection, prefix: string): Promise<string[]> {
  const stream = streamName({ prefix }, 'events');
  const info = await bus.jsm.streams.info(stream);
  const types: string[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const stored = await bus.jsm.streams.getMessage(stream, { seq }).catch(() => null);
    const type = stored?.header?.get('ce-type');
    if (type) types.push(type);
  }
  return types;
}
