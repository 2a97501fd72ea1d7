import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ClusterSpec } from '@flotilla/contracts';
import { MESSAGING_MIGRATIONS, UnitOfWork } from '@flotilla/messaging';
import { KeyRing, SecretStore, secretsEntities, secretsMigrations } from '@flotilla/secrets';
import { Clock } from '@flotilla/service-kit';
import { createTestSchema, eventually, type TestSchema } from '@flotilla/messaging/testing';
import { DataSource } from 'typeorm';
import { HostedControlPlanePlacement, hostedEntities, hostedMigrations, ManagementClusterRegistry, type PlacementResult } from '../src/hosted/index.js';
import type { RegisterManagementClusterBody } from '../src/hosted/management-cluster.js';
import { ManagementClusterAccess } from '../src/hosted/management-credentials.js';
import { selfSignedServer } from './support/tls.js';

const Mi = 1024 ** 2;
const Gi = 1024 ** 3;
/** A small control plane with one replica reserves 450m CPU and 960 MiB. */
const SMALL = { cpuMillicores: 450, memoryBytes: 960 * Mi };
const CA = selfSignedServer('management-ca').cert;

function hostedSpec(workers = 3, count: 1 | 3 | 5 = 1): ClusterSpec {
  return {
    name: 'tenant',
    model: 'hosted-control-plane',
    kubernetesVersion: '1.34',
    controlPlane: { count, machineSize: 'hosted' },
    nodePools: [{ name: 'workers', count: workers, machineSize: 'm', labels: {}, taints: [] }],
    network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
    hosted: { workerModel: 'platform-provisioned' },
  };
}

function managementCluster(name: string, capacity: Partial<RegisterManagementClusterBody['capacity']> = {}): RegisterManagementClusterBody {
  return {
    name,
    apiEndpoint: `https://${name}.example.com:6443`,
    ingressDomain: `${name}.hcp.example.com`,
    dataStore: 'default',
    credentials: { certificateAuthority: CA, token: `token-of-${name}` },
    capacity: { cpuMillicores: 16_000, memoryBytes: 64 * Gi, maxControlPlanes: 50, ...capacity },
    labels: {},
    state: 'active',
  };
}

function placedOn(result: PlacementResult): string {
  assert.ok(result.ok, result.ok ? '' : `${result.code}: ${result.message}`);
  return result.placement.managementCluster;
}

