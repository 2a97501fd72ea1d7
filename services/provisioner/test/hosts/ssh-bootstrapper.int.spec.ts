import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { JoinRequest } from '../../src/bootstrap/node-bootstrapper.js';
import { KUBEADM_CONFIG_PATH } from '../../src/bootstrap/render/kubeadm.js';
import type { SshBootstrapper } from '../../src/hosts/ssh.bootstrapper.js';
import { SshError } from '../../src/hosts/ssh-errors.js';
import { healthyFacts, stopAll, tearDown, TestSshd, type Invocation } from '../support/sshd.js';
import { clusterId, HostsContext, joinRequests, uniqueVip, userClusterSpec } from './support.js';

const calls = (sshd: TestSshd, tool?: string): Invocation[] => sshd.invocations().filter((call) => tool === undefined || call.tool === tool);
const argvOf = (sshd: TestSshd, tool?: string): string[][] => calls(sshd, tool).map((call) => [call.tool, ...call.argv]);
/** What kubeadm and the kubelet were asked, leaving out the package probes. */
const kubeadmArgv = (sshd: TestSshd): string[][] => argvOf(sshd).filter(([tool]) => tool === 'kubeadm' || tool === 'kubelet');
const PACKAGE_MANAGERS = new Set(['apt-get', 'apt-mark', 'dnf', 'zypper']);
const installs = (sshd: TestSshd): string[][] => argvOf(sshd).filter(([tool]) => PACKAGE_MANAGERS.has(tool!));

async function registerKey(context: HostsContext, sshd: TestSshd, name: string): Promise<string> {
  const registered = await context.keys.register(name, sshd.userPrivateKey);
  assert.ok(registered.ok, registered.ok ? '' : registered.message);
  return registered.key.ref;
}

