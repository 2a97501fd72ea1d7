import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterRequested, createEvent, DEAD_LETTER_HEADERS, EventRejected, eventsSubject, streamName, type ClusterSpec } from '@flotilla/contracts';
import { publishEvent } from '@flotilla/messaging';
import { eventually } from '@flotilla/messaging/testing';
import { startOtlpReceiver, useInMemorySpans, type OtlpReceiver } from '@flotilla/telemetry/testing';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { context, trace } from '@opentelemetry/api';
import { Fleet } from './fleet-harness.js';

const SERVICES = ['inventory', 'provisioner', 'importer', 'upgrade-planner', 'tunnel-broker'] as const;

function spec(name: string, workers = 1): ClusterSpec {
  return {
    name,
    model: 'platform-provisioned',
    kubernetesVersion: '1.34',
    controlPlane: { count: 1, machineSize: 'small' },
    nodePools: workers > 0 ? [{ name: 'workers', count: workers, machineSize: 'small', labels: {}, taints: [] }] : [],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
  };
}

interface ClusterBody {
  status?: string;
  nodes?: { name: string }[];
  history?: { type: string; traceId: string | null }[];
}

describe('the five services as separate processes', { timeout: 300_000 }, () => {
  let fleet: Fleet;
  let receiver: OtlpReceiver;
  const spans = useInMemorySpans({ serviceName: 'outside-publisher' });
  const tracer = trace.getTracer('e2e-outside-publisher');

  before(async () => {
    receiver = await startOtlpReceiver();
    fleet = new Fleet({
      services: [...SERVICES],
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        SIM_BOOT_MS: '300',
      },
    });
    await fleet.start();
  });

  after(async () => {
    await fleet?.stop();
    await receiver?.close();
    await spans.shutdown();
  });

  const inventory = () => fleet.service('inventory');
  const cluster = async (id: string): Promise<ClusterBody> => (await fetch(`${inventory().url}/api/v1/clusters/${id}`, { headers: await fleet.auth('viewer') })).json() as Promise<ClusterBody>;
  const request = async (id: string, workers = 1): Promise<void> => {
    await publishEvent(fleet.bus.js, eventsSubject({ prefix: fleet.prefix }, ClusterRequested.channel), createEvent(ClusterRequested, { subject: id, source: '/another-platform-service' }, spec(id, workers)));
  };
  const running = async (ids: string[], timeoutMs: number) =>
    eventually(
      async () => {
        const { rows } = await fleet.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inventory.clusters WHERE id = ANY($1) AND status = 'Running'`, [ids]);
        return rows[0]?.n === ids.length ? true : undefined;
      },
      timeoutMs,
      `${ids.length} clusters Running`,
    );

  it('a ClusterRequested published from outside ends Running in the inventory, on one trace across the services', async () => {
    const root = tracer.startSpan('outside: request a cluster');
    await context.with(trace.setSpan(context.active(), root), () => request('traced-1', 2));
    root.end();
    const traceId = root.spanContext().traceId;

    const body = await eventually(async () => {
      const current = await cluster('traced-1');
      return current.status === 'Running' ? current : undefined;
    }, 30_000, 'traced-1 Running');
    assert.equal(body.nodes?.length, 3, 'one control-plane node and two workers');

    const received = await receiver.waitFor((span) => span.traceId === traceId && span.serviceName === 'inventory', 20_000);
    await receiver.waitFor((span) => span.traceId === traceId && span.serviceName === 'provisioner', 20_000);
    const services = new Set(receiver.spans().filter((span) => span.traceId === traceId).map((span) => span.serviceName));
    assert.ok(services.has('provisioner') && services.has('inventory'), `services on the trace: ${[...services].join(', ')}`);
    assert.ok(received.length > 0);
    const published = spans.spans().filter((span) => span.spanContext().traceId === traceId).map((span) => span.name);
    assert.ok(published.some((name) => name.startsWith('send ')), `the publisher's send span is on the same trace: ${JSON.stringify(spans.spans().map((span) => [span.name, span.spanContext().traceId]))} vs ${traceId}`);
  });

  it('every process verifies tokens itself: no token is 401, a viewer token reads', async () => {
    for (const [name, path] of [
      ['inventory', '/api/v1/clusters'],
      ['upgrade-planner', '/api/v1/upgrade-plans'],
      ['tunnel-broker', '/api/v1/tunnels'],
    ] as const) {
      const url = `${fleet.service(name).url}${path}`;
      const anonymous = await fetch(url);
      assert.equal(anonymous.status, 401, `${name} without a token`);
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer /, `${name}: challenge`);
      assert.equal((await fetch(url, { headers: await fleet.auth('viewer') })).status, 200, `${name} as viewer`);
    }
  });

  it('an operator grows a pool and deletes the cluster through the inventory API; the planner follows the node set', async () => {
    const api = inventory().url;
    const post = async (path: string, body: unknown, method = 'POST') =>
      fetch(`${api}${path}`, { method, headers: { 'content-type': 'application/json', ...(await fleet.auth('operator')) }, body: JSON.stringify(body) });
    const created = (await (await post('/api/v1/clusters', spec('ops', 1))).json()) as { id: string };
    const id = created.id;
    await eventually(async () => ((await cluster(id)).status === 'Running' ? true : undefined), 30_000, `${id} Running`);

    assert.equal((await post(`/api/v1/clusters/${id}/node-pools/workers/scale`, { count: 3 })).status, 202);
    await eventually(async () => ((await cluster(id)).nodes?.length === 4 ? true : undefined), 30_000, `${id} with 4 nodes`);
    await eventually(
      async () => {
        const { rows } = await fleet.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM upgrade_planner.fleet_clusters, jsonb_array_elements(nodes) AS node WHERE id = $1 AND NOT coalesce((node->>'removed')::boolean, false)`, [id]);
        return rows[0]?.n === 4 ? true : undefined;
      },
      20_000,
      'the planner sees 4 nodes',
    );

    assert.equal((await post(`/api/v1/clusters/${id}`, { reason: 'end of the test' }, 'DELETE')).status, 202);
    const deleted = await eventually(async () => {
      const current = await cluster(id);
      return current.status === 'Deleted' ? current : undefined;
    }, 30_000, `${id} Deleted`);
    const types = deleted.history?.map((entry) => entry.type) ?? [];
    assert.ok(types.includes('io.flotilla.cluster.node-pool-scaled.v1') && types.includes('io.flotilla.cluster.deleted.v1'), types.join(', '));
    const { rows } = await fleet.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM provisioner.sim_machines WHERE cluster_id = $1`, [id]);
    assert.equal(rows[0]?.n, 0, 'every machine released');
  });

  it('a provisioner SIGKILLed with 200 requests in flight: every cluster Running exactly once, no machine created twice, outboxes empty', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `crash-${i}`);
    await Promise.all(ids.map((id) => request(id, 1)));
    await eventually(async () => {
      const { rows } = await fleet.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inventory.clusters WHERE id LIKE 'crash-%' AND status <> 'Pending'`);
      return (rows[0]?.n ?? 0) >= 20 ? true : undefined;
    }, 30_000, 'provisioning under way');
    await fleet.service('provisioner').kill();
    await fleet.service('provisioner').start();

    await running(ids, 180_000);
    const readyTwice = await fleet.db.query(
      `SELECT cluster_id FROM inventory.cluster_events WHERE type = 'io.flotilla.cluster.ready.v1' AND cluster_id LIKE 'crash-%' GROUP BY cluster_id HAVING count(*) > 1`,
    );
    assert.equal(readyTwice.rowCount, 0, 'no cluster became Ready twice');
    const machines = await fleet.db.query<{ n: number; distinct_names: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT (cluster_id, name))::int AS distinct_names FROM provisioner.sim_machines WHERE cluster_id LIKE 'crash-%'`,
    );
    assert.equal(machines.rows[0]?.n, ids.length * 2, 'two machines per cluster, none created twice');
    assert.equal(machines.rows[0]?.distinct_names, ids.length * 2);
    await eventually(async () => {
      for (const schema of ['inventory', 'provisioner', 'importer', 'upgrade_planner', 'tunnel_broker']) {
        const { rows } = await fleet.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.outbox WHERE published_at IS NULL`);
        if (rows[0]?.n !== 0) return undefined;
      }
      return true;
    }, 20_000, 'every outbox drained');
  });

  it('two provisioner replicas share the work, each request handled once', async () => {
    const second = await fleet.add('provisioner', 'b');
    const ids = Array.from({ length: 60 }, (_, i) => `shared-${i}`);
    await Promise.all(ids.map((id) => request(id, 1)));
    await running(ids, 120_000);
    const counts = await Promise.all(
      [fleet.service('provisioner'), second].map(async (replica) => {
        const metrics = await (await fetch(`${replica.url}/metrics`)).text();
        const line = metrics.split('\n').find((l) => l.startsWith('flotilla_events_consumed_total{consumer="provisioner__cluster_requested_v1",outcome="handled"}'));
        return Number(line?.split(' ').at(-1) ?? 0);
      }),
    );
    assert.ok(counts.every((n) => n > 0), `both replicas handled requests: ${counts.join(', ')}`);
    const machines = await fleet.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM provisioner.sim_machines WHERE cluster_id LIKE 'shared-%'`);
    assert.equal(machines.rows[0]?.n, ids.length * 2);
    await second.stop();
  });

  it('a malformed event lands in the dead-letter stream with its reason, an EventRejected is emitted, and the services keep serving', async () => {
    const headers = natsHeaders();
    for (const [key, value] of Object.entries({ 'ce-specversion': '1.0', 'ce-id': 'malformed-1', 'ce-source': '/somebody', 'ce-type': ClusterRequested.type, 'ce-subject': 'malformed-1', 'ce-time': new Date().toISOString(), 'content-type': 'application/json' })) headers.set(key, value);
    await fleet.bus.js.publish(eventsSubject({ prefix: fleet.prefix }, ClusterRequested.channel), JSON.stringify({ name: 'broken', model: 'platform-provisioned' }), { headers, msgID: 'malformed-1' });

    const dlq = streamName({ prefix: fleet.prefix }, 'dlq');
    const letter = await eventually(async () => {
      const message = await fleet.bus.jsm.streams.getMessage(dlq, { last_by_subj: `${fleet.prefix}.dlq.provisioner__cluster_requested_v1` }).catch(() => null);
      return message ?? undefined;
    }, 20_000, 'the dead letter');
    assert.equal(letter.header?.get(DEAD_LETTER_HEADERS.code), 'schema-invalid');
    assert.match(letter.header?.get(DEAD_LETTER_HEADERS.reason) ?? '', /data\.kubernetesVersion/);

    const rejected = await eventually(async () => {
      const { rows } = await fleet.db.query<{ summary: string }>(`SELECT summary FROM inventory.cluster_events WHERE cluster_id = 'malformed-1' AND type = $1`, [EventRejected.type]);
      return rows.length > 0 ? rows : undefined;
    }, 20_000, 'EventRejected in the inventory history');
    assert.match(rejected[0]?.summary ?? '', /schema-invalid/);

    for (const service of fleet.processes.filter((p) => p.replica === 'a')) assert.equal((await fetch(`${service.url}/healthz`)).status, 200, `${service.name} still serving`);
    await request('after-poison', 1);
    await running(['after-poison'], 30_000);
  });
});
