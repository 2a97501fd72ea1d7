import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterProvisioningFailed, ClusterReady, ClusterRequested, encodeBinary, EventRejected, eventsSubject, NodePoolScaleRequested, NodesProvisioned, SUPPORT_MATRIX_DOCUMENT, type ClusterSpec } from '@flotilla/contracts';
import { publishEncoded } from '@flotilla/messaging';
import { clusterSpec, eventually, Harness } from './support/harness.js';

const WAIT_MS = 60_000;

describe('provisioner on real PostgreSQL and NATS', () => {
  let h: Harness;

  before(async () => {
    h = await Harness.start();
  });

  after(async () => {
    await h.dispose();
  });

  it('a valid request: machines are created once, then NodesProvisioned and ClusterReady go out with every node', async () => {
    await h.request('valid-1', clusterSpec({ controlPlane: { count: 3, machineSize: 'cp-large' } }));
    const ready = await h.waitFor(ClusterReady, 'valid-1', WAIT_MS);
    // Created under the shipped policy: no bucket on this bus prefix yet, so the shipped release and revision.
    // The API endpoint is the simulated cloud's load balancer (198.18.0.0/15), never a machine's address.
    const { apiServerEndpoint, ...rest } = ready.data;
    assert.match(apiServerEndpoint ?? '', /^https:\/\/198\.1[89]\.\d+\.\d+:6443$/);
    assert.deepEqual(rest, { model: 'platform-provisioned', kubernetesVersion: 'v1.34.0', nodeCount: 5, release: '4.3', policyRevision: SUPPORT_MATRIX_DOCUMENT.revision });
    const [nodes, ...more] = await h.events(NodesProvisioned, 'valid-1');
    assert.equal(more.length, 0, 'NodesProvisioned once');
    assert.deepEqual(
      nodes!.data.nodes.map((node) => [node.name, node.role, node.pool, node.kubeletVersion, node.machineSize]),
      [
        ['valid-1-cp-0', 'control-plane', undefined, 'v1.34.0', 'cp-large'],
        ['valid-1-cp-1', 'control-plane', undefined, 'v1.34.0', 'cp-large'],
        ['valid-1-cp-2', 'control-plane', undefined, 'v1.34.0', 'cp-large'],
        ['valid-1-workers-0', 'worker', 'workers', 'v1.34.0', 'm-xlarge'],
        ['valid-1-workers-1', 'worker', 'workers', 'v1.34.0', 'm-xlarge'],
      ],
    );
    // Provider ids and addresses are the simulated cloud's, one machine each.
    const cloud = await h.query<{ name: string; provider_id: string; addresses: string[]; create_calls: number }>(`SELECT name, provider_id, addresses, create_calls FROM sim_machines WHERE cluster_id = 'valid-1' ORDER BY name`);
    assert.deepEqual(
      nodes!.data.nodes.map((node) => [node.name, node.providerId, node.addresses]),
      cloud.map((row) => [row.name, row.provider_id, row.addresses]),
    );
    assert.ok(cloud.every((row) => row.create_calls === 1));

    const { status, body } = await h.getCluster('valid-1');
    assert.equal(status, 200);
    assert.equal(body['phase'], 'Running');
    const machines = body['machines'] as { name: string; phase: string; providerId: string; reconcile: { nextReconcileAt: string | null } }[];
    assert.equal(machines.length, 5);
    assert.ok(machines.every((machine) => machine.phase === 'Running' && machine.providerId.startsWith('simulated:///valid-1/')));
    // Running nodes wait in the queue for their next health check (MHC_CHECK_INTERVAL_MS, 30 s by default).
    assert.ok(machines.every((machine) => machine.reconcile.nextReconcileAt !== null && Date.parse(machine.reconcile.nextReconcileAt) > Date.now() + 10_000));
    const conditions = body['conditions'] as { type: string; status: string }[];
    assert.deepEqual(conditions.filter((condition) => condition.status !== 'True').map((condition) => condition.type), []);
  });

  it('an invalid request: ClusterProvisioningFailed lists every reason, and no machine is made', async () => {
    await h.request(
      'invalid-1',
      clusterSpec({ model: 'user-provisioned', kubernetesVersion: '1.30', nodeOs: 'microos', nodePools: [], network: { podCidr: '10.96.0.0/16', serviceCidr: '10.96.0.0/12' } }),
    );
    const failed = await h.waitFor(ClusterProvisioningFailed, 'invalid-1', WAIT_MS);
    assert.equal(failed.data.model, 'user-provisioned');
    assert.deepEqual(
      failed.data.reasons.map((reason) => [reason.code, reason.field]),
      [
        ['creation-unsupported', 'kubernetesVersion'],
        ['hosts-required', 'hosts'],
        ['node-os-not-allowed', 'nodeOs'],
        ['cidr-overlap', 'network'],
        ['control-plane-vip-required', 'controlPlane.vip'],
      ],
    );
    assert.ok(failed.data.reasons.every((reason) => reason.message.length > 0));
    assert.deepEqual(await h.query(`SELECT name FROM machines WHERE cluster_id = 'invalid-1'`), []);
    const { body } = await h.getCluster('invalid-1');
    assert.equal(body['phase'], 'Failed');
    assert.equal((body['failureReasons'] as unknown[]).length, 5);
    assert.deepEqual(await h.events(ClusterReady, 'invalid-1'), []);
  });

  it('a redelivered request, or the same request under a new id, makes no second set of machines; a conflicting one is rejected', async () => {
    const subject = eventsSubject({ prefix: h.prefix }, ClusterRequested.channel);
    const first = await h.request('redelivered-1');
    // The same event again under another Nats-Msg-Id, so JetStream's de-duplication lets it
    // through: what a redelivery after a lost ack looks like to the handler.
    const encoded = encodeBinary(first);
    await publishEncoded(h.bus.js, { subject, eventId: `${first.id}-again`, headers: encoded.headers, payload: encoded.payload });
    // A retry by the publisher with a fresh event id and the same spec.
    const second = await h.request('redelivered-1', clusterSpec());
    await h.waitFor(ClusterReady, 'redelivered-1', WAIT_MS);

    await h.request('redelivered-1', clusterSpec({ nodePools: [] }));
    // Dead-lettered, and the publisher hears of it; the cluster is left alone.
    const rejected = await h.waitFor(EventRejected, 'redelivered-1', WAIT_MS);
    assert.equal(rejected.data.code, 'handler-rejected');
    assert.match(rejected.data.reason, /already requested with a different spec/);

    // Events are handled in stream order: the rejection comes after both earlier requests were
    // handled, the redelivery found in the inbox and skipped.
    const handled = await h.query<{ event_id: string }>(`SELECT event_id FROM inbox WHERE consumer = 'provisioner__cluster_requested_v1' AND event_id = ANY($1) ORDER BY event_id`, [[first.id, second.id]]);
    assert.deepEqual(handled.map((row) => row.event_id).sort(), [first.id, second.id].sort());
    const machines = await h.query<{ n: number }>(`SELECT count(*)::int AS n FROM machines WHERE cluster_id = 'redelivered-1'`);
    const cloud = await h.query<{ n: number; calls: number }>(`SELECT count(*)::int AS n, sum(create_calls)::int AS calls FROM sim_machines WHERE cluster_id = 'redelivered-1'`);
    assert.equal(machines[0]?.n, 3);
    assert.deepEqual(cloud[0], { n: 3, calls: 3 });
    assert.equal((await h.events(ClusterReady, 'redelivered-1')).length, 1);
    assert.equal((await h.events(ClusterProvisioningFailed, 'redelivered-1')).length, 0);
    assert.equal((await h.getCluster('redelivered-1')).body['phase'], 'Running');
  });

  it('a public-cloud request is the importer\'s: acknowledged without a cluster, a machine or an answer; a later request about it is refused as for a connected cluster', async () => {
    const spec: ClusterSpec = {
      name: 'shop-eks',
      model: 'public-cloud',
      kubernetesVersion: '1.31',
      nodePools: [{ name: 'general', count: 2, machineSize: 'm5.large', minCount: 1, maxCount: 4, labels: {}, taints: [] }],
      network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
      cloud: {
        provider: 'eks',
        credentialRef: 'aws-prod',
        region: 'eu-west-1',
        networking: { subnetIds: ['subnet-a', 'subnet-b'], clusterRoleArn: 'arn:aws:iam::1:role/eks', nodeRoleArn: 'arn:aws:iam::1:role/nodes' },
        endpointAccess: 'public',
        tags: {},
      },
    };
    const request = await h.request('cloud-1', spec);
    // Handled: its id is in the inbox (acknowledged, not dead-lettered).
    await eventually(async () => (await h.query(`SELECT 1 FROM inbox WHERE consumer = 'provisioner__cluster_requested_v1' AND event_id = $1`, [request.id])).length > 0 || undefined, WAIT_MS, 'the public-cloud request handled');
    assert.deepEqual(await h.query(`SELECT id FROM clusters WHERE id = 'cloud-1'`), []);
    assert.deepEqual(await h.query(`SELECT name FROM machines WHERE cluster_id = 'cloud-1'`), []);
    assert.equal((await h.getCluster('cloud-1')).status, 404);
    // A scale of it: the provisioner does not hold it, as it holds no connected cluster, and says so.
    const scale = await h.publish(NodePoolScaleRequested, 'cloud-1', { pool: 'general', count: 3 });
    const rejected = await h.waitFor(EventRejected, 'cloud-1', WAIT_MS);
    assert.equal(rejected.data.rejectedEventId, scale.id);
    assert.deepEqual(
      (await h.allEvents()).filter((event) => event.subject === 'cloud-1').map((event) => event.type),
      [ClusterRequested.type, NodePoolScaleRequested.type, EventRejected.type],
      'no answer to the request itself',
    );
  });

  it('answers 404 for a cluster it does not know', async () => {
    assert.equal((await h.getCluster('no-such-cluster')).status, 404);
  });
});

