import { testPolicyEnv } from '@flotilla/service-kit/testing';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ClusterDeleted,
  ClusterDeletionRequested,
  ClusterProvisioningFailed,
  ClusterReady,
  ClusterUpgraded,
  EventRejected,
  MachineReplaced,
  NodePoolScaled,
  NodePoolScaleRequested,
  NodesProvisioned,
  SUPPORT_MATRIX_DOCUMENT,
  UpgradeStepApproved,
  UpgradeStepFailed,
  type ClusterSpec,
} from '@flotilla/contracts';
import { clusterSpec, eventually, Harness } from './support/harness.js';
import { HostedWorld, Kubelets } from './support/hosted.js';

const WAIT_MS = 60_000;
const pool = (count: number) => [{ name: 'workers', count, machineSize: 'm', labels: {}, taints: [] }];

/** What the provisioner's API says of a cluster. */
interface View {
  phase: string;
  operation: { kind: string } | null;
  kubernetesVersion: string;
  conditions: { type: string; status: string; reason: string; message?: string }[];
  machines: { name: string; phase: string; kubernetesVersion: string; kubeletVersion: string | null }[];
}

async function view(h: Harness, id: string): Promise<View> {
  return (await h.getCluster(id)).body as unknown as View;
}

async function cloudNames(h: Harness, id: string): Promise<string[]> {
  return (await h.query<{ name: string }>(`SELECT name FROM sim_machines WHERE cluster_id = $1 ORDER BY name`, [id])).map((row) => row.name);
}

