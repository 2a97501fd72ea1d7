import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ClusterSpec } from '@flotilla/contracts';
import { createTestSchema, type TestSchema } from '@flotilla/messaging/testing';
import { DataSource } from 'typeorm';
import { generateJoinSecrets } from '../../bootstrap/join-secrets.js';
import { renderBootstrapData } from '../../bootstrap/render/index.js';
import { SimulatedCloud1732300002100 } from '../../migrations/1732300002100-simulated-cloud.js';
import { SimBootstrapData1732300003500 } from '../../migrations/1732300003500-sim-bootstrap-data.js';
import { SimulatedNodeHealth1732300007100 } from '../../migrations/1732300007100-simulated-node-health.js';
import { SimJoinMaterial1732300017100 } from '../../migrations/1732300017100-sim-join-material.js';
import { SimEndpoints1732300018100 } from '../../migrations/1732300018100-sim-endpoints.js';
import { SimLiveControlPlane1732300022000 } from '../../migrations/1732300022000-sim-live-control-plane.js';
import { Clock } from '@flotilla/service-kit';
import { generateBootstrapToken, type JoinSecrets } from '../../bootstrap/join-secrets.js';
import { endpointAddress, type MachineSpec } from '../provider.js';
import { JOIN_STATES_SQL, SimulatedClusters } from './simulated-clusters.js';
import { SimulatedProvider } from './simulated.provider.js';

const HOUR_MS = 3_600_000;

const settings = { bootMs: 0, failureRate: 0, apiErrorRate: 0, seed: 'test' };
const ALL_SIM_MIGRATIONS = [SimulatedCloud1732300002100, SimBootstrapData1732300003500, SimulatedNodeHealth1732300007100, SimJoinMaterial1732300017100, SimEndpoints1732300018100, SimLiveControlPlane1732300022000];

function machine(name: string, extra: Partial<MachineSpec> = {}): MachineSpec {
  return { clusterId: 'c1', name, role: 'worker', pool: 'general', machineSize: 'm', kubernetesVersion: '1.34', nodeOs: 'flatcar', host: null, parameters: {}, ...extra };
}

