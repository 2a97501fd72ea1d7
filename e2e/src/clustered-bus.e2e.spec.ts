import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterRequested, ClusterSpec, createEvent, eventsSubject, streamName, type ServiceName } from '@flotilla/contracts';
import { publishEvent } from '@flotilla/messaging';
import { eventually } from '@flotilla/messaging/testing';
import type { StreamInfo } from '@nats-io/jetstream';
import { consumersCaughtUp, deadLetterCount, inboxCounts, outboxesDrained, readyOnTheBus, simulatedMachines, terminalStates } from './support/fleet-checks.js';
import { ClusteredFleet, NatsCluster, type NatsNode } from './support/nats-cluster.js';

// The bus on a four-node JetStream cluster with every stream and bucket at three replicas, placed
// on the three nodes tagged for the bus (BUS_PLACEMENT_CLUSTER, BUS_PLACEMENT_TAGS); the fourth
// holds none. The node leading the events stream is SIGKILLed while a few hundred clusters are
// being provisioned, more are requested while it is down, and it is restarted later. Nothing is
// lost or duplicated.

const SERVICES: ServiceName[] = ['inventory', 'provisioner', 'importer', 'upgrade-planner', 'tunnel-broker'];
/** Requested before the kill, and while the node is down. */
const BEFORE_KILL = 200;
const DURING_OUTAGE = 100;
/** n1 to n3 carry the bus's tag; n4 does not, so no replica may land there. */
const BUS_TAG = 'flotilla-bus';
const NODE_TAGS = [[BUS_TAG, 'az:a'], [BUS_TAG, 'az:b'], [BUS_TAG, 'az:c'], ['az:d']];

/** One control-plane machine and one worker; the contract fills in the rest. */
const spec = (name: string): ClusterSpec => ClusterSpec.parse({ name, model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 1, machineSize: 'small' }, nodePools: [{ name: 'workers', count: 1, machineSize: 'small' }] });