describe('SshBootstrapper: kubeadm on users\' hosts over SSH', () => {
  let context: HostsContext;
  let bootstrapper: SshBootstrapper;
  const hosts: TestSshd[] = [];

  before(async () => {
    context = await HostsContext.create();
    bootstrapper = context.bootstrapper();
  });

  after(async () => {
    await tearDown(() => context.dispose(), () => stopAll(hosts));
  });

  describe('a cluster of three control-plane hosts and one worker', () => {
    const id = clusterId();
    let cp0: TestSshd, cp1: TestSshd, cp2: TestSshd, worker: TestSshd;
    let requests: Map<string, JoinRequest>;
    const request = (name: string): JoinRequest => requests.get(`${id}-${name}`)!;
    const vip = uniqueVip();

    before(async () => {
      [cp0, cp1, cp2, worker] = await Promise.all([TestSshd.start({ address: '127.0.0.11' }), TestSshd.start({ address: '127.0.0.12' }), TestSshd.start({ address: '127.0.0.13' }), TestSshd.start({ address: '127.0.0.14' })]);
      hosts.push(cp0, cp1, cp2, worker);
      // One key for all four hosts: every test host authorises its own, so each gets its own ref.
      const refs = await Promise.all([cp0, cp1, cp2, worker].map((sshd, index) => registerKey(context, sshd, `${id}-${index}`)));
      const spec = userClusterSpec([
        { sshd: cp0, role: 'control-plane', keyRef: refs[0]! },
        { sshd: cp1, role: 'control-plane', keyRef: refs[1]! },
        { sshd: cp2, role: 'control-plane', keyRef: refs[2]! },
        { sshd: worker, role: 'worker', keyRef: refs[3]! },
      ], vip);
      requests = joinRequests(id, spec);
    });

    it('waits while other hosts\' facts are missing, and installs nothing before preflight ran on every host', async () => {
      assert.deepEqual(await bootstrapper.joinNode(request('workers-0')), { state: 'joining' });
      assert.deepEqual(await bootstrapper.joinNode(request('cp-1')), { state: 'joining' });
      assert.deepEqual(await bootstrapper.joinNode(request('cp-2')), { state: 'joining' });
      assert.deepEqual(await bootstrapper.joinNode(request('workers-0')), { state: 'joining' });
      assert.equal((await context.records.facts(id)).length, 3);
      assert.deepEqual(await context.records.checks(id), []);
      for (const host of [cp1, cp2, worker]) assert.deepEqual(calls(host), []);
    });

    it('initialises the first control plane with the rendered config and the cluster CA', async () => {
      assert.deepEqual(await bootstrapper.joinNode(request('cp-0')), { state: 'joined', kubeletVersion: 'v1.34.2' });
      const checks = await context.records.checks(id);
      assert.equal(checks.length, 4 * 8);
      assert.deepEqual(checks.filter((check) => check.status !== 'pass'), []);
      assert.deepEqual(kubeadmArgv(cp0), [
        ['kubeadm', 'init', '--config', KUBEADM_CONFIG_PATH, '--upload-certs'],
        ['kubelet', '--version'],
      ]);
      // The host had kubeadm, the kubelet, kubectl and containerd: nothing was installed.
      assert.deepEqual(installs(cp0), []);
      const secrets = await context.joinSecrets.forCluster(id);
      assert.equal(cp0.kubernetesFile('pki/ca.crt'), secrets.ca.certificatePem);
      assert.equal(cp0.kubernetesFile('pki/ca.key'), secrets.ca.privateKeyPem);
      const documents = cp0.kubernetesFile('kubeadm-config.yaml')!.split(/^---$/m).map((text) => parse(text) as Record<string, unknown>);
      assert.deepEqual(documents.map((document) => document['kind']), ['InitConfiguration', 'ClusterConfiguration']);
      const cluster = documents[1] as { controlPlaneEndpoint: string; apiServer: { certSANs: string[] } };
      assert.equal(cluster.controlPlaneEndpoint, `${vip}:6443`, 'the virtual IP, never the host\'s own address');
      assert.deepEqual(cluster.apiServer.certSANs, [vip]);
      // kube-vip holds the address; after init it reads admin.conf, no longer super-admin.conf.
      const kubeVip = parse(cp0.kubernetesFile('manifests/kube-vip.yaml')!) as { spec: { containers: { env: { name: string; value: string }[] }[]; volumes: { hostPath: { path: string } }[] } };
      assert.equal(kubeVip.spec.containers[0]!.env.find((variable) => variable.name === 'address')?.value, vip);
      assert.equal(kubeVip.spec.volumes[0]!.hostPath.path, '/etc/kubernetes/admin.conf');
      assert.equal(cp0.kubeVipAddress, vip);
    });

    it('then joins the other control planes with the certificate key and the worker plainly', async () => {
      for (const name of ['cp-1', 'cp-2', 'workers-0']) assert.deepEqual(await bootstrapper.joinNode(request(name)), { state: 'joined', kubeletVersion: 'v1.34.2' });
      const secrets = await context.joinSecrets.forCluster(id);
      for (const host of [cp1, cp2, worker]) {
        assert.deepEqual(kubeadmArgv(host), [
          ['kubeadm', 'join', '--config', KUBEADM_CONFIG_PATH],
          ['kubelet', '--version'],
        ]);
        assert.deepEqual(installs(host), []);
        const join = parse(host.kubernetesFile('kubeadm-config.yaml')!) as { kind: string; discovery: { bootstrapToken: { apiServerEndpoint: string; token: string; caCertHashes: string[] } }; controlPlane?: { certificateKey: string } };
        assert.equal(join.kind, 'JoinConfiguration');
        assert.deepEqual(join.discovery.bootstrapToken, { apiServerEndpoint: `${vip}:6443`, token: secrets.bootstrapToken, caCertHashes: [secrets.caCertHash] });
        // Every control-plane host runs kube-vip for the address; workers do not.
        assert.equal(host.kubernetesFile('manifests/kube-vip.yaml') !== undefined, host !== worker);
        assert.equal(host.kubeVipAddress, host === worker ? undefined : vip);
        assert.equal(join.controlPlane?.certificateKey, host === worker ? undefined : secrets.certificateKey);
        // Only the first control plane holds the CA key.
        assert.equal(host.kubernetesFile('pki/ca.key'), undefined);
      }
    });

    it('is idempotent: asking again after success runs nothing on any host', async () => {
      const before = [cp0, cp1, cp2, worker].map((host) => host.invocations().length);
      const stepsBefore = await context.records.steps(id);
      for (const name of ['cp-0', 'cp-1', 'cp-2', 'workers-0']) assert.deepEqual(await bootstrapper.joinNode(request(name)), { state: 'joined', kubeletVersion: 'v1.34.2' });
      assert.deepEqual([cp0, cp1, cp2, worker].map((host) => host.invocations().length), before);
      assert.deepEqual(await context.records.steps(id), stepsBefore);
    });

    it('records each step per host, with secrets masked; no secret in records, checks or logs', async () => {
      const steps = await context.records.steps(id, `${id}-cp-0`);
      assert.deepEqual(
        steps.map((step) => [step.step, step.exitCode]),
        [
          ['packages-before', 0],
          ['write-kubeadm-config', 0],
          ['write-kube-vip-manifest', 0],
          ['write-cluster-ca', 0],
          ['write-cluster-ca-key', 0],
          ['kubeadm-init', 0],
          ['kube-vip-admin-kubeconfig', 0],
          ['kubelet-version', 0],
        ],
      );
      const init = steps.find((step) => step.step === 'kubeadm-init')!;
      assert.equal(init.command, `test -f /etc/kubernetes/kubelet.conf || kubeadm init --config ${KUBEADM_CONFIG_PATH} --upload-certs`);
      // The stand-in prints the join commands as kubeadm does: the token and certificate key are masked.
      assert.match(init.output, /kubeadm join 127\.0\.0\.1:6443 --token \*\*\* --discovery-token-ca-cert-hash sha256:0000 --control-plane --certificate-key \*\*\*/);

      const secrets = await context.joinSecrets.forCluster(id);
      const everything = JSON.stringify({ steps: await context.records.steps(id), checks: await context.records.checks(id), facts: await context.records.facts(id), logs: context.logs, uses: context.uses });
      for (const secret of [secrets.bootstrapToken, secrets.certificateKey, secrets.ca.privateKeyPem.split('\n')[1]!, cp0.userPrivateKey.split('\n')[1]!]) {
        assert.ok(!everything.includes(secret), 'a secret was recorded or logged');
      }
      // Every session opened with a stored key is audited: which key, for which host, never the key.
      const uses = context.uses.filter((use) => use.clusterId === id);
      assert.ok(uses.length >= 2, `${uses.length} audited SSH key uses`);
      for (const use of uses) {
        assert.equal(use.what, 'ssh-key');
        assert.equal(use.ok, true);
        assert.match(use.reason ?? '', /^SSH key "sshkey-[^"]+" for \S+@127\.0\.0\.\d+:\d+$/);
      }
      // The private keys are sealed at rest, not stored in the clear.
      const stored = await context.dataSource.query<{ ciphertext: Buffer }[]>(`SELECT ciphertext FROM secrets`);
      assert.ok(stored.length >= 4 && stored.every((row) => !row.ciphertext.toString('latin1').includes('OPENSSH')));
    });

    it('reads readiness on a control-plane host with kubectl', async () => {
      assert.equal(await bootstrapper.nodeReady(request('workers-0')), true);
      assert.deepEqual(argvOf(cp0, 'kubectl').at(-1), ['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'get', 'node', `${id}-workers-0`, '-o', 'json']);
      worker.setNodeReady(false);
      assert.equal(await bootstrapper.nodeReady(request('workers-0')), false);
      worker.setNodeReady(true);
    });

    it('upgrades in the documented order: repository, kubeadm, plan and apply (first) or upgrade node, drain, kubelet, uncordon', async () => {
      const upgrade = (name: string, first: boolean) => bootstrapper.upgradeNode({ ...request(name), fromVersion: '1.34', toVersion: '1.35', first });
      const before = [cp0, worker].map((host) => host.invocations().length);
      assert.deepEqual(await upgrade('cp-0', true), { state: 'joined', kubeletVersion: 'v1.35.0' });
      assert.deepEqual(await upgrade('workers-0', false), { state: 'joined', kubeletVersion: 'v1.35.0' });
      const repository = [
        ['curl', '-fsSL', 'https://pkgs.k8s.io/core:/stable:/v1.35/deb/Release.key'],
        ['gpg', '--batch', '--yes', '--dearmor', '-o', '/etc/apt/keyrings/kubernetes-apt-keyring.gpg'],
        ['apt-mark', 'unhold', 'kubeadm'],
        ['apt-get', 'update'],
        ['apt-get', 'install', '-y', 'kubeadm=1.35.0-*'],
        ['apt-mark', 'hold', 'kubeadm'],
      ];
      const kubelet = [
        ['apt-mark', 'unhold', 'kubelet', 'kubectl'],
        ['apt-get', 'update'],
        ['apt-get', 'install', '-y', 'kubelet=1.35.0-*', 'kubectl=1.35.0-*'],
        ['apt-mark', 'hold', 'kubelet', 'kubectl'],
        ['systemctl', 'daemon-reload'],
        ['systemctl', 'restart', 'kubelet'],
      ];
      const kubectl = (verb: string, node: string) => ['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', verb, node, ...(verb === 'drain' ? ['--ignore-daemonsets', '--delete-emptydir-data', '--timeout=300s'] : [])];
      // The control-plane host drains and uncordons itself (it is the first that answers), then the worker.
      assert.deepEqual(argvOf(cp0).slice(before[0]), [
        ...repository,
        ['kubeadm', 'upgrade', 'plan', 'v1.35.0'],
        ['kubeadm', 'upgrade', 'apply', 'v1.35.0', '-y'],
        kubectl('drain', `${id}-cp-0`),
        ...kubelet,
        kubectl('uncordon', `${id}-cp-0`),
        ['kubelet', '--version'],
        kubectl('drain', `${id}-workers-0`),
        kubectl('uncordon', `${id}-workers-0`),
      ]);
      assert.deepEqual(argvOf(worker).slice(before[1]), [...repository, ['kubeadm', 'upgrade', 'node'], ...kubelet, ['kubelet', '--version']]);
      assert.equal(cp0.clusterVersion, 'v1.35.0');
      assert.deepEqual(cp0.cordonedNodes(), [], 'every node uncordoned');
      assert.match(worker.file('/etc/apt/sources.list.d/kubernetes.list') ?? '', /pkgs\.k8s\.io\/core:\/stable:\/v1\.35\/deb\//);
      assert.deepEqual([worker.packages()['kubeadm'], worker.packages()['kubelet'], worker.packages()['kubectl']], ['1.35.0', '1.35.0', '1.35.0']);
      // Again: already done, nothing runs.
      const count = worker.invocations().length;
      assert.deepEqual(await upgrade('workers-0', false), { state: 'joined', kubeletVersion: 'v1.35.0' });
      assert.equal(worker.invocations().length, count);
    });

    it('the stand-ins refuse a step taken out of order', () => {
      // The repository offers one minor: no newer kubeadm until it is switched.
      assert.match(worker.runStandIn('apt-get', ['install', '-y', 'kubeadm=1.36.0-*']).output, /Version '1\.36\.0-\*' for 'kubeadm' was not found/);
      // kubeadm older than its target refuses to apply it.
      assert.match(cp0.runStandIn('kubeadm', ['upgrade', 'apply', 'v1.36.0', '-y']).output, /higher than the kubeadm version "v1\.35\.0"\. Upgrade kubeadm first/);
      // A kubelet moved on a node that was not drained.
      assert.match(worker.runStandIn('apt-get', ['install', '-y', '--allow-change-held-packages', 'kubelet=1.35.1-*']).output, /installed on node .*-workers-0 while it was not drained/);
      // A held package does not move without saying so.
      assert.match(worker.runStandIn('apt-get', ['install', '-y', 'kubectl=1.35.1-*']).output, /Held packages were changed/);
    });

    it('removes a node: drain and delete on a control-plane host, kubeadm reset, and only what Flotilla changed undone', async () => {
      const cpBefore = cp0.invocations().length;
      const workerBefore = worker.invocations().length;
      await bootstrapper.removeNode(request('workers-0'));
      assert.deepEqual(argvOf(cp0).slice(cpBefore), [
        ['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'drain', `${id}-workers-0`, '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=300s'],
        ['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'delete', 'node', `${id}-workers-0`, '--ignore-not-found'],
      ]);
      // Its packages were the host's own (upgraded with the cluster): they stay; no package manager removes anything.
      assert.deepEqual(argvOf(worker).slice(workerBefore).filter(([tool]) => tool !== 'dpkg-query'), [['kubeadm', 'reset', '-f']]);
      assert.deepEqual(Object.keys(worker.packages()).sort(), ['containerd', 'kubeadm', 'kubectl', 'kubelet']);
      // The files Flotilla wrote are gone: its kubeadm configuration and the repository it switched to.
      assert.equal(worker.kubernetesFile('kubeadm-config.yaml'), undefined);
      assert.equal(worker.file('/etc/apt/sources.list.d/kubernetes.list'), undefined);
      assert.equal(worker.file('/etc/apt/keyrings/kubernetes-apt-keyring.gpg'), undefined);
      assert.equal(worker.isNode, false);
      const steps = (await context.records.steps(id, `${id}-workers-0`)).map((step) => step.step);
      assert.deepEqual(steps, [
        'remove/drain',
        'remove/delete-node',
        'remove/kubeadm-reset',
        'remove/restore-file /etc/apt/sources.list.d/kubernetes.list',
        'remove/restore-file /etc/apt/keyrings/kubernetes-apt-keyring.gpg',
        'remove/restore-file /etc/kubernetes/kubeadm-config.yaml',
      ]);
      assert.deepEqual(await context.records.changes(id, `${id}-workers-0`), [], 'nothing left to undo');
    });

    it('the first control-plane host goes down: the virtual IP moves to another control plane, and a new host joins through it', async () => {
      assert.equal(cp0.kubeVipAddress, vip);
      await cp0.powerOff();
      const cp0Calls = cp0.invocations().length;
      const newcomer = await TestSshd.start({ address: '127.0.0.15' });
      hosts.push(newcomer);
      // At the first host's own address nothing answers any more: what a join there would meet.
      const direct = joinPath(newcomer.dir, 'direct.yaml');
      const secrets = await context.joinSecrets.forCluster(id);
      writeFileSync(direct, `discovery:\n  bootstrapToken:\n    apiServerEndpoint: ${cp0.address}:6443\n    token: ${secrets.bootstrapToken}\n`);
      assert.match(newcomer.runStandIn('kubeadm', ['join', '--config', direct]).output, /connection refused/);
      const newcomerCalls = newcomer.invocations().length;

      const base = request('workers-0');
      const host = { ...base.host!, address: newcomer.address, port: newcomer.port, sshKeyRef: await registerKey(context, newcomer, `${id}-new`) };
      const name = `${id}-workers-1`;
      // The cluster as it is now: its control-plane hosts (the worker removed above is gone) and the newcomer.
      const spec = { ...base.spec, hosts: base.spec.hosts!.filter((planned) => planned.role === 'control-plane') };
      assert.deepEqual(await bootstrapper.joinNode({ ...base, spec, name, host, providerId: `ssh://${newcomer.address}:${newcomer.port}`, addresses: [newcomer.address] }), { state: 'joined', kubeletVersion: 'v1.34.2' });
      const config = parse(newcomer.kubernetesFile('kubeadm-config.yaml')!) as { discovery: { bootstrapToken: { apiServerEndpoint: string } } };
      assert.equal(config.discovery.bootstrapToken.apiServerEndpoint, `${vip}:6443`);
      assert.deepEqual(kubeadmArgv(newcomer).slice(1), [['kubeadm', 'join', '--config', KUBEADM_CONFIG_PATH], ['kubelet', '--version']]);
      assert.ok(newcomer.invocations().length > newcomerCalls);
      assert.equal(cp0.invocations().length, cp0Calls, 'nothing was asked of the host that is down');
      // kubectl runs on a control-plane host that answers: the first one being down does not blind the health check.
      const cp1Calls = cp1.invocations().length;
      assert.equal(await bootstrapper.nodeReady({ ...request('cp-2') }), true);
      assert.deepEqual(argvOf(cp1).slice(cp1Calls), [['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'get', 'node', `${id}-cp-2`, '-o', 'json']]);
      cp2.setNodeReady(false);
      assert.equal(await bootstrapper.nodeReady({ ...request('cp-2') }), false);
      cp2.setNodeReady(true);
      // A control-plane host that answers SSH but whose API server does not: the next one is asked.
      cp1.failNext('kubectl', '--kubeconfig');
      const cp2Calls = cp2.invocations().length;
      assert.equal(await bootstrapper.nodeReady({ ...request('cp-2'), name: `${id}-workers-1` }), true);
      assert.deepEqual(argvOf(cp2).slice(cp2Calls), [['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'get', 'node', `${id}-workers-1`, '-o', 'json']]);
      cp1.succeedAgain('kubectl', '--kubeconfig');
    });

    it('takes a control-plane host that went down out of the cluster: its etcd member goes from one that serves, the host is retried, then left as it is', async () => {
      const name = `${id}-cp-0`;
      assert.deepEqual(cp0.etcdMembers(), [name, `${id}-cp-1`, `${id}-cp-2`], 'each control plane joined etcd');
      const cp1Calls = cp1.invocations().length;
      // The host is down: the removal is retried (a host can be down for a moment)...
      await assert.rejects(bootstrapper.removeNode(request('cp-0')), (error) => error instanceof SshError && error.transient);
      // ...but the node is out of the cluster already, its etcd member removed through another control plane's etcd pod.
      assert.deepEqual(cp0.etcdMembers(), [`${id}-cp-1`, `${id}-cp-2`]);
      const asked = argvOf(cp1).slice(cp1Calls).map((argv) => argv.filter((word) => !word.startsWith('--') && word !== '/etc/kubernetes/admin.conf'));
      const etcdctl = ['kubectl', '-n', 'kube-system', 'exec', `etcd-${id}-cp-1`, 'etcdctl', 'member'];
      assert.deepEqual(asked.slice(0, 3), [['kubectl', 'drain', name], ['kubectl', 'delete', 'node', name], [...etcdctl, 'list']]);
      assert.deepEqual(asked[3]?.slice(0, -1), [...etcdctl, 'remove']);
      assert.match(asked[3]?.at(-1) ?? '', /^[0-9a-f]{16}$/);
      const changes = (await context.records.changes(id, name)).length;
      assert.ok(changes > 0, 'Flotilla changed the host');

      // Its retries used up, the host is left as it is: nothing more asked of another host, what is left on it stays recorded.
      const cp1Again = cp1.invocations().length;
      await bootstrapper.removeNode(request('cp-0'), { leaveUnreachableHost: true });
      assert.match(context.logs.join('\n'), new RegExp(`${name}: .* still cannot be reached .*left as it is`));
      assert.equal((await context.records.changes(id, name)).length, changes);
      assert.deepEqual(cp0.etcdMembers(), [`${id}-cp-1`, `${id}-cp-2`]);
      assert.match((await context.records.step(id, name, 'remove/etcd-member'))?.output ?? '', new RegExp(`no etcd member named '?${name}`), 'a member already removed is done');
      assert.ok(cp1.invocations().length > cp1Again);
    });
  });

  describe('preflight failures', () => {
    it('lists every failed check of every host and installs nothing', async () => {
      const id = clusterId();
      const cp = await TestSshd.start({ address: '127.0.0.21', facts: healthyFacts('twin', { ipForward: '0', memoryMb: 1024, swapMb: 2048, listeningPorts: [6443] }) });
      const worker = await TestSshd.start({ address: '127.0.0.22', facts: healthyFacts('twin', { runtimeSockets: [], osId: 'ubuntu', osVersion: '20.04' }) });
      hosts.push(cp, worker);
      const spec = userClusterSpec([
        { sshd: cp, role: 'control-plane', keyRef: await registerKey(context, cp, `${id}-cp`) },
        { sshd: worker, role: 'worker', keyRef: await registerKey(context, worker, `${id}-w`) },
      ]);
      const requests = joinRequests(id, spec);
      assert.deepEqual(await bootstrapper.joinNode(requests.get(`${id}-cp-0`)!), { state: 'joining' });
      const result = await bootstrapper.joinNode(requests.get(`${id}-workers-0`)!);
      assert.equal(result.state, 'failed');
      const message = result.state === 'failed' ? result.message : '';
      assert.equal(
        message,
        `preflight failed: ${id}-cp-0: memory: a control-plane host needs at least 1700 MB of memory, it has 1024 MB; ports: port 6443 already in use; ip-forward: net.ipv4.ip_forward must be 1, it is 0; hostname-unique: hostname "twin" is also the hostname of ${id}-workers-0` +
          ` | ${id}-workers-0: hostname-unique: hostname "twin" is also the hostname of ${id}-cp-0; os-supported: ubuntu 20.04 is not supported (supported: ubuntu 22.04/24.04, debian 12, rhel 8/9, rocky 8/9, almalinux 8/9, sles 15, opensuse-leap 15, fedora)`,
      );
      // The first control plane answers the same, and nothing was installed anywhere.
      assert.deepEqual(await bootstrapper.joinNode(requests.get(`${id}-cp-0`)!), { state: 'failed', message });
      assert.deepEqual(calls(cp), []);
      assert.deepEqual(calls(worker), []);
      assert.deepEqual(await context.records.steps(id), []);
      const swap = (await context.records.checks(id)).find((check) => check.machine === `${id}-cp-0` && check.check === 'swap')!;
      assert.deepEqual([swap.status, swap.observed], ['warn', '2048 MB']);
    });
  });

  describe('a bare host of the RHEL family', () => {
    it('gets kubeadm, the kubelet and kubectl from the Kubernetes repository of the minor and containerd.io from Docker\'s with dnf, and loses them again on removal', async () => {
      const rocky = await TestSshd.start({ address: '127.0.0.35', packages: {}, facts: healthyFacts('rocky-1', { osId: 'rocky', osVersion: '9.4', runtimeSockets: [] }) });
      hosts.push(rocky);
      const id = clusterId();
      const request = joinRequests(id, userClusterSpec([{ sshd: rocky, role: 'control-plane', keyRef: await registerKey(context, rocky, `${id}-cp`) }])).get(`${id}-cp-0`)!;
      assert.deepEqual(await bootstrapper.joinNode(request), { state: 'joined', kubeletVersion: 'v1.34.0' });
      assert.deepEqual(rocky.packages(), { 'containerd.io': '1.7.24', kubeadm: '1.34.0', kubectl: '1.34.0', kubelet: '1.34.0' });
      assert.deepEqual(argvOf(rocky, 'dnf'), [['dnf', 'install', '-y', '--disableexcludes=kubernetes', 'kubeadm-1.34.0', 'kubelet-1.34.0', 'kubectl-1.34.0', 'containerd.io']]);
      assert.match(rocky.file('/etc/yum.repos.d/kubernetes.repo') ?? '', /^baseurl=https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.34\/rpm\/$/m);
      assert.match(rocky.file('/etc/yum.repos.d/docker-ce.repo') ?? '', /^includepkgs=containerd\.io$/m);
      assert.ok(rocky.file('/etc/containerd/config.toml')?.includes('SystemdCgroup = true'));
      assert.ok(rocky.isNode);

      await bootstrapper.removeNode(request);
      assert.deepEqual(rocky.packages(), {});
      for (const path of ['/etc/yum.repos.d/kubernetes.repo', '/etc/yum.repos.d/docker-ce.repo', '/etc/containerd/config.toml', '/etc/kubernetes/kubeadm-config.yaml']) assert.equal(rocky.file(path), undefined, path);
      assert.ok(!rocky.isNode);
    });
  });

  describe('reaching the host', () => {
    let sshd: TestSshd;
    before(async () => {
      sshd = await TestSshd.start({ address: '127.0.0.31' });
      hosts.push(sshd);
    });
    const single = (keyRef: string, port = sshd.port): JoinRequest => {
      const id = clusterId();
      const spec = userClusterSpec([{ sshd: { address: sshd.address, port }, role: 'control-plane', keyRef }]);
      return joinRequests(id, spec).get(`${id}-cp-0`)!;
    };

    it('fails on an SSH key reference nobody registered', async () => {
      assert.deepEqual(await bootstrapper.joinNode(single('sshkey-nobody')), { state: 'failed', message: `root@127.0.0.31:${sshd.port}: the SSH key reference is not registered (no SSH key "sshkey-nobody")` });
    });

    it('fails when the host refuses the key', async () => {
      const other = await TestSshd.start({ address: '127.0.0.32' });
      hosts.push(other);
      const wrongRef = await registerKey(context, other, `wrong-${clusterId()}`);
      const refused = single(wrongRef);
      const result = await bootstrapper.joinNode(refused);
      assert.deepEqual(result, { state: 'failed', message: `root@127.0.0.31:${sshd.port}: the host refused the SSH key (publickey authentication was refused)` });
      // The failed use is audited too.
      assert.deepEqual(
        context.uses.filter((use) => use.clusterId === refused.clusterId),
        [{ what: 'ssh-key', clusterId: refused.clusterId, ok: false, reason: `SSH key "${wrongRef}": root@127.0.0.31:${sshd.port}: the host refused the SSH key (publickey authentication was refused)` }],
      );
      assert.ok(!context.logs.join('\n').includes(other.userPrivateKey.split('\n')[1]!));
    });

    it('throws a transient error the reconciler retries when the host cannot be reached', async () => {
      const ref = await registerKey(context, sshd, `reach-${clusterId()}`);
      const closedPort = sshd.port + 1;
      const request = single(ref, closedPort);
      await assert.rejects(bootstrapper.joinNode(request), (error: unknown) => error instanceof SshError && error.transient && error.message === `root@127.0.0.31:${closedPort}: the host cannot be reached (connection refused)`);
    });

    it('refuses a host that already is a node of some cluster, and leaves it as it is when the machine is removed', async () => {
      const node = await TestSshd.start({ address: '127.0.0.34' });
      hosts.push(node);
      node.writeFile('/etc/kubernetes/kubelet.conf', 'apiVersion: v1\nkind: Config\n# the host\'s own cluster\n');
      const id = clusterId();
      const request = joinRequests(id, userClusterSpec([{ sshd: node, role: 'control-plane', keyRef: await registerKey(context, node, `${id}-cp`) }])).get(`${id}-cp-0`)!;
      const result = await bootstrapper.joinNode(request);
      assert.deepEqual(result, {
        state: 'failed',
        message: `${id}-cp-0: the host already is a Kubernetes node (/etc/kubernetes/kubelet.conf was there before Flotilla): take it out of its cluster first, or leave it out`,
      });
      await bootstrapper.removeNode(request);
      assert.deepEqual(calls(node, 'kubeadm'), [], 'neither joined nor reset');
      assert.deepEqual(installs(node), []);
      assert.equal(node.kubernetesFile('kubelet.conf'), "apiVersion: v1\nkind: Config\n# the host's own cluster\n");
    });

    it('fails with the step\'s output when kubeadm init fails, and the other hosts keep waiting', async () => {
      const workerHost = await TestSshd.start({ address: '127.0.0.33' });
      hosts.push(workerHost);
      const id = clusterId();
      const spec = userClusterSpec([
        { sshd, role: 'control-plane', keyRef: await registerKey(context, sshd, `${id}-cp`) },
        { sshd: workerHost, role: 'worker', keyRef: await registerKey(context, workerHost, `${id}-w`) },
      ]);
      const requests = joinRequests(id, spec);
      sshd.failNext('kubeadm', 'init');
      assert.deepEqual(await bootstrapper.joinNode(requests.get(`${id}-workers-0`)!), { state: 'joining' });
      const result = await bootstrapper.joinNode(requests.get(`${id}-cp-0`)!);
      assert.deepEqual(result, { state: 'failed', message: `${id}-cp-0: step kubeadm-init failed (exit 1): error execution phase: kubeadm init failed on purpose` });
      assert.equal((await context.records.step(id, `${id}-cp-0`, 'kubeadm-init'))?.exitCode, 1);
      // Preflight passed on both, but the first control plane is not initialised: the worker waits (it has all it needs installed).
      assert.deepEqual(await bootstrapper.joinNode(requests.get(`${id}-workers-0`)!), { state: 'joining' });
      assert.deepEqual(calls(workerHost, 'kubeadm'), []);
      assert.deepEqual(installs(workerHost), []);
    });
  });
});