describe('simulated provider: bootstrap data', () => {
  const schemas: TestSchema[] = [];
  const dataSources: DataSource[] = [];

  async function provider(migrations: Parameters<typeof createTestSchema>[0]): Promise<{ provider: SimulatedProvider; dataSource: DataSource }> {
    const schema = await createTestSchema(migrations, 'simboot');
    schemas.push(schema);
    const dataSource = new DataSource(schema.dataSourceOptions());
    await dataSource.initialize();
    dataSources.push(dataSource);
    return { provider: new SimulatedProvider(dataSource, settings), dataSource };
  }

  let bootstrapData: NonNullable<MachineSpec['bootstrapData']>;
  let token: string;
  let secrets: JoinSecrets;
  before(async () => {
    secrets = await generateJoinSecrets('c1');
    token = secrets.bootstrapToken;
    const spec = ClusterSpec.parse({ name: 'c1', model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 1, machineSize: 'm' }, nodePools: [{ name: 'general', count: 1, machineSize: 'm' }] });
    bootstrapData = renderBootstrapData({
      clusterId: 'c1',
      spec,
      node: { name: 'c1-general-0', role: 'worker', pool: 'general', first: false, address: '172.16.0.2' },
      controlPlaneEndpoint: '172.16.0.1:6443',
      secrets,
      nodeOs: 'flatcar',
    });
  });

  after(async () => {
    for (const dataSource of dataSources) await dataSource.destroy();
    for (const schema of schemas) await schema.drop();
  });

  it('answers each API call after its latency (SIM_API_LATENCY_MS)', async () => {
    const schema = await createTestSchema([SimulatedCloud1732300002100, SimBootstrapData1732300003500, SimJoinMaterial1732300017100, SimEndpoints1732300018100], 'simlatency');
    schemas.push(schema);
    const dataSource = new DataSource(schema.dataSourceOptions());
    await dataSource.initialize();
    dataSources.push(dataSource);
    const waits: number[] = [];
    const cloud = new SimulatedProvider(dataSource, { ...settings, apiLatencyMs: 250 }, async (ms) => void waits.push(ms));
    await cloud.ensureControlPlaneEndpoint('c1');
    await cloud.createMachine(machine('c1-general-0'));
    await cloud.getMachine({ clusterId: 'c1', name: 'c1-general-0' });
    await cloud.listMachines('c1');
    await cloud.deleteMachine({ clusterId: 'c1', name: 'c1-general-0' });
    await cloud.releaseControlPlaneEndpoint('c1');
    assert.deepEqual(waits, [250, 250, 250, 250, 250, 250]);
    const atOnce: number[] = [];
    await new SimulatedProvider(dataSource, settings, async (ms) => void atOnce.push(ms)).getMachine({ clusterId: 'c1', name: 'c1-general-0' });
    assert.deepEqual(atOnce, [], 'no latency by default');
  });

  it('keeps the format, hash and size of what a machine was created with, never the data', async () => {
    const { provider: cloud, dataSource } = await provider([SimulatedCloud1732300002100, SimBootstrapData1732300003500, SimJoinMaterial1732300017100]);
    await cloud.createMachine(machine('c1-general-0', { bootstrapData }));
    assert.deepEqual(await cloud.receivedBootstrapData({ clusterId: 'c1', name: 'c1-general-0' }), {
      format: 'ignition',
      sha256: createHash('sha256').update(bootstrapData.content).digest('hex'),
      bytes: Buffer.byteLength(bootstrapData.content),
    });
    const rows: unknown[] = await dataSource.query(`SELECT * FROM sim_machines`);
    assert.ok(!JSON.stringify(rows).includes(token));
    assert.ok(!JSON.stringify(rows).includes(secrets.bootstrapToken.split('.')[1]!), 'not even the token\'s secret half');

    // A second create reaches the existing machine, which keeps what it booted with.
    await cloud.createMachine(machine('c1-general-0', { bootstrapData: { format: 'ignition', content: '{}' } }));
    assert.equal((await cloud.receivedBootstrapData({ clusterId: 'c1', name: 'c1-general-0' }))?.bytes, Buffer.byteLength(bootstrapData.content));

    await cloud.createMachine(machine('c1-general-1'));
    assert.equal(await cloud.receivedBootstrapData({ clusterId: 'c1', name: 'c1-general-1' }), undefined);
  });

  it('creates machines without bootstrap data on a schema without the bootstrap columns', async () => {
    const { provider: cloud } = await provider([SimulatedCloud1732300002100]);
    const created = await cloud.createMachine(machine('c1-general-0'));
    assert.equal(created.status, 'Running');
  });

  describe('its clusters refuse join material that ran out, as kubeadm does', () => {
    class MovableClock extends Clock {
      offsetMs = 0;
      override now(): Date {
        return new Date(Date.now() + this.offsetMs);
      }
    }
    const clusterSpec = ClusterSpec.parse({ name: 'j1', model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 3, machineSize: 'm' }, nodePools: [{ name: 'general', count: 3, machineSize: 'm' }] });
    const clock = new MovableClock();
    let cloud: SimulatedProvider;
    let clusters: SimulatedClusters;
    let joinSecrets: JoinSecrets;

    /** Creates the machine with first-boot data rendered from `withSecrets`, and runs its kubeadm once. */
    async function boot(name: string, withSecrets: JoinSecrets, nodeOs: 'flatcar' | 'microos' = 'flatcar') {
      const controlPlane = name.includes('-cp-');
      const data = renderBootstrapData({
        clusterId: 'j1',
        spec: clusterSpec,
        node: { name, role: controlPlane ? 'control-plane' : 'worker', pool: controlPlane ? null : 'general', first: name === 'j1-cp-0', address: null },
        controlPlaneEndpoint: 'api.j1.example.com:6443',
        secrets: withSecrets,
        nodeOs,
      });
      await cloud.createMachine({ ...machine(name, { bootstrapData: data, nodeOs }), clusterId: 'j1', role: controlPlane ? 'control-plane' : 'worker' });
      return clusters.join('j1', name);
    }

    before(async () => {
      ({ provider: cloud } = await provider([SimulatedCloud1732300002100, SimBootstrapData1732300003500, SimulatedNodeHealth1732300007100, SimJoinMaterial1732300017100, SimEndpoints1732300018100]));
      const dataSource = dataSources.at(-1)!;
      clusters = new SimulatedClusters(dataSource, clock);
      joinSecrets = await generateJoinSecrets('j1');
    });

    it('before init there is no API server: joins wait, and nothing can be minted', async () => {
      assert.deepEqual(await boot('j1-general-0', joinSecrets), { state: 'joining' });
      await assert.rejects(clusters.createBootstrapToken('j1', generateBootstrapToken(), 24 * HOUR_MS), /no API server yet/);
      await assert.rejects(clusters.uploadCertificates('j1', joinSecrets.certificateKey), /no API server yet/);
    });

    it('init makes the cluster with its token and certificates; joins with them succeed, from either format', async () => {
      assert.deepEqual(await boot('j1-cp-0', joinSecrets), { state: 'joined' });
      assert.deepEqual(await clusters.join('j1', 'j1-general-0'), { state: 'joined' });
      assert.deepEqual(await boot('j1-cp-1', joinSecrets, 'microos'), { state: 'joined' });
      // A machine without first-boot kubeadm is not the simulated cluster's business.
      await cloud.createMachine({ ...machine('j1-plain'), clusterId: 'j1' });
      assert.equal(await clusters.join('j1', 'j1-plain'), undefined);
    });

    it('3 h later a control plane is refused until the certificates are uploaded again, under its key', async () => {
      clock.offsetMs = 3 * HOUR_MS;
      assert.deepEqual(await boot('j1-cp-2', joinSecrets), { state: 'failed', message: 'kubeadm join: error downloading certs: error downloading the secret: secrets "kubeadm-certs" not found' });
      await clusters.uploadCertificates('j1', 'f'.repeat(64));
      assert.deepEqual(await clusters.join('j1', 'j1-cp-2'), { state: 'failed', message: 'kubeadm join: error downloading certs: error decoding certificate key: cipher: message authentication failed' });
      await clusters.uploadCertificates('j1', joinSecrets.certificateKey);
      assert.deepEqual(await clusters.join('j1', 'j1-cp-2'), { state: 'joined' });
      // Workers need no certificates.
      assert.deepEqual(await boot('j1-general-1', joinSecrets), { state: 'joined' });
    });

    it('25 h later the first token is gone: a worker with it is refused, one with a token minted in the cluster joins; nodes that joined stay joined', async () => {
      clock.offsetMs = 25 * HOUR_MS;
      const tokenId = joinSecrets.bootstrapToken.split('.')[0]!;
      assert.deepEqual(await boot('j1-general-2', joinSecrets), {
        state: 'failed',
        message: `kubeadm join: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "${tokenId}"`,
      });
      const fresh = { ...joinSecrets, bootstrapToken: generateBootstrapToken() };
      // A token the cluster was never given is as unknown as an expired one.
      assert.equal((await boot('j1-general-3', fresh))?.state, 'failed');
      await clusters.createBootstrapToken('j1', fresh.bootstrapToken, 24 * HOUR_MS);
      await assert.rejects(clusters.createBootstrapToken('j1', fresh.bootstrapToken, 24 * HOUR_MS), /already exists/);
      assert.deepEqual(await clusters.join('j1', 'j1-general-3'), { state: 'joined' });
      assert.deepEqual(await clusters.join('j1', 'j1-general-0'), { state: 'joined' });
    });

    it('the cluster goes with its last machine', async () => {
      for (const { name } of await cloud.listMachines('j1')) await cloud.deleteMachine({ clusterId: 'j1', name });
      const dataSource = dataSources.at(-1)!;
      assert.deepEqual(await dataSource.query(`SELECT cluster_id FROM sim_clusters WHERE cluster_id = 'j1'`), []);
      assert.deepEqual(await dataSource.query(`SELECT token_id FROM sim_bootstrap_tokens WHERE cluster_id = 'j1'`), []);
    });
  });

  describe('its load balancers: one stable address per cluster, routing to a live control plane', () => {
    const clusterSpec = ClusterSpec.parse({ name: 'lb1', model: 'platform-provisioned', kubernetesVersion: '1.34', controlPlane: { count: 3, machineSize: 'm' }, nodePools: [{ name: 'general', count: 1, machineSize: 'm' }] });
    let cloud: SimulatedProvider;
    let clusters: SimulatedClusters;
    let joinSecrets: JoinSecrets;
    let endpoint: string;

    async function boot(name: string, controlPlaneEndpoint: string) {
      const controlPlane = name.includes('-cp-');
      const data = renderBootstrapData({
        clusterId: 'lb1',
        spec: clusterSpec,
        node: { name, role: controlPlane ? 'control-plane' : 'worker', pool: controlPlane ? null : 'general', first: name === 'lb1-cp-0', address: null },
        controlPlaneEndpoint,
        secrets: joinSecrets,
        nodeOs: 'flatcar',
      });
      await cloud.createMachine({ ...machine(name, { bootstrapData: data }), clusterId: 'lb1', role: controlPlane ? 'control-plane' : 'worker' });
      return clusters.join('lb1', name);
    }

    before(async () => {
      ({ provider: cloud } = await provider(ALL_SIM_MIGRATIONS));
      clusters = new SimulatedClusters(dataSources.at(-1)!, new Clock());
      joinSecrets = await generateJoinSecrets('lb1');
    });

    it('is allocated once per cluster: the same address on every call, another cluster another one', async () => {
      const first = await cloud.ensureControlPlaneEndpoint('lb1');
      assert.deepEqual(await cloud.ensureControlPlaneEndpoint('lb1'), first);
      assert.equal(first.port, 6443);
      assert.notEqual((await cloud.ensureControlPlaneEndpoint('lb2')).host, first.host);
      endpoint = endpointAddress(first);
      assert.deepEqual(await cloud.endpointRoute('lb1'), { endpoint, routesTo: null }, 'nothing behind it before init');
    });

    it('routes to the first control plane once it ran init; nodes join through it, never at a machine\'s own address', async () => {
      assert.deepEqual(await boot('lb1-cp-0', endpoint), { state: 'joined' });
      assert.deepEqual(await cloud.endpointRoute('lb1'), { endpoint, routesTo: 'lb1-cp-0' });
      assert.deepEqual(await boot('lb1-cp-1', endpoint), { state: 'joined' });
      const [cp0Address] = (await cloud.getMachine({ clusterId: 'lb1', name: 'lb1-cp-0' }))!.addresses;
      const direct = await boot('lb1-general-0', `${cp0Address}:6443`);
      assert.equal(direct?.state, 'failed');
      assert.match(direct?.state === 'failed' ? direct.message : '', /no route to host/);
    });

    it('keeps its address when the first control plane goes: it routes to one still there, and joins go on', async () => {
      await cloud.deleteMachine({ clusterId: 'lb1', name: 'lb1-cp-0' });
      assert.deepEqual(await cloud.endpointRoute('lb1'), { endpoint, routesTo: 'lb1-cp-1' });
      assert.deepEqual(await boot('lb1-cp-2', endpoint), { state: 'joined' });
      await cloud.deleteMachine({ clusterId: 'lb1', name: 'lb1-cp-1' });
      await cloud.deleteMachine({ clusterId: 'lb1', name: 'lb1-cp-2' });
      assert.deepEqual(await cloud.endpointRoute('lb1'), { endpoint, routesTo: null });
      assert.deepEqual(await boot('lb1-general-1', endpoint), { state: 'joining' }, 'no live API server behind it: the join waits');
    });

    it('is released once, and releasing it again is no error', async () => {
      await cloud.releaseControlPlaneEndpoint('lb1');
      await cloud.releaseControlPlaneEndpoint('lb1');
      assert.equal(await cloud.endpointRoute('lb1'), undefined);
    });
  });
});