describe('the bus on a NATS cluster, placed on three tagged nodes, one of them killed mid-run and restarted', { timeout: 600_000 }, () => {
  let nats: NatsCluster;
  let fleet: ClusteredFleet;
  const requested = new Map<string, string>(); // cluster id -> ClusterRequested event id

  before(async () => {
    nats = await NatsCluster.start(NODE_TAGS.length, NODE_TAGS);
    fleet = new ClusteredFleet(nats, SERVICES, { replicas: 3, placement: { cluster: nats.name, tags: [BUS_TAG] } }, { SIM_BOOT_MS: '300' });
    await fleet.start();
  });

  after(async () => {
    await fleet?.stop();
    await nats?.stop();
  });

  /** Publishes until JetStream acknowledges: the connection may be moving to another node. Retries are dropped as duplicates by id. */
  const request = async (id: string) => {
    const event = createEvent(ClusterRequested, { subject: id, source: '/another-platform-service' }, spec(id));
    requested.set(id, event.id);
    await eventually(
      async () => {
        await publishEvent(fleet.bus.js, eventsSubject(fleet, ClusterRequested.channel), event);
        return true;
      },
      60_000,
      `${id} requested`,
    );
  };
  const runningCount = async (): Promise<number> => {
    const { rows } = await fleet.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inventory.clusters WHERE id LIKE 'bus-%' AND status = 'Running'`);
    return rows[0]?.n ?? 0;
  };
  const untilRunning = async (count: number, what: string) => eventually(async () => ((await runningCount()) >= count ? true : undefined), 300_000, what);
  /** Every stream of the fleet's prefix: its events, dead-letter, replay and audit streams and its key-value buckets. */
  const fleetStreams = async (): Promise<StreamInfo[]> => {
    const infos: StreamInfo[] = [];
    for await (const info of fleet.bus.jsm.streams.list()) {
      if (info.config.name.startsWith(`${fleet.prefix.toUpperCase()}_`) || info.config.name.startsWith(`KV_${fleet.prefix}_`)) infos.push(info);
    }
    return infos;
  };
  const eventsLeader = async (): Promise<NatsNode> => {
    const info = await fleet.bus.jsm.streams.info(streamName(fleet, 'events'));
    assert.ok(info.cluster?.leader, 'the events stream has a leader');
    return nats.node(info.cluster.leader);
  };

  /** The nodes holding a replica of the events stream. */
  const eventsPeers = async (): Promise<NatsNode[]> => {
    const info = await fleet.bus.jsm.streams.info(streamName(fleet, 'events'));
    return [info.cluster?.leader ?? '', ...(info.cluster?.replicas ?? []).map((peer) => peer.name)].filter(Boolean).map((name) => nats.node(name));
  };

  /**
   * Of the nodes holding the events stream, the one most services are connected to, made leader
   * of the stream (stepping its leader down until the election lands there): killing it takes the
   * services' connections and the stream's leader at once.
   */
  const chooseVictim = async (): Promise<NatsNode> => {
    const peers = await eventsPeers();
    const serving = await Promise.all(peers.map(async (node) => ({ node, services: (await node.clients()).filter((name) => SERVICES.includes(name as ServiceName)).length })));
    const victim = serving.reduce((most, next) => (next.services > most.services ? next : most)).node;
    assert.ok(serving.some((entry) => entry.services > 0), 'services are connected to the nodes holding the events stream');
    await eventually(
      async () => {
        const leader = await eventsLeader();
        if (leader === victim) return true;
        await fleet.bus.nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${streamName(fleet, 'events')}`);
        await eventually(async () => (await eventsLeader()) !== leader || undefined, 10_000, 'a new leader of the events stream');
        return undefined;
      },
      60_000,
      `${victim.name} leading the events stream`,
    );
    return victim;
  };

  it('creates every stream and bucket with three replicas', async () => {
    const names = (await fleetStreams()).map((info) => `${info.config.name}:R${info.config.num_replicas}`).sort();
    const upper = fleet.prefix.toUpperCase();
    for (const expected of [`${upper}_EVENTS`, `${upper}_DLQ`, `${upper}_REPLAY`, `${upper}_AUDIT`, `KV_${fleet.prefix}_auth`, `KV_${fleet.prefix}_tunnel_sessions`, `KV_${fleet.prefix}_support_matrix`]) {
      assert.ok(names.includes(`${expected}:R3`), `${expected} at three replicas among ${names.join(', ')}`);
    }
    assert.ok(
      names.every((name) => name.endsWith(':R3')),
      names.join(', '),
    );
  });

  it('places every stream and bucket on the nodes of the named cluster that carry the tag', async () => {
    const tagged = nats.nodes.filter((node) => node.tags.includes(BUS_TAG)).map((node) => node.name);
    const streams = await fleetStreams();
    assert.equal(streams.length, 7, streams.map((info) => info.config.name).join(', '));
    for (const info of streams) {
      assert.deepEqual({ cluster: info.config.placement?.cluster, tags: info.config.placement?.tags }, { cluster: nats.name, tags: [BUS_TAG] }, `${info.config.name}'s placement`);
      assert.equal(info.cluster?.name, nats.name, `${info.config.name} in the named cluster`);
      const holders = [info.cluster?.leader ?? '', ...(info.cluster?.replicas ?? []).map((peer) => peer.name)].sort();
      assert.deepEqual(holders, tagged, `${info.config.name} held by the tagged nodes only`);
    }
    // And JetStream holds to it: a stream asking for a tag no node carries is refused.
    await assert.rejects(fleet.bus.jsm.streams.add({ name: `${fleet.prefix.toUpperCase()}_UNPLACEABLE`, subjects: [`${fleet.prefix}.unplaceable`], num_replicas: 1, placement: { cluster: nats.name, tags: ['nowhere'] } }), /no suitable peers|insufficient resources/i);
  });

  it('provisions every cluster once while the events stream leader is killed and later restarted', async (t) => {
    const first = Array.from({ length: BEFORE_KILL }, (_, i) => `bus-${i}`);
    for (const id of first) await request(id);
    await untilRunning(BEFORE_KILL / 10, 'provisioning under way');

    const victim = await chooseVictim();
    const reconnecting = (await victim.clients()).filter((name) => SERVICES.includes(name as ServiceName));
    const runningAtKill = await runningCount();
    await victim.kill();
    t.diagnostic(`killed ${victim.name} (leading the events stream, serving ${reconnecting.join(', ') || 'no service'}) with ${runningAtKill} of ${BEFORE_KILL} clusters Running`);
    const survivors = nats.nodes.filter((node) => node !== victim);
    // Requests published while a node is down are stored by the two that are left.
    for (let i = 0; i < DURING_OUTAGE; i++) await request(`bus-${BEFORE_KILL + i}`);
    const newLeader = await eventually(async () => {
      const leader = await eventsLeader().catch(() => undefined);
      return leader && leader !== victim ? leader : undefined;
    }, 60_000, 'another node leading the events stream');
    assert.ok(survivors.includes(newLeader));
    assert.ok(newLeader.tags.includes(BUS_TAG), `the new leader ${newLeader.name} is a tagged node`);
    // The services that were connected to the killed node are connected to the others.
    await eventually(async () => {
      const connected = (await Promise.all(survivors.map((node) => node.clients()))).flat();
      return reconnecting.every((name) => connected.includes(name)) ? true : undefined;
    }, 60_000, `${reconnecting.join(', ')} connected to another node`);
    // Work goes on with two of three nodes before the third comes back.
    await untilRunning(BEFORE_KILL, `${BEFORE_KILL} clusters Running with ${victim.name} down`);

    t.diagnostic(`${await runningCount()} clusters Running when ${victim.name} restarts`);
    await nats.restart(victim);
    await untilRunning(BEFORE_KILL + DURING_OUTAGE, 'every cluster Running');
  });

  it('every cluster reached Running exactly once, no machine was created twice', async () => {
    const total = requested.size;
    await consumersCaughtUp(fleet.bus, fleet.prefix);
    const states = await terminalStates(fleet.db, 'bus-%');
    assert.equal(states.duplicatedCount, 0, `clusters Ready more than once: ${states.duplicated.join(', ')}`);
    assert.deepEqual(await simulatedMachines(fleet.db, 'bus-%'), { machines: total * 2, distinct: total * 2, clusters: total }, 'two machines per cluster, none created twice');

    const ready = await readyOnTheBus(fleet.bus, fleet.prefix, new Set(requested.keys()));
    assert.deepEqual(ready.missing, [], 'a ClusterReady on the stream for every cluster');
    assert.deepEqual(ready.repeated, [], 'and only one');
    const inboxed = await inboxCounts(fleet.db, 'inventory', ready.eventIds);
    assert.deepEqual(inboxed.map(({ n, distinct_ids }) => ({ n, distinct_ids })), [{ n: total, distinct_ids: total }], "each ClusterReady in the inventory's inbox once");
  });

  it("each request is in its consumers' inboxes once; outboxes and the dead-letter stream are empty", async () => {
    const ids = [...requested.values()];
    for (const schema of ['provisioner', 'inventory']) {
      const rows = await inboxCounts(fleet.db, schema, ids);
      assert.ok(rows.length > 0, `${schema} handled the requests`);
      for (const row of rows) assert.deepEqual(row, { consumer: row.consumer, n: ids.length, distinct_ids: ids.length }, `${schema}'s ${row.consumer} inbox`);
    }
    await outboxesDrained(fleet.db);
    assert.equal(await deadLetterCount(fleet.bus, fleet.prefix), 0, 'nothing dead-lettered');
  });

  it('ends with every service ready, and every stream and consumer at three replicas, all current', async () => {
    await Promise.all(nats.nodes.map((node) => node.healthy()));
    for (const service of fleet.processes) assert.equal((await fetch(`${service.url}/readyz`)).status, 200, `${service.name} ready`);
    let last = '';
    await eventually(
      async () => {
        const lagging: string[] = [];
        for (const info of await fleetStreams()) {
          if (info.config.num_replicas !== 3) lagging.push(`${info.config.name}: R${info.config.num_replicas}`);
          const peers = info.cluster?.replicas ?? [];
          if (!info.cluster?.leader || peers.length !== 2 || peers.some((peer) => !peer.current)) lagging.push(`${info.config.name}: ${JSON.stringify(info.cluster)}`);
          for await (const consumer of fleet.bus.jsm.consumers.list(info.config.name)) {
            // Key-value watchers are ordered consumers: ephemeral, one replica by design.
            if (!consumer.config.durable_name) continue;
            const replicas = consumer.cluster?.replicas ?? [];
            if (!consumer.cluster?.leader || replicas.length !== 2 || replicas.some((peer) => !peer.current)) lagging.push(`${info.config.name}/${consumer.name}: ${JSON.stringify(consumer.cluster)}`);
          }
        }
        last = lagging.join('; ');
        return lagging.length === 0 ? true : undefined;
      },
      60_000,
      'every stream and consumer replica current',
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last seen ${last}`);
    });
  });
});
