import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterDeleted, ClusterDeletionRequested, ClusterProvisioningFailed, ClusterReady, NodesProvisioned } from '@flotilla/contracts';
import type { ClusterSpec } from '@flotilla/contracts';
import { startTestService, type TestService } from '@flotilla/service-kit/testing';
import { provisionerService } from '../src/service.js';
import { clusterSpec, eventually, Harness } from './support/harness.js';
import { HostedWorld, Kubelets, MANAGEMENT_TOKEN } from './support/hosted.js';

const WAIT_MS = 30_000;
const hosted: ClusterSpec = clusterSpec({ model: 'hosted-control-plane', hosted: { workerModel: 'platform-provisioned' }, controlPlane: { count: 1, machineSize: 'hosted' } });

interface Placement {
  phase: string;
  namespace: string;
  controlPlaneEndpoint: string | null;
  failure: { code: string; message: string } | null;
}

interface ManagementView {
  used: { controlPlanes: number; cpuMillicores: number };
}

async function placement(h: Harness, clusterId: string): Promise<{ status: number; body: Placement }> {
  const response = await h.api(`/api/v1/hosted-control-planes/${clusterId}`);
  return { status: response.status, body: (await response.json()) as Placement };
}

async function used(h: Harness): Promise<ManagementView['used']> {
  const [view] = (await (await h.api('/api/v1/management-clusters')).json()) as ManagementView[];
  return view!.used;
}

async function register(h: Harness, world: HostedWorld): Promise<void> {
  const response = await h.api('/api/v1/management-clusters', { method: 'POST', body: JSON.stringify(world.registration('mgmt-1')) });
  assert.equal(response.status, 201, await response.text());
}

