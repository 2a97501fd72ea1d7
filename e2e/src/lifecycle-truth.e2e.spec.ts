import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '@flotilla/messaging/testing';
import { Fleet } from './fleet-harness.js';

// The inventory shows what the owning service decided, at every step of a cluster's life, and
// answers 400 for what the policy in force already refuses: across the processes, with the
// release the operators set through the planner.

interface InventoryCluster {
  status: string;
  kubernetesVersion: string | null;
  nodes: { name: string; role: string; pool?: string }[];
  pendingRequests: { type: string }[];
  lastRefusal: { type: string; requestType: string | null; reasons: { code: string; message: string }[] } | null;
  progress: { controlPlane: { ready: number; total: number }; nodePools: { pool: string; ready: number; total: number }[] } | null;
}

interface ProvisionerCluster {
  phase: string;
  kubernetesVersion: string;
  release: string;
  machines: { name: string; phase: string; role: string; pool: string | null }[];
}

const minor = (version: string | null | undefined) => /^v?(\d+\.\d+)/.exec(version ?? '')?.[1];

describe('an operator creates, grows, upgrades and deletes a cluster; the inventory follows the provisioner', { timeout: 240_000 }, () => {
  let fleet: Fleet;

  before(async () => {
    fleet = new Fleet({ services: ['inventory', 'provisioner', 'upgrade-planner'], env: { SIM_BOOT_MS: '200' } });
    await fleet.start();
  });

  after(async () => {
    await fleet?.stop();
  });

  const call = async (service: 'inventory' | 'provisioner' | 'upgrade-planner', role: 'viewer' | 'operator' | 'admin', path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${fleet.service(service).url}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...(await fleet.auth(role)), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const inventoryView = async (id: string) => (await (await call('inventory', 'viewer', `/api/v1/clusters/${id}`)).json()) as InventoryCluster;
  const provisionerView = async (id: string) => (await (await call('provisioner', 'viewer', `/api/v1/provisioner/clusters/${id}`)).json()) as ProvisionerCluster;
  const spec = (id: string, version: string) => ({ id, name: id, model: 'platform-provisioned', kubernetesVersion: version, controlPlane: { count: 1, machineSize: 'small' }, nodePools: [{ name: 'workers', count: 1, machineSize: 'small' }] });

  /**
   * Inventory and provisioner agree (same version; the inventory's nodes are the provisioner's
   * running machines; nothing pending), once `until` holds of what the inventory shows.
   */
  const agree = async (id: string, what: string, until: (shown: InventoryCluster) => boolean = () => true) => {
    let last: unknown;
    return eventually(
      async () => {
        const [shown, decided] = await Promise.all([inventoryView(id), provisionerView(id)]);
        last = { shown: { status: shown.status, version: shown.kubernetesVersion, nodes: shown.nodes.length, pending: shown.pendingRequests, refusal: shown.lastRefusal }, decided: { phase: decided.phase, version: decided.kubernetesVersion } };
        const running = decided.machines.filter((machine) => machine.phase === 'Running').map((machine) => machine.name).sort();
        const nodes = shown.nodes.map((node) => node.name).sort();
        const same = shown.status === 'Running' && decided.phase === 'Running' && minor(shown.kubernetesVersion) === minor(decided.kubernetesVersion) && JSON.stringify(nodes) === JSON.stringify(running) && shown.pendingRequests.length === 0;
        return same && until(shown) ? { shown, decided } : undefined;
      },
      90_000,
      what,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last seen ${JSON.stringify(last)}`);
    });
  };

  it('follows the release set through the planner: creation versions of 4.0, and 400 for the others', async () => {
    assert.equal((await call('upgrade-planner', 'admin', '/api/v1/support-matrix/platform-release', { method: 'PUT', body: { release: '4.0' } })).status, 200);
    // Every service that judges by the policy says which release it judges by: all follow at once.
    for (const service of ['inventory', 'provisioner'] as const) {
      await eventually(
        async () => {
          const ready = (await (await fetch(`${fleet.service(service).url}/readyz`)).json()) as { policy?: { release: string } };
          return ready.policy?.release === '4.0' ? true : undefined;
        },
        5_000,
        `${service} to judge by release 4.0`,
      );
    }
    // The inventory judges by the release in force as soon as it has heard of it.
    const refused = await eventually(
      async () => {
        const response = await call('inventory', 'operator', '/api/v1/clusters', { method: 'POST', body: spec('too-new', '1.34') });
        return response.status === 400 ? ((await response.json()) as { errors: { field: string; code?: string }[] }) : undefined;
      },
      10_000,
      'the inventory to judge by release 4.0',
    );
    assert.ok(refused.errors.some((error) => error.field === 'kubernetesVersion'), JSON.stringify(refused));
  });

  it('creates: pending until the provisioner answers, then exactly what it built', async () => {
    const created = await call('inventory', 'operator', '/api/v1/clusters', { method: 'POST', body: spec('truth', '1.30') });
    assert.equal(created.status, 202);
    const first = await inventoryView('truth');
    assert.ok(['Pending', 'Provisioning', 'Running'].includes(first.status));
    const { shown, decided } = await agree('truth', 'the created cluster, as the provisioner built it');
    assert.equal(decided.release, '4.0');
    assert.equal(minor(shown.kubernetesVersion), '1.30');
    assert.equal(shown.nodes.length, 2);
    assert.deepEqual(shown.progress?.controlPlane, { ready: 1, total: 1 });
  });

  it('grows a pool, and shows a scale the provisioner refuses without changing the cluster', async () => {
    assert.equal((await call('inventory', 'operator', '/api/v1/clusters/truth/node-pools/workers/scale', { method: 'POST', body: { count: 3 } })).status, 202);
    const { shown } = await agree('truth', 'the grown pool', (view) => view.nodes.length === 4);
    assert.equal(shown.nodes.filter((node) => node.role === 'worker').length, 3);
    assert.deepEqual(shown.progress?.nodePools.find((pool) => pool.pool === 'workers'), { pool: 'workers', ready: 3, total: 3 });

    assert.equal((await call('inventory', 'operator', '/api/v1/clusters/truth/node-pools/nope/scale', { method: 'POST', body: { count: 2 } })).status, 202);
    const refused = await eventually(async () => {
      const view = await inventoryView('truth');
      return view.lastRefusal && view.pendingRequests.length === 0 ? view : undefined;
    }, 30_000, 'the refusal on the cluster');
    assert.ok(refused.lastRefusal!.reasons.length > 0, JSON.stringify(refused.lastRefusal));
    assert.equal(refused.nodes.length, 4, 'a refused request changes nothing');
    await agree('truth', 'still what the provisioner decided');
  });

  it('upgrades one minor at a time: a step that skips a minor is a 400, the next minor is done', async () => {
    const skipping = await call('inventory', 'operator', '/api/v1/clusters/truth/upgrades', { method: 'POST', body: { planId: 'plan-1', toVersion: '1.32' } });
    assert.equal(skipping.status, 400);
    assert.ok(((await skipping.json()) as { errors: { field: string }[] }).errors.some((error) => error.field === 'toVersion'));
    assert.equal((await call('inventory', 'operator', '/api/v1/clusters/truth/upgrades', { method: 'POST', body: { planId: 'plan-1', toVersion: '1.31' } })).status, 202);
    const { shown, decided } = await agree('truth', 'the upgrade to 1.31', (view) => minor(view.kubernetesVersion) === '1.31');
    assert.equal(minor(decided.kubernetesVersion), '1.31');
    assert.equal(shown.nodes.length, 4);
  });

  it('deletes: the inventory shows Deleted once the provisioner has released every machine', async () => {
    assert.equal((await call('inventory', 'operator', '/api/v1/clusters/truth', { method: 'DELETE', body: { reason: 'end of the test' } })).status, 202);
    const gone = await eventually(async () => {
      const view = await inventoryView('truth');
      return view.status === 'Deleted' ? view : undefined;
    }, 60_000, 'truth Deleted');
    assert.deepEqual(gone.nodes, []);
    const { rows } = await fleet.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM provisioner.sim_machines WHERE cluster_id = 'truth'`);
    assert.equal(rows[0]?.n, 0, 'every machine released');
  });
});
