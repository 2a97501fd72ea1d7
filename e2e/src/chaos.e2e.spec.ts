/*
 * Proof under faults: the five services as processes, two replicas of each, on a NATS and a
 * PostgreSQL of the test's own, provision CHAOS_CLUSTERS clusters on the simulated provider while
 * service processes are SIGKILLed, NATS is killed and restarted, PostgreSQL is crashed (immediate
 * shutdown) and restarted, and a few malformed events are published. Afterwards every cluster is
 * in exactly one terminal state, no machine exists twice, each event is in each inbox once, every
 * outbox is empty and the dead letters are exactly those of the malformed events.
 *
 * CHAOS_CLUSTERS: 1,000 by default (the e2e tier); `npm run test:chaos` runs 10,000 and writes
 * bench/results/chaos.json. CHAOS_SEED replays a run's fault schedule (it is printed);
 * CHAOS_RESULTS names the results file (none is written without it).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { CE_HEADER_PREFIX, ClusterRequested, ClusterSpec, createEvent, eventsSubject, type ServiceName } from '@flotilla/contracts';
import { publishEvent } from '@flotilla/messaging';
import { eventually } from '@flotilla/messaging/testing';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { Fleet, type ServiceProcess } from './fleet-harness.js';
import { chaosSchedule, type ScheduledFault } from './support/chaos-schedule.js';
import { consumersCaughtUp, deadLetterCount, inboxCounts, outboxesDrained, readyOnTheBus, simulatedMachines, terminalStates } from './support/fleet-checks.js';
import { consumersOf, DeadLetterReader } from './support/fuzz-bus.js';
import { envelopeHeaders } from './support/fuzz-events.js';
import { StandaloneNats } from './support/nats-server.js';
import { PostgresServer } from './support/postgres-server.js';

const CLUSTERS = Number(process.env['CHAOS_CLUSTERS'] ?? '') || 1_000;
const SEED = Number(process.env['CHAOS_SEED'] ?? '') || Date.now() % 2 ** 31;
const RESULTS = process.env['CHAOS_RESULTS'];
const KILLS = 5;
const BAD_MESSAGES = 5;
/** Requests published ahead of the clusters terminal: the run lasts as long as the faults need it to. */
const IN_FLIGHT = Math.max(100, Math.round(CLUSTERS / 10));
const SERVICES: ServiceName[] = ['upgrade-planner', 'inventory', 'provisioner', 'importer', 'tunnel-broker'];
const REPLICAS = ['a', 'b'] as const;
const ID_LIKE = 'chaos-%';
/** A generous bound on the whole run on a busy two-core machine. */
const RUN_TIMEOUT_MS = 20 * 60_000 + CLUSTERS * 150;

/** One control-plane machine and one worker; the contract fills in the rest. */
const spec = (name: string): ClusterSpec => ClusterSpec.parse({ name, model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 1, machineSize: 'small' }, nodePools: [{ name: 'workers', count: 1, machineSize: 'small' }] });