describe('provisioner: failing machines', () => {
  it('a machine that fails to boot fails the cluster with the reason; no ClusterReady, no retry', async () => {
    const h = await Harness.start({ SIM_FAILURE_RATE: '1' });
    try {
      await h.request('doomed-1', clusterSpec({ nodePools: [] }));
      const failed = await h.waitFor(ClusterProvisioningFailed, 'doomed-1', WAIT_MS);
      assert.deepEqual(failed.data, {
        model: 'platform-provisioned',
        reasons: [{ code: 'machine-failed', message: 'machine doomed-1-cp-0 (control-plane): simulated boot failure: the instance never became reachable' }],
      });
      const { body } = await h.getCluster('doomed-1');
      assert.equal(body['phase'], 'Failed');
      const [machine] = body['machines'] as { phase: string; reconcile: { nextReconcileAt: string | null; claims: number } }[];
      assert.equal(machine?.phase, 'Failed');
      assert.equal(machine?.reconcile.nextReconcileAt, null, 'out of the queue: not retried forever');
      const claims = machine.reconcile.claims;
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(((await h.getCluster('doomed-1')).body['machines'] as { reconcile: { claims: number } }[])[0]?.reconcile.claims, claims);
      assert.deepEqual(await h.events(ClusterReady, 'doomed-1'), []);
    } finally {
      await h.dispose();
    }
  });

  it('a machine that takes longer than MACHINE_TIMEOUT_MS fails the cluster with machine-timeout', async () => {
    const h = await Harness.start({ SIM_BOOT_MS: '30000', MACHINE_TIMEOUT_MS: '1000', MACHINE_POLL_MS: '100' });
    try {
      await h.request('slow-1', clusterSpec({ nodePools: [] }));
      const failed = await h.waitFor(ClusterProvisioningFailed, 'slow-1', WAIT_MS);
      assert.deepEqual(failed.data.reasons.map((reason) => reason.code), ['machine-timeout']);
      assert.match(failed.data.reasons[0]!.message, /slow-1-cp-0 did not come up within 1 s/);
    } finally {
      await h.dispose();
    }
  });
});