describe('provisioner lifecycle: scale and delete', () => {
  it('a pool scales up (NodesProvisioned for the new nodes) and down (newest first), each ending in NodePoolScaled', async () => {
    const h = await Harness.start();
    try {
      await h.request('scaled-1', clusterSpec({ nodePools: pool(1) }));
      await h.waitFor(ClusterReady, 'scaled-1', WAIT_MS);

      await h.publish(NodePoolScaleRequested, 'scaled-1', { pool: 'workers', count: 3 });
      const up = await h.waitFor(NodePoolScaled, 'scaled-1', WAIT_MS);
      assert.deepEqual([up.data.from, up.data.to, up.data.requested, up.data.removed], [1, 3, 3, []]);
      assert.deepEqual(up.data.nodes.map((node) => node.name), ['scaled-1-workers-0', 'scaled-1-workers-1', 'scaled-1-workers-2']);
      const announced = (await h.events(NodesProvisioned, 'scaled-1')).slice(1).flatMap((event) => event.data.nodes.map((node) => node.name));
      assert.deepEqual(announced.sort(), ['scaled-1-workers-1', 'scaled-1-workers-2']);
      assert.deepEqual(await cloudNames(h, 'scaled-1'), ['scaled-1-cp-0', 'scaled-1-workers-0', 'scaled-1-workers-1', 'scaled-1-workers-2']);

      await h.publish(NodePoolScaleRequested, 'scaled-1', { pool: 'workers', count: 1 });
      const down = await eventually(async () => (await h.events(NodePoolScaled, 'scaled-1'))[1], WAIT_MS, 'second NodePoolScaled');
      assert.deepEqual([down.data.from, down.data.to, [...down.data.removed].sort()], [3, 1, ['scaled-1-workers-1', 'scaled-1-workers-2']]);
      assert.deepEqual(await cloudNames(h, 'scaled-1'), ['scaled-1-cp-0', 'scaled-1-workers-0']);
      const after = await view(h, 'scaled-1');
      assert.deepEqual([after.phase, after.operation, after.machines.map((machine) => machine.name)], ['Running', null, ['scaled-1-cp-0', 'scaled-1-workers-0']]);
      assert.equal(after.conditions.find((condition) => condition.type === 'Scaling')?.reason, 'Scaled');
    } finally {
      await h.dispose();
    }
  });

  it('a scale request that can never apply is dead-lettered with its reason', async () => {
    const h = await Harness.start();
    try {
      await h.request('refused-1', clusterSpec({ nodePools: pool(1) }));
      await h.waitFor(ClusterReady, 'refused-1', WAIT_MS);
      await h.publish(NodePoolScaleRequested, 'refused-1', { pool: 'gpu', count: 2 });
      const rejected = await h.waitFor(EventRejected, 'refused-1', WAIT_MS);
      assert.match(rejected.data.reason, /pool: cluster "refused-1" has no node pool "gpu" \(pools: workers\)/);
      assert.equal((await view(h, 'refused-1')).machines.length, 2);
    } finally {
      await h.dispose();
    }
  });

  it('deleting a Running cluster releases every machine and emits ClusterDeleted once', async () => {
    const h = await Harness.start();
    try {
      await h.request('deleted-1');
      await h.waitFor(ClusterReady, 'deleted-1', WAIT_MS);
      await h.publish(ClusterDeletionRequested, 'deleted-1', { reason: 'no longer needed' });
      await h.publish(ClusterDeletionRequested, 'deleted-1', {});
      const deleted = await h.waitFor(ClusterDeleted, 'deleted-1', WAIT_MS);
      assert.deepEqual(deleted.data, { model: 'platform-provisioned' });
      assert.deepEqual(await cloudNames(h, 'deleted-1'), []);
      assert.deepEqual(await h.query(`SELECT name FROM machines WHERE cluster_id = 'deleted-1'`), []);
      assert.deepEqual(await h.query(`SELECT ref FROM secrets WHERE ref = 'cluster/deleted-1/join'`), [], 'its join secrets went with it');
      const after = await view(h, 'deleted-1');
      assert.deepEqual([after.phase, after.machines], ['Deleted', []]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await h.events(ClusterDeleted, 'deleted-1')).length, 1);
    } finally {
      await h.dispose();
    }
  });

  it('deleting a cluster mid-provisioning releases machines still booting, and none is left at the provider', async () => {
    const h = await Harness.start({ SIM_BOOT_MS: '3000' });
    try {
      await h.request('early-1');
      await eventually(async () => ((await cloudNames(h, 'early-1')).length === 3 ? true : undefined), WAIT_MS, 'machines at the provider');
      await h.publish(ClusterDeletionRequested, 'early-1', {});
      await h.waitFor(ClusterDeleted, 'early-1', WAIT_MS);
      assert.deepEqual(await cloudNames(h, 'early-1'), []);
      assert.deepEqual(await h.events(ClusterReady, 'early-1'), []);
      assert.equal((await view(h, 'early-1')).phase, 'Deleted');
    } finally {
      await h.dispose();
    }
  });
});

