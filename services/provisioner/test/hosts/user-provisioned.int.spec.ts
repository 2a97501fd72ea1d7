import { testPolicyEnv } from '@flotilla/service-kit/testing';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterDeleted, ClusterDeletionRequested, ClusterProvisioningFailed, ClusterReady, ClusterUpgraded, SUPPORT_MATRIX_DOCUMENT, UpgradeStepApproved, type AuditRecord, type ClusterSpec } from '@flotilla/contracts';
import { KUBEADM_CONFIG_PATH } from '../../src/bootstrap/render/kubeadm.js';
import { Harness } from '../support/harness.js';
import { healthyFacts, stopAll, tearDown, TestSshd } from '../support/sshd.js';
import { clusterId, userClusterSpec } from './support.js';

const WAIT_MS = 60_000;

/** What GET /api/v1/provisioner/clusters/:id/hosts answers. */
interface HostsView {
  hosts: {
    machine: string;
    role: string;
    address: string;
    checks: { check: string; status: string }[];
    steps: { step: string; command: string; exitCode: number | null; startedAt: string; finishedAt: string | null }[];
  }[];
}

const EVERY_CHECK_PASSED = ['container-runtime:pass', 'cpu:pass', 'hostname-unique:pass', 'ip-forward:pass', 'memory:pass', 'os-supported:pass', 'ports:pass', 'swap:pass'];

/** The kubeadm calls a host's stand-in recorded, as argv. */
const kubeadmCalls = (sshd: TestSshd): string[][] => sshd.invocations().filter((call) => call.tool === 'kubeadm').map((call) => call.argv);

async function registerKey(h: Harness, sshd: TestSshd, name: string): Promise<string> {
  const response = await h.api('/api/v1/ssh-keys', { method: 'POST', body: JSON.stringify({ name, privateKey: sshd.userPrivateKey }) });
  const text = await response.text();
  assert.equal(response.status, 201, text);
  return (JSON.parse(text) as { ref: string }).ref;
}

async function hostsOf(h: Harness, id: string): Promise<HostsView> {
  const response = await h.api(`/api/v1/provisioner/clusters/${id}/hosts`);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as HostsView;
}

/** One host's recorded step, which must have finished with exit code 0. */
function finishedStep(view: HostsView, machine: string, step: string): { startedAt: number; finishedAt: number } {
  const found = view.hosts.find((host) => host.machine === machine)?.steps.find((entry) => entry.step === step);
  assert.ok(found, `${machine} has no step ${step}`);
  assert.equal(found.exitCode, 0, `${machine}: step ${step} exit code`);
  return { startedAt: Date.parse(found.startedAt), finishedAt: Date.parse(found.finishedAt!) };
}

