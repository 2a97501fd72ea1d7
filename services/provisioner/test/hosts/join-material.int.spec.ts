import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import type { JoinRequest } from '../../src/bootstrap/node-bootstrapper.js';
import type { SshBootstrapper } from '../../src/hosts/ssh.bootstrapper.js';
import { stopAll, tearDown, TestSshd } from '../support/sshd.js';
import { clusterId, HostsClock, HostsContext, joinRequests, userClusterSpec } from './support.js';

const HOUR_MS = 3_600_000;

interface JoinConfiguration {
  discovery: { bootstrapToken: { token: string } };
  controlPlane?: { certificateKey: string };
}

const kubeadmArgv = (sshd: TestSshd): string[][] => sshd.invocations().filter((call) => call.tool === 'kubeadm').map((call) => call.argv);

/**
 * kubeadm deletes a bootstrap token 24 h after it was made and the uploaded control-plane
 * certificates 2 h after the upload; the stand-in kubeadm of the test hosts does the same, on the
 * clock the test moves. A join after that gets fresh material made on the first control plane.
 */
describe('SshBootstrapper: join material made again in the running cluster when it ran out', () => {
  const clock = new HostsClock();
  const id = clusterId();
  let context: HostsContext;
  let bootstrapper: SshBootstrapper;
  const hosts: TestSshd[] = [];
  let cp0: TestSshd, cp1: TestSshd, cp2: TestSshd, worker0: TestSshd, worker1: TestSshd;
  let requests: Map<string, JoinRequest>;
  const request = (name: string): JoinRequest => requests.get(`${id}-${name}`)!;
  const joined = { state: 'joined', kubeletVersion: 'v1.34.2' };

  before(async () => {
    context = await HostsContext.create(clock);
    bootstrapper = context.bootstrapper();
    const started = await Promise.all(['127.0.0.61', '127.0.0.62', '127.0.0.63', '127.0.0.64', '127.0.0.65'].map((address) => TestSshd.start({ address, clockFile: clock.file })));
    hosts.push(...started);
    [cp0, cp1, cp2, worker0, worker1] = started as [TestSshd, TestSshd, TestSshd, TestSshd, TestSshd];
    const refs: string[] = [];
    for (const [index, sshd] of [cp0, cp1, cp2, worker0, worker1].entries()) {
      const registered = await context.keys.register(`${id}-${index}`, sshd.userPrivateKey);
      assert.ok(registered.ok);
      refs.push(registered.key.ref);
    }
    const spec = userClusterSpec([
      { sshd: cp0, role: 'control-plane', keyRef: refs[0]! },
      { sshd: cp1, role: 'control-plane', keyRef: refs[1]! },
      { sshd: cp2, role: 'control-plane', keyRef: refs[2]! },
      { sshd: worker0, role: 'worker', keyRef: refs[3]! },
    ]);
    requests = joinRequests(id, spec);
    // The host a scale-up brings later: the next worker of the pool, in the cluster as it was requested.
    const scaled = joinRequests(id, userClusterSpec([{ sshd: worker1, role: 'worker', keyRef: refs[4]! }])).get(`${id}-workers-0`)!;
    requests.set(`${id}-workers-1`, { ...scaled, name: `${id}-workers-1`, spec });
  });

  after(async () => {
    await tearDown(() => context.dispose(), () => stopAll(hosts), () => clock.dispose());
  });

  it('installs as usual: init, then joins with the material init made, nothing minted', async () => {
    for (const name of ['cp-1', 'cp-2', 'workers-0']) assert.deepEqual(await bootstrapper.joinNode(request(name)), { state: 'joining' });
    assert.deepEqual(await bootstrapper.joinNode(request('cp-0')), joined);
    for (const name of ['cp-1', 'workers-0']) assert.deepEqual(await bootstrapper.joinNode(request(name)), joined);
    assert.deepEqual(kubeadmArgv(cp0).map((argv) => argv[0]), ['init']);
  });

  it('a control plane joining 3 h after init, when kubeadm-certs is gone, first gets the certificates uploaded again on the first control plane', async () => {
    const before = await context.joinSecrets.forCluster(id);
    clock.advance(3 * HOUR_MS);
    assert.deepEqual(await bootstrapper.joinNode(request('cp-2')), joined);

    // Uploaded again under the same key, on the first control plane, before the join; the token still had 21 h.
    assert.deepEqual(kubeadmArgv(cp0).slice(1), [['init', 'phase', 'upload-certs', '--upload-certs', '--certificate-key', before.certificateKey]]);
    const after = await context.joinSecrets.forCluster(id);
    assert.equal(after.bootstrapToken, before.bootstrapToken);
    assert.equal(after.certificateKey, before.certificateKey);
    assert.ok(Math.abs(Date.parse(after.certificatesUploadedAt) - clock.now().getTime()) < 60_000, `uploaded at ${after.certificatesUploadedAt}, the clock says ${clock.now().toISOString()}`);
    const config = parse(cp2.kubernetesFile('kubeadm-config.yaml')!) as JoinConfiguration;
    assert.deepEqual([config.discovery.bootstrapToken.token, config.controlPlane?.certificateKey], [before.bootstrapToken, before.certificateKey]);
    assert.deepEqual(kubeadmArgv(cp2), [['join', '--config', '/etc/kubernetes/kubeadm-config.yaml']]);

    const upload = await context.records.step(id, `${id}-cp-0`, 'join-material/upload-certs');
    assert.equal(upload?.exitCode, 0);
    assert.equal(upload?.command, 'kubeadm init phase upload-certs --upload-certs --certificate-key ***');
    assert.ok(!upload?.output.includes(before.certificateKey), 'the key kubeadm prints is masked');
  });

  it('a worker added 25 h after init, when the token is gone, first gets a fresh token made on the first control plane', async () => {
    const before = await context.joinSecrets.forCluster(id);
    clock.advance(22 * HOUR_MS);
    assert.deepEqual(await bootstrapper.joinNode(request('workers-1')), joined);

    const after = await context.joinSecrets.forCluster(id);
    assert.notEqual(after.bootstrapToken, before.bootstrapToken);
    assert.ok(Math.abs(Date.parse(after.bootstrapTokenMintedAt) - clock.now().getTime()) < 60_000, `minted at ${after.bootstrapTokenMintedAt}, the clock says ${clock.now().toISOString()}`);
    // A worker needs no certificates: they are not uploaded for it.
    assert.equal(after.certificatesUploadedAt, before.certificatesUploadedAt);
    assert.deepEqual(kubeadmArgv(cp0).slice(2), [['token', 'create', after.bootstrapToken, '--ttl', '24h0m0s', '--description', `Flotilla join token of cluster ${id}`, '--kubeconfig', '/etc/kubernetes/admin.conf']]);
    const config = parse(worker1.kubernetesFile('kubeadm-config.yaml')!) as JoinConfiguration;
    assert.equal(config.discovery.bootstrapToken.token, after.bootstrapToken);
    assert.equal(config.controlPlane, undefined);

    const minted = await context.records.step(id, `${id}-cp-0`, 'join-material/token-create');
    assert.equal(minted?.exitCode, 0);
    assert.equal(minted?.command, `kubeadm token create '***' --ttl 24h0m0s --description 'Flotilla join token of cluster ${id}' --kubeconfig /etc/kubernetes/admin.conf`);
    const everything = JSON.stringify({ steps: await context.records.steps(id), logs: context.logs, uses: context.uses });
    for (const secret of [before.bootstrapToken, after.bootstrapToken, after.certificateKey]) assert.ok(!everything.includes(secret), 'a secret was recorded or logged');
  });

  it('the stand-in cluster refuses what ran out, as kubeadm does: the first token is gone 24 h after init', async () => {
    // worker0 joined with the first token; joined again from scratch now, it would be refused.
    const first = (parse(worker0.kubernetesFile('kubeadm-config.yaml')!) as JoinConfiguration).discovery.bootstrapToken.token;
    assert.notEqual(first, (await context.joinSecrets.forCluster(id)).bootstrapToken);
    const refused = worker0.runStandIn('kubeadm', ['join', '--config', worker0.kubernetesPath('kubeadm-config.yaml')]);
    assert.equal(refused.exitCode, 1);
    assert.match(refused.output, new RegExp(`could not find a JWS signature in the cluster-info ConfigMap for token ID "${first.split('.')[0]}"`));
  });
});