describe('provisioner lifecycle: machine health checks', () => {
  const mhc = { MHC_CHECK_INTERVAL_MS: '100', MHC_UNHEALTHY_TIMEOUT_MS: '300' };

  it('a node that stays NotReady is replaced: the new machine joins, the old one goes, MachineReplaced (unhealthy)', async () => {
    const h = await Harness.start(mhc);
    try {
      await h.request('sick-1', clusterSpec({ nodePools: pool(2) }));
      await h.waitFor(ClusterReady, 'sick-1', WAIT_MS);
      await h.query(`UPDATE sim_machines SET healthy = false WHERE cluster_id = 'sick-1' AND name = 'sick-1-workers-0'`);
      const replaced = await h.waitFor(MachineReplaced, 'sick-1', WAIT_MS);
      assert.deepEqual([replaced.data.reason, replaced.data.role, replaced.data.pool, replaced.data.oldMachine.name, replaced.data.newMachine.name], ['unhealthy', 'worker', 'workers', 'sick-1-workers-0', 'sick-1-workers-2']);
      assert.equal(replaced.data.newMachine.kubeletVersion, 'v1.34.0');
      assert.deepEqual(await cloudNames(h, 'sick-1'), ['sick-1-cp-0', 'sick-1-workers-1', 'sick-1-workers-2']);
      const joined = (await h.events(NodesProvisioned, 'sick-1')).at(-1)!;
      assert.deepEqual(joined.data.nodes.map((node) => node.name), ['sick-1-workers-2'], 'the new node was announced when it joined');
      const after = await view(h, 'sick-1');
      assert.equal(after.conditions.find((condition) => condition.type === 'MachinesHealthy')?.status, 'True');
    } finally {
      await h.dispose();
    }
  });

  it('more unhealthy machines than MHC_MAX_UNHEALTHY: nothing is replaced and a condition says why', async () => {
    const h = await Harness.start({ ...mhc, MHC_MAX_UNHEALTHY: '1' });
    try {
      await h.request('outage-1', clusterSpec({ nodePools: pool(2) }));
      await h.waitFor(ClusterReady, 'outage-1', WAIT_MS);
      await h.query(`UPDATE sim_machines SET healthy = false WHERE cluster_id = 'outage-1'`);
      const condition = await eventually(
        async () => (await view(h, 'outage-1')).conditions.find((item) => item.type === 'RemediationAllowed' && item.status === 'False'),
        WAIT_MS,
        'RemediationAllowed False',
      );
      assert.equal(condition.reason, 'TooManyUnhealthy');
      assert.match(condition.message ?? '', /3 of 3 machine\(s\) are unhealthy, more than the 1 allowed/);
      await new Promise((resolve) => setTimeout(resolve, 800));
      assert.deepEqual(await cloudNames(h, 'outage-1'), ['outage-1-cp-0', 'outage-1-workers-0', 'outage-1-workers-1'], 'no machine made or released');
      assert.deepEqual(await h.events(MachineReplaced, 'outage-1'), []);
    } finally {
      await h.dispose();
    }
  });
});

describe('provisioner lifecycle: upgrade steps', () => {
  // Release 4.0 creates clusters on 1.30 and accepts 1.31: one minor to step to.
  const spec: ClusterSpec = clusterSpec({ kubernetesVersion: '1.30', nodePools: pool(1) });

  it('platform machines are replaced one by one, control plane first; then ClusterUpgraded; a redelivered approval changes nothing', async () => {
    const h = await Harness.start(await testPolicyEnv({ release: '4.0' }));
    try {
      await h.request('upgraded-1', spec);
      await h.waitFor(ClusterReady, 'upgraded-1', WAIT_MS);
      const approval = await h.publish(UpgradeStepApproved, 'upgraded-1', { planId: 'plan-7', toVersion: '1.31' });
      await h.publish(UpgradeStepApproved, 'upgraded-1', approval.data);
      const upgraded = await h.waitFor(ClusterUpgraded, 'upgraded-1', WAIT_MS);
      assert.deepEqual(upgraded.data, { model: 'platform-provisioned', fromVersion: 'v1.30.0', toVersion: 'v1.31.0', planId: 'plan-7', policyRevision: SUPPORT_MATRIX_DOCUMENT.revision });
      const replaced = await h.events(MachineReplaced, 'upgraded-1');
      assert.deepEqual(
        replaced.map((event) => [event.data.reason, event.data.oldMachine.name, event.data.newMachine.name, event.data.newMachine.kubeletVersion]),
        [
          ['upgrade', 'upgraded-1-cp-0', 'upgraded-1-cp-1', 'v1.31.0'],
          ['upgrade', 'upgraded-1-workers-0', 'upgraded-1-workers-1', 'v1.31.0'],
        ],
      );
      const after = await view(h, 'upgraded-1');
      assert.deepEqual([after.kubernetesVersion, after.operation], ['1.31', null]);
      assert.ok(after.machines.every((machine) => machine.kubeletVersion === 'v1.31.0'));
      assert.equal((await h.events(ClusterUpgraded, 'upgraded-1')).length, 1);
    } finally {
      await h.dispose();
    }
  });

  it('a step the version policy refuses is answered with UpgradeStepFailed and every reason', async () => {
    const h = await Harness.start(await testPolicyEnv({ release: '4.0' }));
    try {
      await h.request('skipped-1', spec);
      await h.waitFor(ClusterReady, 'skipped-1', WAIT_MS);
      await h.publish(UpgradeStepApproved, 'skipped-1', { planId: 'plan-8', toVersion: '1.32' });
      const failed = await h.waitFor(UpgradeStepFailed, 'skipped-1', WAIT_MS);
      assert.deepEqual(failed.data.reasons.map((reason) => reason.code), ['control-plane-skips-minor', 'incompatible']);
      assert.deepEqual([failed.data.fromVersion, failed.data.toVersion, failed.data.planId, failed.data.policyRevision], ['v1.30.0', '1.32', 'plan-8', SUPPORT_MATRIX_DOCUMENT.revision]);
      const after = await view(h, 'skipped-1');
      assert.equal(after.conditions.find((condition) => condition.type === 'Upgrading')?.reason, 'StepRejected');
      assert.deepEqual(await cloudNames(h, 'skipped-1'), ['skipped-1-cp-0', 'skipped-1-workers-0']);
    } finally {
      await h.dispose();
    }
  });
});

