import { testPolicyEnv } from '@flotilla/service-kit/testing';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterReady, ClusterUpgraded, MachineReplaced, NodePoolScaled, NodePoolScaleRequested, UpgradeStepApproved, UpgradeStepFailed } from '@flotilla/contracts';
import { clusterSpec, eventually, Harness, onClock, TestClock } from './support/harness.js';

const WAIT_MS = 60_000;
const HOUR_MS = 3_600_000;
const pool = (count: number) => [{ name: 'workers', count, machineSize: 'm', labels: {}, taints: [] }];

/** What the simulated cloud knows of a cluster's join material (never the values). */
async function tokens(h: Harness, id: string): Promise<{ token_id: string; expires_at: Date }[]> {
  return h.query(`SELECT token_id, expires_at FROM sim_bootstrap_tokens WHERE cluster_id = $1 ORDER BY expires_at`, [id]);
}

async function presented(h: Harness, id: string, name: string): Promise<{ action: string; tokenId: string; controlPlane: boolean }> {
  const rows = await h.query<{ kubeadm: { action: string; tokenId: string; controlPlane: boolean } }>(`SELECT kubeadm FROM sim_machines WHERE cluster_id = $1 AND name = $2`, [id, name]);
  return rows[0]!.kubeadm;
}

/** The join secrets' public record: when the token was minted and the certificates uploaded. */
async function lifetimes(h: Harness, id: string): Promise<{ bootstrapTokenMintedAt: string; certificatesUploadedAt: string }> {
  const rows = await h.query<{ metadata: { bootstrapTokenMintedAt: string; certificatesUploadedAt: string } }>(`SELECT metadata FROM secrets WHERE ref = $1`, [`cluster/${id}/join`]);
  return rows[0]!.metadata;
}

const near = (instant: string | Date, clock: TestClock) => Math.abs(new Date(instant).getTime() - clock.now().getTime()) < 60_000;

/**
 * Platform clusters, with the clock moved past the bootstrap token's 24 h and the uploaded
 * certificates' 2 h: machines made then boot with material minted in the running cluster (the
 * simulated cloud's clusters refuse expired material, as kubeadm does).
 */
describe('join material of platform clusters, with the clock moved past its lifetimes', () => {
  it('a worker added 25 h after the cluster came up joins with a token minted then; the first one is left to expire', async () => {
    const clock = new TestClock();
    const h = await Harness.start({}, onClock(clock));
    try {
      await h.request('late-worker', clusterSpec({ nodePools: pool(1) }));
      await h.waitFor(ClusterReady, 'late-worker', WAIT_MS);
      const [first] = await tokens(h, 'late-worker');
      assert.equal((await presented(h, 'late-worker', 'late-worker-workers-0')).tokenId, first!.token_id, 'the first worker joined with the token init made');

      clock.advance(25 * HOUR_MS);
      await h.publish(NodePoolScaleRequested, 'late-worker', { pool: 'workers', count: 2 });
      const scaled = await h.waitFor(NodePoolScaled, 'late-worker', WAIT_MS);
      assert.deepEqual([scaled.data.from, scaled.data.to, scaled.data.requested], [1, 2, 2], 'the new worker joined');

      const [expired, minted] = await tokens(h, 'late-worker');
      assert.ok(expired!.expires_at.getTime() < clock.now().getTime(), 'the first token expired');
      assert.ok(near(new Date(minted!.expires_at.getTime() - 24 * HOUR_MS), clock), `minted 24 h before ${minted!.expires_at.toISOString()}, the clock says ${clock.now().toISOString()}`);
      const added = await presented(h, 'late-worker', 'late-worker-workers-1');
      assert.deepEqual([added.action, added.tokenId, added.controlPlane], ['join', minted!.token_id, false], 'the new worker booted with the minted token');
      const recorded = await lifetimes(h, 'late-worker');
      assert.ok(near(recorded.bootstrapTokenMintedAt, clock), `token minted at ${recorded.bootstrapTokenMintedAt}`);
      // A worker needs no certificates: none were uploaded for it.
      assert.ok(!near(recorded.certificatesUploadedAt, clock), `certificates uploaded at ${recorded.certificatesUploadedAt}`);
    } finally {
      await h.dispose();
    }
  });

  it('a control plane replaced 3 h after the cluster came up (upgrade by replacement) joins with the certificates uploaded again; the token still served', async () => {
    const clock = new TestClock();
    const h = await Harness.start(await testPolicyEnv({ release: '4.0' }), onClock(clock));
    try {
      await h.request('late-cp', clusterSpec({ kubernetesVersion: '1.30', nodePools: pool(1) }));
      await h.waitFor(ClusterReady, 'late-cp', WAIT_MS);
      const [certificatesAtInit] = await h.query<{ certificates_expire_at: Date }>(`SELECT certificates_expire_at FROM sim_clusters WHERE cluster_id = 'late-cp'`);

      clock.advance(3 * HOUR_MS);
      assert.ok(certificatesAtInit!.certificates_expire_at.getTime() < clock.now().getTime(), 'the certificates init uploaded are gone');
      await h.publish(UpgradeStepApproved, 'late-cp', { planId: 'plan-late', toVersion: '1.31' });
      const upgraded = await eventually(async () => (await h.events(ClusterUpgraded, 'late-cp'))[0] ?? (await h.events(UpgradeStepFailed, 'late-cp'))[0], WAIT_MS, 'the step ends');
      assert.equal(upgraded.type, ClusterUpgraded.type, JSON.stringify(upgraded.data));
      const replaced = await h.events(MachineReplaced, 'late-cp');
      assert.deepEqual(replaced.map((event) => [event.data.oldMachine.name, event.data.newMachine.name]), [
        ['late-cp-cp-0', 'late-cp-cp-1'],
        ['late-cp-workers-0', 'late-cp-workers-1'],
      ]);

      const [cluster] = await h.query<{ certificates_expire_at: Date }>(`SELECT certificates_expire_at FROM sim_clusters WHERE cluster_id = 'late-cp'`);
      assert.ok(near(new Date(cluster!.certificates_expire_at.getTime() - 2 * HOUR_MS), clock), `uploaded 2 h before ${cluster!.certificates_expire_at.toISOString()}`);
      assert.ok(near((await lifetimes(h, 'late-cp')).certificatesUploadedAt, clock));
      // 21 h were left on the first token: no other was minted, and both new machines used it.
      const [only, ...others] = await tokens(h, 'late-cp');
      assert.deepEqual(others, []);
      assert.equal((await presented(h, 'late-cp', 'late-cp-cp-1')).tokenId, only!.token_id);
      assert.equal((await presented(h, 'late-cp', 'late-cp-workers-1')).tokenId, only!.token_id);
      assert.equal((await presented(h, 'late-cp', 'late-cp-cp-1')).controlPlane, true);
    } finally {
      await h.dispose();
    }
  });
});