describe('hosted control-plane placement on real PostgreSQL', () => {
  let schema: TestSchema;
  let dataSource: DataSource;
  let unitOfWork: UnitOfWork;
  let registry: ManagementClusterRegistry;
  let placement: HostedControlPlanePlacement;

  before(async () => {
    schema = await createTestSchema([...MESSAGING_MIGRATIONS, ...hostedMigrations, ...secretsMigrations], 'hcp');
    dataSource = await new DataSource(schema.dataSourceOptions({ entities: [...hostedEntities, ...secretsEntities] })).initialize();
    unitOfWork = new UnitOfWork(dataSource, { service: 'provisioner', prefix: 'hcp-test' });
    const secrets = new SecretStore(unitOfWork, KeyRing.parse(KeyRing.generateConfigValue(['k1'])));
    // Registering seals credentials; nothing here uses them, so no use is audited.
    registry = new ManagementClusterRegistry(unitOfWork, new ManagementClusterAccess(secrets, { recordUse: () => Promise.resolve() }));
    placement = new HostedControlPlanePlacement(unitOfWork, registry, new Clock());
  });

  after(async () => {
    await dataSource.destroy();
    await schema.drop();
  });

  beforeEach(async () => {
    await dataSource.query(`TRUNCATE hosted_control_planes, management_clusters`);
  });

  async function register(...clusters: RegisterManagementClusterBody[]): Promise<void> {
    for (const cluster of clusters) assert.ok((await registry.register(cluster)).ok);
  }

  async function rows(): Promise<{ cluster_id: string; management_cluster: string }[]> {
    return dataSource.query(`SELECT cluster_id, management_cluster FROM hosted_control_planes ORDER BY cluster_id`);
  }

  it('nothing registered: no-management-cluster, and nothing is reserved', async () => {
    const result = await placement.reserve('t-1', hostedSpec());
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.code, 'no-management-cluster');
    assert.deepEqual(await rows(), []);
  });

  it('reserves on a management cluster: size, reservation, namespace, join endpoint and the TenantControlPlane are stored', async () => {
    await register(managementCluster('mgmt-a'));
    const result = await placement.reserve('shop-1', hostedSpec(20, 3));
    assert.ok(result.ok);
    const { placement: placed } = result;
    assert.deepEqual(
      { clusterId: placed.clusterId, managementCluster: placed.managementCluster, size: placed.size, namespace: placed.namespace, endpoint: placed.endpoint },
      { clusterId: 'shop-1', managementCluster: 'mgmt-a', size: 'medium', namespace: 'hcp-shop-1', endpoint: 'shop-1.mgmt-a.hcp.example.com:6443' },
    );
    const manifest = placed.manifest as { kind: string; spec: { controlPlane: { deployment: { replicas: number } }; kubernetes: { version: string }; networkProfile: { certSANs: string[] } } };
    assert.equal(manifest.kind, 'TenantControlPlane');
    assert.equal(manifest.spec.controlPlane.deployment.replicas, 3);
    assert.equal(manifest.spec.kubernetes.version, 'v1.34.0');
    assert.deepEqual(manifest.spec.networkProfile.certSANs, ['shop-1.mgmt-a.hcp.example.com']);
    assert.equal(await placement.joinEndpoint('shop-1'), undefined, 'workers join once its TenantControlPlane is Ready');
    assert.equal(await placement.joinEndpoint('unknown'), undefined);
    const [load] = await registry.loads('mgmt-a');
    assert.deepEqual(load!.used, { cpuMillicores: 900 * 3, memoryBytes: 1920 * Mi * 3, controlPlanes: 1 });
  });

  it('is idempotent per cluster id: the same cluster again gets its existing placement, even where another cluster now has more room', async () => {
    await register(managementCluster('mgmt-a'));
    const first = await placement.reserve('shop-1', hostedSpec());
    await register(managementCluster('mgmt-b', { cpuMillicores: 64_000 }));
    const again = await placement.reserve('shop-1', hostedSpec(80, 5));
    assert.deepEqual(again, first);
    assert.deepEqual(await rows(), [{ cluster_id: 'shop-1', management_cluster: 'mgmt-a' }]);
  });

  it('spreads control planes over the management clusters with the most room', async () => {
    await register(managementCluster('mgmt-a'), managementCluster('mgmt-b'), managementCluster('mgmt-c', { cpuMillicores: 4000 }));
    const placed: string[] = [];
    for (let index = 0; index < 9; index++) placed.push(placedOn(await placement.reserve(`t-${index}`, hostedSpec())));
    // a and b have four times c's CPU: they take turns until their CPU is as used as c's would be
    // with one control plane; ties go to the first name.
    assert.deepEqual(placed, ['mgmt-a', 'mgmt-b', 'mgmt-a', 'mgmt-b', 'mgmt-a', 'mgmt-b', 'mgmt-a', 'mgmt-b', 'mgmt-c']);
  });

  it('two concurrent transactions for the last room: the second waits on the row lock, re-checks, and is refused', async () => {
    await register(managementCluster('mgmt-a', { cpuMillicores: SMALL.cpuMillicores * 2 }));
    assert.ok((await placement.reserve('first', hostedSpec())).ok);

    let commitFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (commitFirst = resolve));
    let firstReserved!: (result: PlacementResult) => void;
    const firstReservation = new Promise<PlacementResult>((resolve) => (firstReserved = resolve));
    const first = unitOfWork.run(async () => {
      firstReserved(await placement.reserve('second', hostedSpec()));
      await firstMayCommit; // holds the row lock, uncommitted
    });
    assert.ok((await firstReservation).ok);

    const second = unitOfWork.run(() => placement.reserve('third', hostedSpec()));
    try {
      // The second transaction really is blocked on the management cluster's row lock.
      await eventually(async () => {
        const waiting = await dataSource.query<unknown[]>(
          `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND state = 'active' AND query LIKE '%management_clusters%FOR UPDATE%' AND query LIKE $1`,
          [`%${schema.schema}%`],
        );
        return waiting.length > 0 ? true : undefined;
      }, 5_000, 'the second reserve to wait on the lock');
    } finally {
      commitFirst();
      await first;
    }

    const refused = await second;
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.code, 'management-capacity-exhausted');
    assert.match(!refused.ok ? refused.message : '', /needed 450m CPU, 960 MiB memory .* largest free room is 0m CPU \(mgmt-a\)/);
    assert.deepEqual(await rows(), [
      { cluster_id: 'first', management_cluster: 'mgmt-a' },
      { cluster_id: 'second', management_cluster: 'mgmt-a' },
    ]);
  });

  it('many concurrent reserves never over-commit: exactly as many win as there is room for', async () => {
    await register(managementCluster('mgmt-a', { cpuMillicores: SMALL.cpuMillicores * 2 }), managementCluster('mgmt-b', { maxControlPlanes: 1 }));
    const results = await Promise.all(Array.from({ length: 8 }, (_, index) => unitOfWork.run(() => placement.reserve(`race-${index}`, hostedSpec()))));
    assert.equal(results.filter((result) => result.ok).length, 3);
    assert.ok(results.filter((result) => !result.ok).every((result) => !result.ok && result.code === 'management-capacity-exhausted'));
    for (const load of await registry.loads()) {
      assert.ok(load.used.cpuMillicores <= load.capacity.cpuMillicores && load.used.controlPlanes <= load.capacity.maxControlPlanes, JSON.stringify(load));
    }
    assert.equal((await rows()).length, 3);
  });

  it('concurrent reserves of the same cluster id make one placement', async () => {
    await register(managementCluster('mgmt-a'), managementCluster('mgmt-b'));
    const results = await Promise.all(Array.from({ length: 4 }, () => unitOfWork.run(() => placement.reserve('same', hostedSpec()))));
    assert.equal(new Set(results.map(placedOn)).size, 1);
    assert.equal((await rows()).length, 1);
  });

  it("joins the caller's transaction: a rolled-back reserve or release leaves nothing behind", async () => {
    await register(managementCluster('mgmt-a'));
    await assert.rejects(
      unitOfWork.run(async () => {
        assert.ok((await placement.reserve('rolled-back', hostedSpec())).ok);
        throw new Error('the cluster write failed');
      }),
      /the cluster write failed/,
    );
    assert.deepEqual(await rows(), []);
    assert.ok((await placement.reserve('kept', hostedSpec())).ok);
    await assert.rejects(
      unitOfWork.run(async () => {
        await placement.release('kept');
        throw new Error('rolled back');
      }),
    );
    assert.deepEqual(await rows(), [{ cluster_id: 'kept', management_cluster: 'mgmt-a' }]);
  });

  it('release frees the room for the next control plane; releasing again changes nothing', async () => {
    await register(managementCluster('mgmt-a', { maxControlPlanes: 1 }));
    assert.ok((await placement.reserve('one', hostedSpec())).ok);
    const full = await placement.reserve('two', hostedSpec());
    assert.equal(!full.ok && full.code, 'management-capacity-exhausted');
    assert.match(!full.ok ? full.message : '', /0 control-plane slot\(s\) \(mgmt-a\)/);

    await unitOfWork.run(() => placement.release('one'));
    await placement.release('one');
    assert.equal(await placement.joinEndpoint('one'), undefined);
    assert.equal(placedOn(await placement.reserve('two', hostedSpec())), 'mgmt-a');
  });

  it('a cordoned management cluster takes no new control planes and keeps the ones it has', async () => {
    await register(managementCluster('mgmt-a'), managementCluster('mgmt-b'));
    assert.equal(placedOn(await placement.reserve('on-a', hostedSpec())), 'mgmt-a');
    assert.ok((await registry.update('mgmt-a', { state: 'cordoned' })).ok);
    assert.equal(placedOn(await placement.reserve('next', hostedSpec())), 'mgmt-b');
    assert.ok((await registry.update('mgmt-b', { state: 'cordoned' })).ok);
    const refused = await placement.reserve('later', hostedSpec());
    assert.deepEqual(refused, { ok: false, code: 'management-capacity-exhausted', message: 'no management cluster has room: all 2 are cordoned; needed 450m CPU, 960 MiB memory and 1 control-plane slot' });
    assert.equal((await placement.find('on-a'))?.managementCluster, 'mgmt-a');
  });

  it('capacity never goes below what is reserved: refused with the numbers, and nothing changes', async () => {
    await register(managementCluster('mgmt-a'));
    assert.ok((await placement.reserve('big', hostedSpec(80, 3))).ok);
    const refused = await registry.update('mgmt-a', { capacity: { cpuMillicores: 4000, maxControlPlanes: 1 } });
    assert.deepEqual(refused, {
      ok: false,
      code: 'capacity-below-reserved',
      message: 'capacity below what hosted control planes hold: capacity.cpuMillicores 4000 < 4800 reserved',
      shortfalls: [{ field: 'capacity.cpuMillicores', requested: 4000, reserved: 4800 }],
    });
    assert.equal((await registry.loads('mgmt-a'))[0]!.capacity.cpuMillicores, 16_000);
    const lowered = await registry.update('mgmt-a', { capacity: { cpuMillicores: 4800, maxControlPlanes: 1 } });
    assert.ok(lowered.ok);
    assert.deepEqual(lowered.managementCluster.free, { cpuMillicores: 0, memoryBytes: 64 * Gi - 3328 * Mi * 3, controlPlanes: 0 });
  });
});