describe('simulated cloud at scale', () => {
  let schema: TestSchema;
  let dataSource: DataSource;

  before(async () => {
    schema = await createTestSchema(ALL_SIM_MIGRATIONS, 'simscale');
    dataSource = new DataSource(schema.dataSourceOptions());
    await dataSource.initialize();
  });

  after(async () => {
    await dataSource.destroy();
    await schema.drop();
  });

  it('reads join states at a cost below the JIT threshold on 130,000 machines without statistics', async () => {
    // 10,000 initialised clusters behind their load balancers, 13 joined machines each, inserted in bulk (never analysed).
    await dataSource.query(`INSERT INTO sim_endpoints (cluster_id, address, port) SELECT 's-' || i, '198.18.' || (i / 250) || '.' || (i % 250), 6443 FROM generate_series(0, 9999) i`);
    await dataSource.query(`INSERT INTO sim_clusters (cluster_id, initialised_at) SELECT cluster_id, now() FROM sim_endpoints`);
    await dataSource.query(`INSERT INTO sim_bootstrap_tokens (cluster_id, token_id, secret_sha256, expires_at) SELECT cluster_id, 'abcdef', md5(cluster_id), now() + interval '1 day' FROM sim_endpoints`);
    await dataSource.query(
      `INSERT INTO sim_machines (provider_id, cluster_id, name, role, addresses, fails, ready_at, kubeadm)
       SELECT 'simulated:///s-' || i || '/m-' || j, 's-' || i, 's-' || i || '-m-' || j, CASE WHEN j < 3 THEN 'control-plane' ELSE 'worker' END, '[]', false, now(),
              jsonb_build_object('action', 'join', 'tokenId', 'abcdef')
         FROM generate_series(0, 9999) i, generate_series(0, 12) j`,
    );
    // Joined afterwards, as machines are: the table holds both versions of each row (nothing vacuums it).
    await dataSource.query(`UPDATE sim_machines SET joined_at = now()`);
    // A turn's reads: up to PROVIDER_CONCURRENCY (32) machines of a few clusters.
    const keys = Array.from({ length: 32 }, (_, index) => ({ clusterId: `s-${9000 + Math.floor(index / 13)}`, name: `s-${9000 + Math.floor(index / 13)}-m-${index % 13}` }));
    const parameters = [keys.map((key) => key.clusterId), keys.map((key) => key.name)];
    const [plan] = await dataSource.query<{ 'QUERY PLAN': [{ Plan: { 'Total Cost': number } }] }[]>(`EXPLAIN (FORMAT JSON) ${JOIN_STATES_SQL}`, parameters);
    const [threshold] = await dataSource.query<{ jit_above_cost: string }[]>(`SHOW jit_above_cost`);
    const cost = plan!['QUERY PLAN'][0].Plan['Total Cost'];
    assert.ok(cost < Number(threshold!.jit_above_cost), `estimated cost ${cost}, JIT from ${threshold!.jit_above_cost}`);
    const rows = await dataSource.query<{ name: string; routes_to: string; initialised: boolean; token_sha256: string }[]>(JOIN_STATES_SQL, parameters);
    assert.equal(rows.length, 32);
    assert.ok(rows.every((row) => row.initialised && row.token_sha256 !== null && row.routes_to === `${row.name.slice(0, row.name.lastIndexOf('-m-'))}-m-0`));
  });
});
