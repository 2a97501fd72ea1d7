import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterReady } from '@flotilla/contracts';
import { MACHINES_OF_CLUSTERS_SQL } from '../src/repositories/cluster.repository.js';
import { CLAIM_MACHINES_SQL } from '../src/repositories/machine-queue.repository.js';
import { clusterSpec, Harness } from './support/harness.js';

const WAIT_MS = 60_000;
/** Far after anything the running reconciler claims: rows due then are this test's alone. */
const LATER = '2100-01-01T00:00:00.000Z';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}

/** The plan's nodes, as PostgreSQL would run the statement now (EXPLAIN only: nothing is claimed). */
async function planOf(h: Harness, sql: string, parameters: unknown[]): Promise<PlanNode[]> {
  const [row] = await h.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`, parameters);
  return nodesOf(row!['QUERY PLAN'][0].Plan);
}

describe('the reconciler queue at scale', () => {
  let h: Harness;

  before(async () => {
    h = await Harness.start({ SIM_BOOT_MS: '0' });
  });

  after(async () => {
    await h.dispose();
  });

  it('machines made together join in the claim that makes them: their first control plane runs kubeadm init first', async () => {
    const ids = ['together-1', 'together-2', 'together-3'];
    for (const id of ids) await h.request(id, clusterSpec({ controlPlane: { count: 3, machineSize: 'cp-large' } }));
    for (const id of ids) await h.waitFor(ClusterReady, id, WAIT_MS);
    // Joining as soon as the first control plane had its turn: no machine waited a poll interval, and a claim, for an API server.
    const claims = await h.query<{ name: string; claims: number }>(`SELECT name, claims FROM machines WHERE cluster_id = ANY($1) ORDER BY name`, [ids]);
    assert.equal(claims.length, 15);
    assert.deepEqual(
      claims.filter((machine) => machine.claims !== 1),
      [],
    );
    // Their health checks would come first in the next test's claims.
    await h.query(`DELETE FROM clusters WHERE id = ANY($1)`, [ids]);
  });

  it('a claim takes machines due together cluster by cluster, in ordinal order, and reads only its batch, on a large table without statistics', async () => {
    // 2,000 clusters of 13 machines due at the same moment, inserted in bulk (never analysed).
    await h.query(
      `INSERT INTO clusters (id, name, model, release, spec, kubernetes_version, phase, requested_at)
       SELECT 'bulk-' || lpad(i::text, 4, '0'), 'bulk', 'platform-provisioned', '4.3', $1::jsonb, '1.34', 'Provisioning', now() FROM generate_series(0, 1999) i`,
      [JSON.stringify(clusterSpec())],
    );
    await h.query(
      `INSERT INTO machines (cluster_id, name, ordinal, role, pool, phase, kubernetes_version, next_reconcile_at)
       SELECT 'bulk-' || lpad(i::text, 4, '0'), 'bulk-' || lpad(i::text, 4, '0') || CASE WHEN j < 3 THEN '-cp-' || j ELSE '-workers-' || (j - 3) END,
              j, CASE WHEN j < 3 THEN 'control-plane' ELSE 'worker' END, CASE WHEN j < 3 THEN NULL ELSE 'workers' END, 'Pending', '1.34', $1::timestamptz
         FROM generate_series(0, 1999) i, generate_series(0, 12) j
        -- Inserted in an order other than the claim's: the order must come from the index, not from where rows lie.
        ORDER BY j DESC, i DESC`,
      [LATER],
    );

    // A claim of the default batch size (RECONCILE_BATCH_SIZE).
    const claimPlan = await planOf(h, CLAIM_MACHINES_SQL, ['test', 500, 60_000, LATER]);
    const fullScans = (plan: PlanNode[]) => plan.filter((node) => node['Node Type'] === 'Seq Scan' || node['Node Type'] === 'Hash Join').map((node) => `${node['Node Type']} ${node['Relation Name'] ?? ''}`);
    assert.deepEqual(fullScans(claimPlan), []);
    assert.ok(claimPlan.some((node) => node['Node Type'] === 'Tid Scan'), 'claimed rows are updated by row id');
    const readPlan = await planOf(h, MACHINES_OF_CLUSTERS_SQL, [['bulk-0001', 'bulk-0002']]);
    assert.deepEqual(fullScans(readPlan), []);

    const claimed = await h.query<{ cluster_id: string; name: string; ordinal: number }>(CLAIM_MACHINES_SQL, ['test', 40, 60_000, LATER]);
    assert.deepEqual(
      claimed.map((row) => row.name),
      [
        ...Array.from({ length: 13 }, (_, j) => `bulk-0000-${j < 3 ? `cp-${j}` : `workers-${j - 3}`}`),
        ...Array.from({ length: 13 }, (_, j) => `bulk-0001-${j < 3 ? `cp-${j}` : `workers-${j - 3}`}`),
        ...Array.from({ length: 13 }, (_, j) => `bulk-0002-${j < 3 ? `cp-${j}` : `workers-${j - 3}`}`),
        'bulk-0003-cp-0',
      ],
    );
    // Claimed: due one lease later, by this owner, counted.
    const [after] = await h.query<{ due: number; claimed: number }>(
      `SELECT count(*) FILTER (WHERE next_reconcile_at = $1::timestamptz)::int AS due, count(*) FILTER (WHERE claimed_by = 'test' AND claims = 1)::int AS claimed FROM machines WHERE cluster_id LIKE 'bulk-%'`,
      [LATER],
    );
    assert.deepEqual(after, { due: 26_000 - 40, claimed: 40 });
    await h.query(`DELETE FROM clusters WHERE id LIKE 'bulk-%'`);
  });
});

describe('the reconciler queue vacuumed', () => {
  let h: Harness;

  before(async () => {
    h = await Harness.start({ SIM_BOOT_MS: '0', RECONCILE_VACUUM_EVERY: '1' });
  });

  after(async () => {
    await h.dispose();
  });

  it('after RECONCILE_VACUUM_EVERY machines recorded, the queue\'s tables are vacuumed, and the machines go on', async () => {
    await h.request('vacuumed-1', clusterSpec());
    await h.waitFor(ClusterReady, 'vacuumed-1', WAIT_MS);
    // The statistics of the vacuum come once its backend reports them: asked again until then.
    let counts: { machines: number; clusters: number } | undefined;
    for (let attempt = 0; attempt < 100; attempt++) {
      [counts] = await h.query<{ machines: number; clusters: number }>(
        `SELECT (SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = 'machines'::regclass)::int AS machines,
                (SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = 'clusters'::regclass)::int AS clusters`,
      );
      if (counts && counts.machines > 0 && counts.clusters > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(counts && counts.machines > 0 && counts.clusters > 0, `vacuum counts ${JSON.stringify(counts)}`);
  });
});