describe('hosted control planes applied to a management cluster (stand-in Kamaji over HTTPS)', () => {
  it('a hosted cluster runs only once its TenantControlPlane is Ready, at its endpoint, its workers joined there; deleting it deletes the object and frees the room', async () => {
    const world = await HostedWorld.start({ kind: 'ready', afterMs: 1_500 });
    const h = await Harness.start();
    const kubelets = new Kubelets(h, world.tenant, 'hosted-1');
    try {
      await register(h, world);
      kubelets.start();
      await h.request('hosted-1', hosted);

      // Applied: its namespace and the TenantControlPlane, by server-side apply as "flotilla".
      const tcp = await eventually(async () => world.management.find('tenantcontrolplanes', 'hcp-hosted-1', 'hosted-1'), WAIT_MS, 'TenantControlPlane applied');
      assert.equal((tcp['spec'] as { dataStore: string }).dataStore, 'default');
      assert.deepEqual((tcp.metadata.managedFields as { manager: string }[]).map((entry) => entry.manager), ['flotilla']);
      assert.equal(world.management.find('namespaces', '', 'hcp-hosted-1')?.metadata.labels?.['app.kubernetes.io/managed-by'], 'flotilla');
      const applies = world.management.requests.filter((request) => request.method === 'PATCH');
      assert.ok(applies.length >= 2 && applies.every((request) => request.contentType === 'application/apply-patch+yaml' && request.path.includes('fieldManager=flotilla') && request.path.includes('force=true')));
      assert.ok(world.management.requests.every((request) => request.authenticated), 'every call carries the management cluster credentials');

      // Not Ready yet: no worker is made, the cluster does not run.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal((await placement(h, 'hosted-1')).body.phase, 'applying');
      assert.deepEqual(await h.query(`SELECT name FROM sim_machines WHERE cluster_id = 'hosted-1'`), []);
      assert.equal((await h.events(ClusterReady, 'hosted-1')).length, 0);
      // A dropped watch is opened again.
      world.management.dropWatches();

      const ready = await h.waitFor(ClusterReady, 'hosted-1', WAIT_MS);
      assert.equal(ready.data.apiServerEndpoint, `https://${world.tenant.endpoint}`, "the TenantControlPlane's endpoint");
      assert.deepEqual(kubelets.refusals, new Map(), 'every worker joined with what the hosted cluster knows');
      const nodes = world.tenant.list('nodes').map((node) => node.metadata.name).sort();
      assert.deepEqual(nodes, ['hosted-1-workers-0', 'hosted-1-workers-1']);
      const [provisioned] = await h.events(NodesProvisioned, 'hosted-1');
      assert.deepEqual(provisioned!.data.nodes.map((node) => node.name).sort(), nodes);
      const tokens = world.tenant.list('secrets', 'kube-system').filter((secret) => secret.metadata.name.startsWith('bootstrap-token-'));
      assert.ok(tokens.length >= 1, 'join tokens were minted in the hosted cluster');
      const placed = (await placement(h, 'hosted-1')).body;
      assert.deepEqual([placed.phase, placed.controlPlaneEndpoint], ['ready', world.tenant.endpoint]);
      // Applied once: what was applied is recorded, and a Ready control plane is not applied again.
      assert.equal(world.management.requests.filter((request) => request.method === 'PATCH' && request.path.includes('tenantcontrolplanes')).length, 1);
      assert.equal((await used(h)).controlPlanes, 1);
      // Each use of the management cluster's credentials is audited (health checks: failures only), never the credentials.
      const uses = (await h.query<{ record: { method: string; result: string; reason?: string } }>(`SELECT record FROM audit_records WHERE record->>'route' = 'management-cluster' AND record->>'clusterId' = 'hosted-1'`)).map((row) => row.record);
      assert.ok(uses.length >= 2 && uses.every((use) => use.method === 'USE' && use.result === 'ok' && /^management cluster "mgmt-1" credentials for /.test(use.reason ?? '')), JSON.stringify(uses.slice(0, 3)));
      assert.ok(!JSON.stringify(uses).includes(MANAGEMENT_TOKEN));

      // Its kubeconfig is Kamaji's admin kubeconfig, read from the management cluster: admins only.
      const reads = world.management.requests.length;
      const kubeconfig = await h.api('/api/v1/provisioner/clusters/hosted-1/kubeconfig');
      assert.equal(kubeconfig.status, 200);
      assert.equal(kubeconfig.headers.get('cache-control'), 'no-store');
      const text = await kubeconfig.text();
      const stored = world.management.find('secrets', 'hcp-hosted-1', 'hosted-1-admin-kubeconfig')!;
      assert.equal(text, Buffer.from((stored['data'] as Record<string, string>)['admin.conf']!, 'base64').toString('utf8'));
      assert.match(text, new RegExp(`"server":"https://${world.tenant.endpoint.replace(/\./g, '\\.')}"`));
      assert.ok(world.management.requests.slice(reads).some((request) => request.path.endsWith('/namespaces/hcp-hosted-1/secrets/hosted-1-admin-kubeconfig')), 'read from the management cluster');
      const [kept] = await h.query<{ n: number }>(`SELECT count(*)::int AS n FROM secrets WHERE kind <> 'kubernetes-credentials'`);
      assert.equal(kept?.n, 0, 'never stored by Flotilla');
      const asOperator = await fetch(`${h.service.url}/api/v1/provisioner/clusters/hosted-1/kubeconfig`, { headers: await h.service.auth('operator') });
      assert.equal(asOperator.status, 403);
      assert.equal(((await asOperator.json()) as { code: string }).code, 'hosted-admin-only');

      await h.publish(ClusterDeletionRequested, 'hosted-1', {});
      await h.waitFor(ClusterDeleted, 'hosted-1', WAIT_MS);
      await eventually(async () => (world.management.find('tenantcontrolplanes', 'hcp-hosted-1', 'hosted-1') === undefined && world.management.find('namespaces', '', 'hcp-hosted-1') === undefined) || undefined, WAIT_MS, 'object and namespace deleted');
      await eventually(async () => ((await used(h)).controlPlanes === 0 ? true : undefined), WAIT_MS, 'room freed');
      assert.equal((await placement(h, 'hosted-1')).status, 404);
      assert.deepEqual(world.tenant.list('nodes'), [], 'its nodes were taken out of the hosted cluster');
    } finally {
      kubelets.stop();
      await h.dispose();
      await world.close();
    }
  });

  it('a management cluster that refuses the TenantControlPlane fails the cluster with its message', async () => {
    const world = await HostedWorld.start({ kind: 'refuse', message: 'spec.dataStore: Invalid value: "default": DataStore does not exist' });
    const h = await Harness.start();
    try {
      await register(h, world);
      await h.request('hosted-2', hosted);
      const failed = await h.waitFor(ClusterProvisioningFailed, 'hosted-2', WAIT_MS);
      const [reason] = failed.data.reasons;
      assert.deepEqual([reason?.code, reason?.field], ['control-plane-refused', 'hosted']);
      assert.match(reason!.message, /refused TenantControlPlane hcp-hosted-2\/hosted-2: 422 Invalid: .*DataStore does not exist/);
      assert.equal((await h.events(ClusterReady, 'hosted-2')).length, 0);
      // The namespace it made is deleted and the room freed.
      await eventually(async () => ((await used(h)).controlPlanes === 0 ? true : undefined), WAIT_MS, 'room freed');
      assert.equal(world.management.find('namespaces', '', 'hcp-hosted-2'), undefined);
    } finally {
      await h.dispose();
      await world.close();
    }
  });

  it('a TenantControlPlane that is never Ready fails the cluster at the deadline, and is deleted', async () => {
    const world = await HostedWorld.start({ kind: 'never' });
    const h = await Harness.start({ HOSTED_READY_TIMEOUT_MS: '3000', HOSTED_WATCH_TIMEOUT_MS: '1000' });
    try {
      await register(h, world);
      await h.request('hosted-3', hosted);
      const failed = await h.waitFor(ClusterProvisioningFailed, 'hosted-3', WAIT_MS);
      const [reason] = failed.data.reasons;
      assert.deepEqual([reason?.code, reason?.field], ['control-plane-timeout', 'hosted']);
      assert.match(reason!.message, /was not Ready within 3 s \(last status: Provisioning/);
      await eventually(async () => (world.management.find('tenantcontrolplanes', 'hcp-hosted-3', 'hosted-3') === undefined ? true : undefined), WAIT_MS, 'TenantControlPlane deleted');
      await eventually(async () => ((await used(h)).controlPlanes === 0 ? true : undefined), WAIT_MS, 'room freed');
    } finally {
      await h.dispose();
      await world.close();
    }
  });

  it('watches a server ends at once are opened again with a growing pause, not in a loop', async () => {
    const world = await HostedWorld.start({ kind: 'never' });
    world.management.endWatchesAtOnce = true;
    const h = await Harness.start({ HOSTED_WATCH_TIMEOUT_MS: '10000' });
    try {
      await register(h, world);
      await h.request('hosted-6', hosted);
      const watches = () => world.management.requests.filter((request) => request.path.includes('watch=true')).length;
      await eventually(async () => (watches() > 0 ? true : undefined), WAIT_MS, 'watching');
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      // With the pause doubling from MACHINE_POLL_MS (50 ms), 3 s hold about six watches.
      assert.ok(watches() <= 10, `${watches()} watches in 3 s`);
      const placed = (await placement(h, 'hosted-6')).body as Placement & { lastError: string | null };
      assert.equal(placed.phase, 'applying');
      assert.match(placed.lastError ?? '', /closed by the server before its timeout/);
    } finally {
      await h.dispose();
      await world.close();
    }
  });

  it('a cluster deleted while its TenantControlPlane comes up has it deleted once the wait in hand ends, and its room freed', async () => {
    const world = await HostedWorld.start({ kind: 'never' });
    const h = await Harness.start({ HOSTED_WATCH_TIMEOUT_MS: '2000' });
    try {
      await register(h, world);
      await h.request('hosted-5', hosted);
      await eventually(async () => (world.management.requests.some((request) => request.path.includes('watch=true')) ? true : undefined), WAIT_MS, 'watching');
      await h.publish(ClusterDeletionRequested, 'hosted-5', {});
      await h.waitFor(ClusterDeleted, 'hosted-5', WAIT_MS);
      await eventually(async () => ((await used(h)).controlPlanes === 0 ? true : undefined), WAIT_MS, 'room freed');
      assert.equal(world.management.find('tenantcontrolplanes', 'hcp-hosted-5', 'hosted-5'), undefined);
      assert.equal(world.management.find('namespaces', '', 'hcp-hosted-5'), undefined);
      assert.equal((await h.events(ClusterReady, 'hosted-5')).length, 0);
    } finally {
      await h.dispose();
      await world.close();
    }
  });

  it('a provisioner stopped while it waits for readiness is followed by one that ends the cluster Running, without applying again', async () => {
    const world = await HostedWorld.start({ kind: 'ready', afterMs: 3_000 });
    const h = await Harness.start();
    const kubelets = new Kubelets(h, world.tenant, 'hosted-4');
    let next: TestService | undefined;
    try {
      await register(h, world);
      kubelets.start();
      await h.request('hosted-4', hosted);
      await eventually(async () => world.management.find('tenantcontrolplanes', 'hcp-hosted-4', 'hosted-4'), WAIT_MS, 'TenantControlPlane applied');
      await eventually(async () => (world.management.requests.some((request) => request.path.includes('watch=true')) ? true : undefined), WAIT_MS, 'watching');
      await h.service.dispose({ keepSchema: true });
      // A clean stop records where the wait was: nothing is left under a claim (30 s lease).
      const stranded = await h.query<{ n: number }>(`SELECT count(*)::int AS n FROM hosted_control_planes WHERE next_reconcile_at > now() + interval '10 seconds' OR claimed_by IS NOT NULL`);
      assert.equal(stranded[0]?.n, 0);
      assert.equal((await h.events(ClusterReady, 'hosted-4')).length, 0);
      next = await startTestService(provisionerService, { ...h.service.env, PORT: '0' });
      const ready = await h.waitFor(ClusterReady, 'hosted-4', WAIT_MS);
      assert.equal(ready.data.apiServerEndpoint, `https://${world.tenant.endpoint}`);
      assert.equal(world.management.requests.filter((request) => request.method === 'PATCH' && request.path.includes('tenantcontrolplanes')).length, 1, 'applied once across both');
    } finally {
      kubelets.stop();
      await next?.dispose({ keepSchema: true });
      await h.dispose();
      await world.close();
    }
  });

  it('management clusters are registered with credentials that are sealed and never shown', async () => {
    const world = await HostedWorld.start({ kind: 'never' });
    const h = await Harness.start();
    try {
      const body = world.registration('mgmt-2');
      const missing = await h.api('/api/v1/management-clusters', { method: 'POST', body: JSON.stringify({ ...body, credentials: { certificateAuthority: world.ca } }) });
      assert.equal(missing.status, 400);
      assert.match(await missing.text(), /credentials\.token/);
      const bad = await h.api('/api/v1/management-clusters', { method: 'POST', body: JSON.stringify({ ...body, credentials: { certificateAuthority: 'not a certificate', token: 'x' } }) });
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /credentials\.certificateAuthority/);
      const created = await h.api('/api/v1/management-clusters', { method: 'POST', body: JSON.stringify(body) });
      assert.equal(created.status, 201);
      const text = (await created.text()) + (await (await h.api('/api/v1/management-clusters')).text());
      assert.ok(!text.includes('management-cluster-service-account-token'), 'the token is never shown');
      const rows = await h.query<{ row: string }>(`SELECT row_to_json(s)::text AS row FROM secrets s`);
      assert.ok(rows.length > 0 && rows.every((row) => !row.row.includes('management-cluster-service-account-token')), 'sealed at rest');
    } finally {
      await h.dispose();
      await world.close();
    }
  });
});
