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
import type { MachineSpec } from '../provider.js';
import { SimulatedProvider } from './simulated.provider.js';

const settings = { bootMs: 0, failureRate: 0, apiErrorRate: 0, seed: 'test' };

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
  before(async () => {
    const secrets = await generateJoinSecrets('c1');
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

  it('keeps the format, hash and size of what a machine was created with, never the data', async () => {
    const { provider: cloud, dataSource } = await provider([SimulatedCloud1732300002100, SimBootstrapData1732300003500]);
    await cloud.createMachine(machine('c1-general-0', { bootstrapData }));
    assert.deepEqual(await cloud.receivedBootstrapData({ clusterId: 'c1', name: 'c1-general-0' }), {
      format: 'ignition',
      sha256: createHash('sha256').update(bootstrapData.content).digest('hex'),
      bytes: Buffer.byteLength(bootstrapData.content),
    });
    const rows: unknown[] = await dataSource.query(`SELECT * FROM sim_machines`);
    assert.ok(!JSON.stringify(rows).includes(token));

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
});
