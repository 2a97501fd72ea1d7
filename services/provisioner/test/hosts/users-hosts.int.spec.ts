import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterDeleted, ClusterDeletionRequested, ClusterProvisioningFailed, ClusterReady, EventRejected, MachineReplaced, NodePoolScaleRequested, NodeUnhealthy, type ClusterSpec } from '@flotilla/contracts';
import { eventually, Harness } from '../support/harness.js';
import { healthyFacts, stopAll, tearDown, TestSshd } from '../support/sshd.js';
import { clusterId, userClusterSpec, type HostPlan } from './support.js';

/*
 * Users' hosts are the users': through the provisioner service, over SSH to real sshd test hosts
 * whose stand-in tools keep package, file, node and cluster state. A host that fails its health
 * check is reported, rebooted or replaced by a spare of the user's, never by a machine Flotilla
 * makes; deleting a cluster undoes only what Flotilla installed; a host is in one cluster at a time.
 */

// Every step here is SSH sessions to real sshd hosts. On two busy cores (a CI run's other tiers), and
// with the hosts earlier tests powered off still being retried by the reconciler, a host's install
// or a dead host's give-up (PROVIDER_MAX_ERRORS tries, spaced by the reconciler's rounds) took
// more than a minute; alone, each takes seconds.
const WAIT_MS = 150_000;
const HEALTH = { MHC_CHECK_INTERVAL_MS: '200', MHC_UNHEALTHY_TIMEOUT_MS: '1500', MHC_MAX_UNHEALTHY: '1' };

interface ClusterView {
  phase: string;
  conditions: { type: string; status: string; reason: string; message?: string }[];
  machines: { name: string; phase: string }[];
}

/** What a host was asked that takes it out of its cluster. */
const drainedOrReset = (sshd: TestSshd): string[][] => sshd.invocations().filter((call) => (call.tool === 'kubeadm' && call.argv[0] === 'reset') || (call.tool === 'kubectl' && call.argv.includes('drain'))).map((call) => [call.tool, ...call.argv]);