describe('provisioner lifecycle: hosted control planes', () => {
  const hosted = clusterSpec({ model: 'hosted-control-plane', hosted: { workerModel: 'platform-provisioned' }, nodePools: pool(1) });

  it('without a management cluster, a hosted cluster is refused with no-management-cluster', async () => {
    const h = await Harness.start();
    try {
      await h.request('hosted-0', hosted);
      const failed = await h.waitFor(ClusterProvisioningFailed, 'hosted-0', WAIT_MS);
      assert.deepEqual(failed.data.reasons.map((reason) => [reason.code, reason.field]), [['no-management-cluster', 'hosted']]);
    } finally {
      await h.dispose();
    }
  });

  it('placed on a registered management cluster when there is room, refused when full, and released when deleted', async () => {
    const world = await HostedWorld.start({ kind: 'ready', afterMs: 200 });
    const h = await Harness.start();
    const kubelets = new Kubelets(h, world.tenant, 'hosted-1');
    try {
      const register = await h.api('/api/v1/management-clusters', { method: 'POST', body: JSON.stringify(world.registration('mgmt-1', { cpuMillicores: 64_000, memoryBytes: 256 * 2 ** 30, maxControlPlanes: 1 })) });
      assert.equal(register.status, 201);
      kubelets.start();
      await h.request('hosted-1', hosted);
      const ready = await h.waitFor(ClusterReady, 'hosted-1', WAIT_MS);
      assert.equal(ready.data.apiServerEndpoint, `https://${world.tenant.endpoint}`, "the tenant control plane's endpoint in the management cluster");
      const placed = (await (await h.api('/api/v1/hosted-control-planes/hosted-1')).json()) as { managementCluster: string; manifest: { kind: string } };
      assert.deepEqual([placed.managementCluster, placed.manifest.kind], ['mgmt-1', 'TenantControlPlane']);
      await h.request('hosted-2', hosted);
      const full = await h.waitFor(ClusterProvisioningFailed, 'hosted-2', WAIT_MS);
      assert.deepEqual(full.data.reasons.map((reason) => reason.code), ['management-capacity-exhausted']);
      await h.publish(ClusterDeletionRequested, 'hosted-1', {});
      await h.waitFor(ClusterDeleted, 'hosted-1', WAIT_MS);
      // Released once its TenantControlPlane is gone from the management cluster.
      await eventually(async () => ((await h.api('/api/v1/hosted-control-planes/hosted-1')).status === 404 ? true : undefined), WAIT_MS, 'placement released');
    } finally {
      kubelets.stop();
      await h.dispose();
      await world.close();
    }
  });
});