describe(`${CLUSTERS} clusters under SIGKILLs, a NATS restart and a PostgreSQL crash (seed ${SEED})`, { timeout: RUN_TIMEOUT_MS + 10 * 60_000 }, () => {
  let postgres: PostgresServer;
  let nats: StandaloneNats;
  let fleet: Fleet;
  const requested = new Map<string, string>(); // cluster id -> ClusterRequested event id
  const bad: { id: string; sequence: number }[] = [];
  const faults: ScheduledFault[] = [];
  const counts = { kills: 0, natsRestarts: 0, postgresRestarts: 0 };
  let seconds = 0;

  before(async () => {
    postgres = await PostgresServer.start();
    nats = await StandaloneNats.start();
    fleet = new Fleet({ services: [], natsUrl: nats.url, serverUrl: postgres.url, env: { SIM_BOOT_MS: '200', LOG_LEVEL: 'warn' }, readyTimeoutMs: 300_000 });
    await fleet.start();
    // The pool's idle connections are cut when PostgreSQL crashes: that is expected here.
    fleet.db.on('error', () => undefined);
    // The first replicas together (each may be first to create the streams), the second ones after.
    await Promise.all(SERVICES.map((name) => fleet.add(name, REPLICAS[0])));
    for (const name of SERVICES) await fleet.add(name, REPLICAS[1]);
  });

  after(async () => {
    await fleet?.stop();
    await nats?.stop();
    await postgres?.stop();
  });

  /** Clusters Running or Failed now; while PostgreSQL is down, the last answer. */
  let lastTerminal = 0;
  const terminalCount = async (): Promise<number> => {
    const result = await fleet.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inventory.clusters WHERE id LIKE $1 AND status IN ('Running', 'Failed')`, [ID_LIKE]).catch(() => undefined);
    if (result) lastTerminal = result.rows[0]?.n ?? 0;
    return lastTerminal;
  };

  /** Publishes until JetStream acknowledges (NATS may be restarting); a retry is dropped as a duplicate by its id. */
  const untilAcknowledged = async <T>(what: string, publish: () => Promise<T>): Promise<T> => eventually(async () => publish().catch(() => undefined), 120_000, what);

  const request = async (id: string) => {
    const event = createEvent(ClusterRequested, { subject: id, source: '/another-platform-service' }, spec(id));
    requested.set(id, event.id);
    await untilAcknowledged(`${id} requested`, () => publishEvent(fleet.bus.js, eventsSubject(fleet, ClusterRequested.channel), event).then(() => true));
  };

  /** A ClusterRequested whose data is cut mid-JSON: every consumer of the type must dead-letter it. */
  const publishBad = async (index: number) => {
    const headers = natsHeaders();
    const values = envelopeHeaders(ClusterRequested);
    for (const [key, value] of Object.entries(values)) headers.set(key, value);
    const payload = new TextEncoder().encode(`{"name":"chaos-bad-${index}","model":"platform-prov`);
    const ack = await untilAcknowledged(`bad message ${index}`, () => fleet.bus.js.publish(eventsSubject(fleet, ClusterRequested.channel), payload, { headers }));
    bad.push({ id: values[`${CE_HEADER_PREFIX}id`] ?? '', sequence: ack.seq });
  };

  const restartService = async (victim: ServiceProcess) => {
    await victim.kill();
    await victim.start();
  };

  const run = async (fault: ScheduledFault['fault']): Promise<string> => {
    switch (fault.kind) {
      case 'kill': {
        const victim = fleet.processes[fault.victim]!;
        await restartService(victim);
        counts.kills++;
        return `SIGKILLed ${victim.name}/${victim.replica}, restarted`;
      }
      case 'nats-restart':
        await nats.kill();
        await sleep(2_000);
        nats.start();
        await nats.healthy();
        counts.natsRestarts++;
        return 'SIGKILLed NATS, restarted on its store';
      case 'postgres-restart':
        await postgres.crash();
        await sleep(2_000);
        await postgres.startServer();
        counts.postgresRestarts++;
        return 'crashed PostgreSQL (immediate shutdown), restarted';
      case 'bad-message':
        await publishBad(fault.index);
        return `published malformed event ${fault.index}`;
    }
  };

  it('provisions every cluster while the faults of the seeded schedule happen', async (t) => {
    faults.push(...chaosSchedule({ seed: SEED, kills: KILLS, processes: fleet.processes.length, badMessages: BAD_MESSAGES }));
    t.diagnostic(`seed ${SEED} (CHAOS_SEED replays it); processes ${fleet.processes.map((p, i) => `${i}=${p.name}/${p.replica}`).join(' ')}`);
    t.diagnostic(`schedule: ${faults.map(({ at, fault }) => `${at}:${fault.kind}${'victim' in fault ? `#${fault.victim}` : ''}`).join(' ')}`);
    const started = Date.now();
    const deadline = started + RUN_TIMEOUT_MS;

    // Faults started so far. Requests run no further ahead than the next fault's point plus the
    // clusters in flight, so each fault lands while clusters are being provisioned.
    let faultsStarted = 0;
    const gate = () => (faultsStarted < faults.length ? faults[faultsStarted]!.at * CLUSTERS : CLUSTERS) + IN_FLIGHT;
    const publisher = (async () => {
      for (let i = 0; i < CLUSTERS; i++) {
        while (i - (await terminalCount()) >= IN_FLIGHT || i >= gate()) {
          if (Date.now() > deadline) throw new Error(`stalled at ${lastTerminal} of ${CLUSTERS} terminal with ${i} requested`);
          await sleep(200);
        }
        await request(`chaos-${i}`);
      }
    })();
    const chaos = (async () => {
      for (const { at, fault } of faults) {
        while ((await terminalCount()) < at * CLUSTERS) {
          if (Date.now() > deadline) throw new Error(`stalled at ${lastTerminal} of ${CLUSTERS} terminal before ${fault.kind} at ${at}`);
          await sleep(200);
        }
        faultsStarted++;
        const what = await run(fault);
        t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s, ${lastTerminal} terminal: ${what}`);
      }
    })();
    await Promise.all([publisher, chaos]);
    await eventually(async () => ((await terminalCount()) >= CLUSTERS ? true : undefined), Math.max(60_000, deadline - Date.now()), `${CLUSTERS} clusters terminal (last seen ${lastTerminal})`);
    seconds = (Date.now() - started) / 1000;
    assert.equal(counts.kills, KILLS);
    assert.equal(counts.natsRestarts, 1);
    assert.equal(counts.postgresRestarts, 1);
  });

  it('ends with every cluster in one terminal state, no machine twice, each event in each inbox once, outboxes empty, only the bad messages dead-lettered', async (t) => {
    const ids = new Set(requested.keys());
    await consumersCaughtUp(fleet.bus, fleet.prefix);
    const states = await terminalStates(fleet.db, ID_LIKE);
    const machines = await simulatedMachines(fleet.db, ID_LIKE);
    const ready = await readyOnTheBus(fleet.bus, fleet.prefix, ids);
    const requestIds = [...requested.values()];
    const inboxes = [...(await inboxCounts(fleet.db, 'provisioner', requestIds)), ...(await inboxCounts(fleet.db, 'inventory', requestIds)), ...(await inboxCounts(fleet.db, 'importer', requestIds))];
    const readyInboxes = await inboxCounts(fleet.db, 'inventory', ready.eventIds);
    const inboxRepeats = [...inboxes, ...readyInboxes].reduce((sum, row) => sum + row.n - row.distinct_ids, 0);
    const duplicatedEffects = states.duplicatedCount + (machines.machines - machines.distinct) + ready.repeated.length + inboxRepeats;

    const letters = new DeadLetterReader(fleet.bus, fleet.prefix);
    const expectedLetters = bad.flatMap(({ sequence }) => consumersOf(ClusterRequested).map((consumer) => DeadLetterReader.key(consumer, sequence)));
    const seen = await eventually(async () => {
      const read = await letters.read();
      return expectedLetters.every((key) => read.has(key)) ? read : undefined;
    }, 60_000, `${expectedLetters.length} dead letters of the bad messages`).catch(async () => letters.read());
    const deadLetters = await deadLetterCount(fleet.bus, fleet.prefix);

    const figures = {
      benchmark: 'chaos',
      date: new Date().toISOString(),
      seed: SEED,
      requested: requested.size,
      terminal: states.terminal,
      running: states.running,
      failed: states.failed,
      lost: requested.size - states.running - states.failed,
      duplicated_effects: duplicatedEffects,
      kills: counts.kills,
      restarts: { nats: counts.natsRestarts, postgres: counts.postgresRestarts, services: counts.kills },
      bad_messages: bad.length,
      dead_letters: deadLetters,
      seconds: Math.round(seconds * 10) / 10,
      service_processes: fleet.processes.length,
      sim_boot_ms: 200,
    };
    t.diagnostic(JSON.stringify(figures));
    if (RESULTS) writeFileSync(RESULTS, `${JSON.stringify(figures, null, 2)}\n`);

    assert.equal(states.known, CLUSTERS, 'the inventory knows every requested cluster');
    assert.equal(states.terminal, CLUSTERS, `every cluster in exactly one terminal state (more than one: ${states.duplicated.join(', ')})`);
    assert.equal(states.failed, 0, 'the simulated provider fails no machine here');
    assert.deepEqual(machines, { machines: CLUSTERS * 2, distinct: CLUSTERS * 2, clusters: CLUSTERS }, 'two machines per cluster, none created twice');
    assert.deepEqual({ missing: ready.missing.slice(0, 5), repeated: ready.repeated.slice(0, 5) }, { missing: [], repeated: [] }, 'one ClusterReady on the bus per cluster');
    assert.equal(inboxes.length, consumersOf(ClusterRequested).length, `one inbox consumer of the requests per service: ${JSON.stringify(inboxes)}`);
    for (const row of inboxes) assert.deepEqual(row, { consumer: row.consumer, n: CLUSTERS, distinct_ids: CLUSTERS }, `${row.consumer} holds each request once`);
    assert.deepEqual(readyInboxes.map(({ n, distinct_ids }) => ({ n, distinct_ids })), [{ n: CLUSTERS, distinct_ids: CLUSTERS }], "each ClusterReady in the inventory's inbox once");
    await outboxesDrained(fleet.db);
    assert.deepEqual([...seen.keys()].sort(), [...expectedLetters].sort(), 'the dead letters are those of the bad messages, at each consumer of their type');
    assert.equal(deadLetters, expectedLetters.length, 'and nothing else is in the dead-letter stream');
    for (const service of fleet.processes) assert.equal((await fetch(`${service.url}/readyz`)).status, 200, `${service.name}/${service.replica} ready`);
  });
});