describe("users' hosts through the provisioner service", () => {
  let h: Harness;
  const hosts: TestSshd[] = [];

  before(async () => {
    h = await Harness.start(HEALTH);
  });

  after(async () => {
    await tearDown(() => h.dispose(), () => stopAll(hosts));
  });

  async function start(address: string, options: Parameters<typeof TestSshd.start>[0] = {}): Promise<TestSshd> {
    const sshd = await TestSshd.start({ address, ...options });
    hosts.push(sshd);
    return sshd;
  }

  async function keyOf(sshd: TestSshd, name: string): Promise<string> {
    const response = await h.api('/api/v1/ssh-keys', { method: 'POST', body: JSON.stringify({ name, privateKey: sshd.userPrivateKey }) });
    const text = await response.text();
    assert.equal(response.status, 201, text);
    return (JSON.parse(text) as { ref: string }).ref;
  }

  async function plan(id: string, sshds: readonly TestSshd[]): Promise<HostPlan[]> {
    return Promise.all(sshds.map(async (sshd, index) => ({ sshd, role: index === 0 ? ('control-plane' as const) : ('worker' as const), keyRef: await keyOf(sshd, `${id}-${index}`) })));
  }

  async function cluster(id: string): Promise<ClusterView> {
    return (await h.getCluster(id)).body as unknown as ClusterView;
  }

  const condition = (view: ClusterView, type: string) => view.conditions.find((candidate) => candidate.type === type);

  it('a host that fails its health check is reported: no machine is made in its place, and it is neither drained nor reset', async () => {
    const id = clusterId();
    const [cp, worker, other] = await Promise.all([start('127.0.2.1'), start('127.0.2.2'), start('127.0.2.3')]);
    await h.request(id, userClusterSpec(await plan(id, [cp, worker, other])));
    await h.waitFor(ClusterReady, id, WAIT_MS);
    const names = (await cluster(id)).machines.map((machine) => machine.name).sort();

    worker.setNodeReady(false);
    const reported = await h.waitFor(NodeUnhealthy, id, WAIT_MS);
    assert.deepEqual(
      [reported.data.node, reported.data.address, reported.data.role, reported.data.pool, reported.data.remediation],
      [`${id}-workers-0`, worker.address, 'worker', 'workers', 'reported'],
    );
    assert.match(reported.data.message, /an operator has to look at 127\.0\.2\.2:\d+; it stays in the cluster as it is/);
    const view = await eventually(async () => {
      const current = await cluster(id);
      return condition(current, 'MachinesHealthy')?.reason === 'HostNeedsAttention' ? current : undefined;
    }, WAIT_MS, 'MachinesHealthy HostNeedsAttention');
    assert.match(condition(view, 'MachinesHealthy')?.message ?? '', new RegExp(`${id}-workers-0 \\(127\\.0\\.2\\.2\\)`));

    // Several health-check turns later: still reported once, the same machines, nothing made at the
    // simulated provider for it, nothing drained or reset anywhere.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal((await h.events(NodeUnhealthy, id)).length, 1);
    assert.deepEqual(await h.events(MachineReplaced, id), []);
    assert.deepEqual((await cluster(id)).machines.map((machine) => machine.name).sort(), names);
    const simulated = await h.query<{ name: string }>(`SELECT name FROM sim_machines WHERE cluster_id = $1 ORDER BY name`, [id]);
    assert.ok(simulated.every((machine) => names.includes(machine.name)), `no machine of the platform's: ${JSON.stringify(simulated)}`);
    for (const host of [cp, worker, other]) assert.deepEqual(drainedOrReset(host), [], `${host.address} untouched`);
    assert.ok(worker.isNode, 'the host is still a node of its cluster');

    // Ready again: healthy.
    worker.setNodeReady(true);
    await eventually(async () => condition(await cluster(id), 'MachinesHealthy')?.status === 'True' || undefined, WAIT_MS, 'healthy again');
  });

  it('with reboots allowed, the host is rebooted over SSH and rejoins: nothing else is done to it', async () => {
    const id = clusterId();
    const [cp, worker, other] = await Promise.all([start('127.0.2.11'), start('127.0.2.12'), start('127.0.2.13')]);
    const spec: ClusterSpec = { ...userClusterSpec(await plan(id, [cp, worker, other])), hostRemediation: { reboot: true } };
    await h.request(id, spec);
    await h.waitFor(ClusterReady, id, WAIT_MS);

    worker.healedByReboot();
    worker.setNodeReady(false);
    const rebooting = await h.waitFor(NodeUnhealthy, id, WAIT_MS);
    assert.deepEqual([rebooting.data.node, rebooting.data.remediation], [`${id}-workers-0`, 'reboot']);
    await eventually(async () => (worker.reboots === 1 ? true : undefined), WAIT_MS, 'the host rebooted');
    await eventually(async () => condition(await cluster(id), 'MachinesHealthy')?.status === 'True' || undefined, WAIT_MS, 'Ready again after the reboot');
    assert.deepEqual(await h.events(MachineReplaced, id), []);
    assert.equal(worker.reboots, 1);
    assert.deepEqual((await h.events(NodeUnhealthy, id)).map((event) => event.data.remediation), ['reboot'], 'back within the timeout: not reported');
    for (const host of [cp, worker, other]) assert.deepEqual(drainedOrReset(host), [], `${host.address} neither drained nor reset`);
  });

  it('a spare host takes an unhealthy host\'s place (installed from nothing), and deleting the cluster undoes only what Flotilla installed', async () => {
    const id = clusterId();
    const [cp, worker, other] = await Promise.all([start('127.0.2.21'), start('127.0.2.22'), start('127.0.2.23')]);
    // A bare host: no Kubernetes packages, no container runtime; its own (older) Kubernetes repository file.
    const spare = await start('127.0.2.24', { packages: {}, facts: healthyFacts('host-127-0-2-24', { runtimeSockets: [] }) });
    const ownRepository = 'deb [signed-by=/etc/apt/keyrings/own.gpg] https://pkgs.k8s.io/core:/stable:/v1.33/deb/ /\n';
    spare.writeFile('/etc/apt/sources.list.d/kubernetes.list', ownRepository);
    const base = userClusterSpec(await plan(id, [cp, worker, other]));
    const spec: ClusterSpec = {
      ...base,
      spareHosts: [{ address: spare.address, port: spare.port, user: 'root', sshKeyRef: await keyOf(spare, `${id}-spare`), role: 'worker', pool: 'workers' }],
    };
    await h.request(id, spec);
    await h.waitFor(ClusterReady, id, WAIT_MS);
    assert.deepEqual(spare.invocations(), [], 'nothing is done on a spare until it is needed');

    worker.setNodeReady(false);
    const replacing = await h.waitFor(NodeUnhealthy, id, WAIT_MS);
    assert.deepEqual([replacing.data.node, replacing.data.remediation, replacing.data.spare], [`${id}-workers-0`, 'spare', spare.address]);
    const replaced = await h.waitFor(MachineReplaced, id, WAIT_MS);
    assert.deepEqual([replaced.data.reason, replaced.data.oldMachine.name, replaced.data.newMachine.name], ['unhealthy', `${id}-workers-0`, `${id}-workers-2`]);

    // The spare had nothing: Flotilla installed what kubeadm needs from the 1.34 repository, then joined it.
    assert.deepEqual(spare.packages(), { containerd: '1.7.24', kubeadm: '1.34.0', kubectl: '1.34.0', kubelet: '1.34.0' });
    assert.deepEqual(spare.heldPackages(), ['kubeadm', 'kubectl', 'kubelet']);
    assert.match(spare.file('/etc/apt/sources.list.d/kubernetes.list') ?? '', /core:\/stable:\/v1\.34\/deb/);
    assert.ok(spare.isNode);
    // Operators see what Flotilla changed on each host: on the spare, what removing it undoes.
    const response = await h.api(`/api/v1/provisioner/clusters/${id}/hosts`);
    assert.equal(response.status, 200);
    const view = (await response.json()) as { hosts: { machine: string; changes: { kind: string; target: string }[] }[] };
    const changes = view.hosts.find((host) => host.machine === `${id}-workers-2`)?.changes.map((change) => `${change.kind} ${change.target}`);
    assert.deepEqual(changes, [
      'file /etc/apt/keyrings/kubernetes-apt-keyring.gpg',
      'file /etc/apt/sources.list.d/kubernetes.list',
      'package kubeadm',
      'package kubelet',
      'package kubectl',
      'package containerd',
      'file /etc/containerd/config.toml',
      'file /etc/modules-load.d/kubernetes.conf',
      'file /etc/sysctl.d/90-kubernetes.conf',
      'file /etc/kubernetes/kubeadm-config.yaml',
      'kubeadm join',
    ]);
    // The host it replaced was drained and reset (a replacement that happened); its own packages stay, and it is free for another cluster.
    assert.deepEqual(drainedOrReset(worker).map(([tool]) => tool), ['kubeadm']);
    assert.ok(cp.invocations().some((call) => call.tool === 'kubectl' && call.argv.includes('drain') && call.argv.includes(`${id}-workers-0`)));
    assert.deepEqual(Object.keys(worker.packages()).sort(), ['containerd', 'kubeadm', 'kubectl', 'kubelet']);
    const owners = await h.query<{ address: string; cluster_id: string }>(`SELECT address, cluster_id FROM host_owners WHERE cluster_id = $1 ORDER BY address`, [id]);
    assert.deepEqual(owners.map((owner) => owner.address), [cp.address, other.address, spare.address]);

    await h.publish(ClusterDeletionRequested, id, { reason: 'done' });
    await h.waitFor(ClusterDeleted, id, WAIT_MS);
    // What Flotilla installed on the spare is gone, and its own repository file is back.
    assert.deepEqual(spare.packages(), {});
    assert.equal(spare.file('/etc/apt/sources.list.d/kubernetes.list'), ownRepository);
    assert.equal(spare.file('/etc/apt/keyrings/kubernetes-apt-keyring.gpg'), undefined);
    assert.equal(spare.file('/etc/containerd/config.toml'), undefined);
    assert.equal(spare.kubernetesFile('kubeadm-config.yaml'), undefined);
    assert.ok(!spare.isNode);
    // Hosts that had kubeadm, the kubelet, kubectl and containerd keep them; kubeadm's own work is reset.
    for (const host of [cp, other]) {
      assert.deepEqual(Object.keys(host.packages()).sort(), ['containerd', 'kubeadm', 'kubectl', 'kubelet'], `${host.address} keeps its packages`);
      assert.ok(!host.isNode, `${host.address} reset`);
      assert.equal(host.kubernetesFile('kubeadm-config.yaml'), undefined);
    }
    assert.deepEqual(await h.query(`SELECT address FROM host_owners WHERE cluster_id = $1`, [id]), [], 'every host free again');
  });

  it('a host down for good is replaced by a spare, then left as it is: neither the replacement nor the deletion waits for it', async () => {
    const id = clusterId();
    const [cp, worker, spare] = await Promise.all([start('127.0.2.41'), start('127.0.2.42'), start('127.0.2.43')]);
    const base = userClusterSpec(await plan(id, [cp, worker]));
    const spec: ClusterSpec = {
      ...base,
      spareHosts: [{ address: spare.address, port: spare.port, user: 'root', sshKeyRef: await keyOf(spare, `${id}-spare`), role: 'worker', pool: 'workers' }],
    };
    await h.request(id, spec);
    await h.waitFor(ClusterReady, id, WAIT_MS);

    await worker.powerOff();
    const replaced = await h.waitFor(MachineReplaced, id, WAIT_MS);
    assert.deepEqual([replaced.data.oldMachine.name, replaced.data.newMachine.name], [`${id}-workers-0`, `${id}-workers-1`]);
    assert.ok(spare.isNode);
    assert.ok(cp.invocations().some((call) => call.tool === 'kubectl' && call.argv.includes('delete') && call.argv.includes(`${id}-workers-0`)), 'the node is out of the cluster');
    // What Flotilla changed on the host that is down stays listed for an operator to undo.
    const response = await h.api(`/api/v1/provisioner/clusters/${id}/hosts`);
    const view = (await response.json()) as { hosts: { machine: string; changes: unknown[] }[] };
    assert.ok((view.hosts.find((host) => host.machine === `${id}-workers-0`)?.changes.length ?? 0) > 0, JSON.stringify(view));

    await h.publish(ClusterDeletionRequested, id, { reason: 'done' });
    await h.waitFor(ClusterDeleted, id, WAIT_MS);
    assert.ok(!spare.isNode && !cp.isNode);
  });

  it('one machine under two addresses is one host: refused when a request names its key, and when it presents the key of another cluster\'s host', async () => {
    const owner = clusterId();
    const machine = await start('127.0.2.41');
    await h.request(owner, userClusterSpec(await plan(owner, [machine])));
    await h.waitFor(ClusterReady, owner, WAIT_MS);
    const key = machine.hostKeyFingerprint;
    assert.deepEqual(await h.query(`SELECT cluster_id FROM host_owners WHERE host_key = $1`, [key]), [{ cluster_id: owner }], 'the host is known by its key once it was reached');
    const taken = new RegExp(`has the host key of 127\\.0\\.2\\.41:${machine.port}, which belongs to cluster "${owner}"`);

    // The same machine under another address, the request naming its key: refused before anything is done.
    const named = clusterId();
    const spec = userClusterSpec([{ sshd: { address: '127.0.2.43', port: 22 }, role: 'control-plane', keyRef: 'sshkey-none' }]);
    await h.request(named, { ...spec, hosts: spec.hosts!.map((host) => ({ ...host, hostKeyFingerprint: key })) });
    const refused = await h.waitFor(ClusterProvisioningFailed, named, WAIT_MS);
    assert.deepEqual(refused.data.reasons.map((reason) => [reason.code, reason.field]), [['host-in-another-cluster', 'hosts.0.address']]);
    assert.match(refused.data.reasons[0]!.message, taken);

    // Not named: it is found by the key it presents on its first connection, and nothing is run on it.
    const twin = await start('127.0.2.42', { hostKeyOf: machine });
    const intruder = clusterId();
    await h.request(intruder, userClusterSpec(await plan(intruder, [twin])));
    const failed = await eventually(async () => {
      const view = await cluster(intruder);
      return view.phase === 'Failed' ? view : undefined;
    }, WAIT_MS, 'the cluster on the twin fails');
    const presents = new RegExp(`presents the host key of 127\\.0\\.2\\.41:${machine.port}, a host of cluster "${owner}"`);
    assert.ok(failed.conditions.some((entry) => presents.test(entry.message ?? '')), JSON.stringify(failed.conditions));
    assert.deepEqual(twin.invocations(), [], 'nothing was run on the other cluster\'s machine');
    assert.equal((await h.query<{ n: number }>(`SELECT count(*)::int AS n FROM host_owners WHERE host_key = $1`, [key]))[0]!.n, 1);

    await h.publish(ClusterDeletionRequested, owner, { reason: 'done' });
    await h.waitFor(ClusterDeleted, owner, WAIT_MS);
    assert.deepEqual(await h.query(`SELECT address FROM host_owners WHERE host_key = $1`, [key]), [], 'deleting the cluster frees its host, key and all');
  });

  it('a host of another cluster is refused naming that cluster, on a request, on a scale-up, and when two requests race for it', async () => {
    const owner = clusterId();
    const [cp, worker] = await Promise.all([start('127.0.2.31'), start('127.0.2.32')]);
    await h.request(owner, userClusterSpec(await plan(owner, [cp, worker])));
    await h.waitFor(ClusterReady, owner, WAIT_MS);

    // A request naming its worker.
    const intruder = clusterId();
    const lone = await start('127.0.2.33');
    const spec = userClusterSpec([
      { sshd: lone, role: 'control-plane', keyRef: await keyOf(lone, `${intruder}-cp`) },
      { sshd: worker, role: 'worker', keyRef: await keyOf(worker, `${intruder}-w`) },
    ]);
    await h.request(intruder, spec);
    const refused = await h.waitFor(ClusterProvisioningFailed, intruder, WAIT_MS);
    assert.deepEqual(
      refused.data.reasons.map((reason) => [reason.code, reason.field]),
      [['host-in-another-cluster', 'hosts.1.address']],
    );
    assert.match(refused.data.reasons[0]!.message, new RegExp(`host 127\\.0\\.2\\.32:${worker.port} belongs to cluster "${owner}"`));
    assert.deepEqual(lone.invocations(), [], 'nothing was done on the refused request\'s other host');
    assert.deepEqual(await h.query(`SELECT address FROM host_owners WHERE cluster_id = $1`, [intruder]), [], 'the refused request holds no host');

    // A scale-up naming the other cluster's control-plane host.
    const growing = clusterId();
    const [cp2, worker2] = await Promise.all([start('127.0.2.34'), start('127.0.2.35')]);
    await h.request(growing, userClusterSpec(await plan(growing, [cp2, worker2])));
    await h.waitFor(ClusterReady, growing, WAIT_MS);
    await h.publish(NodePoolScaleRequested, growing, { pool: 'workers', count: 2, hosts: [{ address: cp.address, port: cp.port, user: 'root', sshKeyRef: await keyOf(cp, `${growing}-x`), role: 'worker', pool: 'workers' }] });
    const rejected = await h.waitFor(EventRejected, growing, WAIT_MS);
    assert.match(rejected.data.reason, new RegExp(`host-in-another-cluster: hosts\\.0\\.address: host 127\\.0\\.2\\.31:${cp.port} belongs to cluster "${owner}"`));
    assert.equal((await cluster(growing)).machines.length, 2);

    // Two requests for one free host, taken up by two replicas at once: one gets it, the other is refused naming it.
    const replica = await h.replica(HEALTH);
    try {
      const [first, second] = [clusterId(), clusterId()];
      const contested = { address: '127.0.2.36', port: 22 };
      const request = (id: string): ClusterSpec => ({
        ...userClusterSpec([{ sshd: contested, role: 'control-plane', keyRef: 'sshkey-none' }]),
        name: id,
      });
      await Promise.all([h.request(first, request(first)), h.request(second, request(second))]);
      const outcomes = await eventually(async () => {
        const failures = [...(await h.events(ClusterProvisioningFailed, first)), ...(await h.events(ClusterProvisioningFailed, second))];
        const taken = failures.filter((failure) => failure.data.reasons.some((reason) => reason.code === 'host-in-another-cluster'));
        return taken.length > 0 ? taken : undefined;
      }, WAIT_MS, 'one request refused');
      assert.equal(outcomes.length, 1, 'exactly one request is refused for the host');
      const loser = outcomes[0]!.subject;
      const winner = loser === first ? second : first;
      assert.match(outcomes[0]!.data.reasons[0]!.message, new RegExp(`belongs to cluster "${winner}"`));
      assert.deepEqual(await h.query<{ cluster_id: string }>(`SELECT cluster_id FROM host_owners WHERE address = $1 AND port = 22`, [contested.address]), [{ cluster_id: winner }]);
      await h.publish(ClusterDeletionRequested, winner, { reason: 'done' });
      await h.waitFor(ClusterDeleted, winner, WAIT_MS);
      assert.deepEqual(await h.query(`SELECT cluster_id FROM host_owners WHERE address = $1`, [contested.address]), [], 'deleting the cluster frees the host');
    } finally {
      await replica.dispose();
    }
  });
});