describe('provisioner: a flaky provider', () => {
  it('calls that fail now and then are retried: the cluster comes up, and lost responses are adopted, not re-created', async () => {
    const h = await Harness.start({ SIM_API_ERROR_RATE: '0.4', PROVIDER_MAX_ERRORS: '30', MACHINE_POLL_MS: '20', SIM_SEED: 'flaky' });
    try {
      await h.request('flaky-1', clusterSpec({ nodePools: [{ name: 'workers', count: 5, machineSize: 'm', labels: {}, taints: [] }] }));
      await h.waitFor(ClusterReady, 'flaky-1', WAIT_MS);
      const cloud = await h.query<{ n: number; calls: number }>(`SELECT count(*)::int AS n, sum(create_calls)::int AS calls FROM sim_machines WHERE cluster_id = 'flaky-1'`);
      assert.deepEqual(cloud[0], { n: 6, calls: 6 });
      const errors = await h.query<{ provider_errors: number }>(`SELECT provider_errors FROM machines WHERE cluster_id = 'flaky-1'`);
      assert.ok(errors.every((row) => row.provider_errors === 0), 'the error count starts over after a success');
    } finally {
      await h.dispose();
    }
  });

  it('a provider that keeps failing fails the machine after PROVIDER_MAX_ERRORS calls in a row', async () => {
    const h = await Harness.start({ SIM_API_ERROR_RATE: '1', PROVIDER_MAX_ERRORS: '3', MACHINE_POLL_MS: '20' });
    try {
      await h.request('unreachable-1', clusterSpec({ nodePools: [] }));
      const failed = await h.waitFor(ClusterProvisioningFailed, 'unreachable-1', WAIT_MS);
      assert.equal(failed.data.reasons.length, 1);
      assert.equal(failed.data.reasons[0]?.code, 'provider-error');
      assert.match(failed.data.reasons[0].message, /3 calls to provider simulated failed in a row; last: simulated provider API error/);
      const [machine] = (await h.getCluster('unreachable-1')).body['machines'] as { phase: string; reconcile: { nextReconcileAt: string | null; providerErrors: number } }[];
      assert.equal(machine?.phase, 'Failed');
      assert.deepEqual([machine.reconcile.nextReconcileAt, machine.reconcile.providerErrors], [null, 3]);
    } finally {
      await h.dispose();
    }
  });
});