describe('user-provisioned cluster through the provisioner service, over SSH', () => {
  let h: Harness;
  const hosts: TestSshd[] = [];

  before(async () => {
    // Release 4.0 creates clusters on 1.30 and accepts 1.31: one minor to step to.
    h = await Harness.start(await testPolicyEnv({ release: '4.0' }));
  });

  after(async () => {
    await tearDown(() => h.dispose(), () => stopAll(hosts));
  });

  it('installs (init, then join), upgrades in place (apply, then node) and deletes (reset on every host)', async () => {
    const id = clusterId();
    const [cp, worker] = await Promise.all([TestSshd.start({ address: '127.0.0.51', kubeletVersion: 'v1.30.4' }), TestSshd.start({ address: '127.0.0.52', kubeletVersion: 'v1.30.4' })]);
    hosts.push(cp, worker);
    const [cpKey, workerKey] = [await registerKey(h, cp, `${id}-cp`), await registerKey(h, worker, `${id}-worker`)];
    const spec: ClusterSpec = {
      ...userClusterSpec([
        { sshd: cp, role: 'control-plane', keyRef: cpKey },
        { sshd: worker, role: 'worker', keyRef: workerKey },
      ]),
      kubernetesVersion: '1.30',
    };
    const cpMachine = `${id}-cp-0`;
    const workerMachine = `${id}-workers-0`;

    // Install.
    await h.request(id, spec);
    const ready = await h.waitFor(ClusterReady, id, WAIT_MS);
    assert.deepEqual([ready.data.model, ready.data.nodeCount], ['user-provisioned', 2]);
    assert.equal(ready.data.apiServerEndpoint, `https://${spec.controlPlane?.vip}:6443`, 'the virtual IP kube-vip holds, not the first host');
    assert.deepEqual(await h.events(ClusterProvisioningFailed, id), []);
    assert.deepEqual(kubeadmCalls(cp), [['init', '--config', KUBEADM_CONFIG_PATH, '--upload-certs']]);
    assert.deepEqual(kubeadmCalls(worker), [['join', '--config', KUBEADM_CONFIG_PATH]]);
    const installed = await hostsOf(h, id);
    assert.deepEqual(
      installed.hosts.map((host) => [host.machine, host.role, host.address]),
      [
        [cpMachine, 'control-plane', cp.address],
        [workerMachine, 'worker', worker.address],
      ],
    );
    for (const host of installed.hosts) assert.deepEqual(host.checks.map((check) => `${check.check}:${check.status}`).sort(), EVERY_CHECK_PASSED, `${host.machine} checks`);
    assert.deepEqual(
      installed.hosts.find((host) => host.machine === cpMachine)!.steps.map((step) => `${step.step}:${step.exitCode}`),
      ['packages-before:0', 'write-kubeadm-config:0', 'write-kube-vip-manifest:0', 'write-cluster-ca:0', 'write-cluster-ca-key:0', 'kubeadm-init:0', 'kube-vip-admin-kubeconfig:0', 'kubelet-version:0'],
    );
    assert.deepEqual(installed.hosts.find((host) => host.machine === workerMachine)!.steps.map((step) => `${step.step}:${step.exitCode}`), ['packages-before:0', 'write-kubeadm-config:0', 'kubeadm-join:0', 'kubelet-version:0']);
    assert.ok(finishedStep(installed, cpMachine, 'kubeadm-init').finishedAt <= finishedStep(installed, workerMachine, 'kubeadm-join').startedAt, 'the worker joined after init finished');

    // Every SSH session opened with a stored key is in the service's audit trail: the key ref and host, never the key.
    const uses = (await h.query<{ record: AuditRecord }>(`SELECT record FROM audit_records WHERE record->>'route' = 'ssh-key' AND record->>'clusterId' = $1`, [id])).map((row) => row.record);
    assert.ok(uses.length >= 2, `${uses.length} audited SSH key uses`);
    for (const use of uses) assert.deepEqual([use.method, use.result, use.service], ['USE', 'ok', 'provisioner']);
    assert.deepEqual(new Set(uses.map((use) => /^SSH key "([^"]+)" for /.exec(use.reason ?? '')?.[1])), new Set([cpKey, workerKey]));
    for (const secret of [cp.userPrivateKey, worker.userPrivateKey].map((key) => key.split('\n')[1]!)) assert.ok(!JSON.stringify(uses).includes(secret), 'no key material in the audit trail');

    // Upgrade in place: 1.30 → 1.31.
    await h.publish(UpgradeStepApproved, id, { planId: 'plan-ssh-1', toVersion: '1.31' });
    const upgraded = await h.waitFor(ClusterUpgraded, id, WAIT_MS);
    // From what the control plane's kubelet reported at install to the step's target.
    assert.deepEqual(upgraded.data, { model: 'user-provisioned', fromVersion: 'v1.30.4', toVersion: 'v1.31.0', planId: 'plan-ssh-1', policyRevision: SUPPORT_MATRIX_DOCUMENT.revision });
    const cluster = (await h.getCluster(id)).body as { kubernetesVersion: string; operation: unknown; machines: { name: string; kubeletVersion: string | null }[] };
    assert.deepEqual(
      [cluster.kubernetesVersion, cluster.operation, cluster.machines.map((machine) => [machine.name, machine.kubeletVersion])],
      ['1.31', null, [[cpMachine, 'v1.31.0'], [workerMachine, 'v1.31.0']]],
    );
    assert.deepEqual(kubeadmCalls(cp).slice(1), [['upgrade', 'plan', 'v1.31.0'], ['upgrade', 'apply', 'v1.31.0', '-y']]);
    assert.deepEqual(kubeadmCalls(worker).slice(1), [['upgrade', 'node']]);
    const afterUpgrade = await hostsOf(h, id);
    assert.ok(
      finishedStep(afterUpgrade, cpMachine, 'upgrade-v1.31.0/kubeadm-upgrade').finishedAt <= finishedStep(afterUpgrade, workerMachine, 'upgrade-v1.31.0/kubeadm-upgrade').startedAt,
      'the worker was upgraded after the control plane',
    );
    for (const host of [cp, worker]) {
      assert.ok(
        host.invocations().some((call) => call.tool === 'apt-get' && call.argv.includes('kubelet=1.31.0-*')),
        `${host.address}: the kubelet package was moved to 1.31`,
      );
    }

    // Delete: every node is reset.
    await h.publish(ClusterDeletionRequested, id, { reason: 'done' });
    const deleted = await h.waitFor(ClusterDeleted, id, WAIT_MS);
    assert.deepEqual(deleted.data, { model: 'user-provisioned' });
    assert.deepEqual(kubeadmCalls(cp).slice(3), [['reset', '-f']]);
    assert.deepEqual(kubeadmCalls(worker).slice(2), [['reset', '-f']]);
    assert.equal((await h.getCluster(id)).body['phase'], 'Deleted');
  });

  it('a failed preflight check fails provisioning with that check listed, and nothing is installed', async () => {
    const id = clusterId();
    const [cp, worker] = await Promise.all([
      TestSshd.start({ address: '127.0.0.53', kubeletVersion: 'v1.30.4', facts: healthyFacts('host-127-0-0-53', { ipForward: '0' }) }),
      TestSshd.start({ address: '127.0.0.54', kubeletVersion: 'v1.30.4' }),
    ]);
    hosts.push(cp, worker);
    const spec: ClusterSpec = {
      ...userClusterSpec([
        { sshd: cp, role: 'control-plane', keyRef: await registerKey(h, cp, `${id}-cp`) },
        { sshd: worker, role: 'worker', keyRef: await registerKey(h, worker, `${id}-worker`) },
      ]),
      kubernetesVersion: '1.30',
    };
    await h.request(id, spec);
    const failed = await h.waitFor(ClusterProvisioningFailed, id, WAIT_MS);
    const reasons = failed.data.reasons.map((reason) => reason.message).join('\n');
    assert.match(reasons, new RegExp(`${id}-cp-0: ip-forward: net\\.ipv4\\.ip_forward must be 1, it is 0`));
    assert.deepEqual(kubeadmCalls(cp), []);
    assert.deepEqual(kubeadmCalls(worker), []);
    assert.deepEqual(await h.events(ClusterReady, id), []);
    const view = await hostsOf(h, id);
    const ipForward = view.hosts.find((host) => host.machine === `${id}-cp-0`)!.checks.find((check) => check.check === 'ip-forward');
    assert.equal(ipForward?.status, 'fail');
    assert.ok(view.hosts.every((host) => host.steps.length === 0), 'no step ran on any host');
  });
});
