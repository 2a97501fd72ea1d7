import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterProvisioningFailed, ClusterReady, type ClusterSpec } from '@flotilla/contracts';
import { testPolicyEnv } from '@flotilla/service-kit/testing';
import { parseAllDocuments } from 'yaml';
import { caCertHashOf } from '../../src/bootstrap/join-secrets.js';
import { KUBEADM_CONFIG_PATH } from '../../src/bootstrap/render/kubeadm.js';
import { Harness } from '../support/harness.js';
import { HostedWorld } from '../support/hosted.js';
import type { KubeObject } from '../support/kube/store.js';
import { standInApiServerAt, stopAll, tearDown, TestSshd } from '../support/sshd.js';

const WAIT_MS = 60_000;

/**
 * A hosted cluster whose workers are users' hosts: each joins the TenantControlPlane's endpoint
 * over SSH with a token minted in the hosted cluster. The stand-in kubeadm on the host reaches
 * the hosted API server at that address and knows the tokens minted there (as the real one
 * would check them against its cluster-info).
 */
describe('hosted control plane with workers on users hosts, over SSH', () => {
  let h: Harness;
  let world: HostedWorld;
  let hostedApi: ReturnType<typeof standInApiServerAt>;
  const hosts: TestSshd[] = [];

  before(async () => {
    hostedApi = standInApiServerAt('127.0.0.1');
    world = await HostedWorld.start({ kind: 'ready', afterMs: 300 }, (object: KubeObject) => {
      if (object['type'] !== 'bootstrap.kubernetes.io/token') return;
      const data = Object.fromEntries(Object.entries(object['data'] as Record<string, string>).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]));
      hostedApi.addToken(`${data['token-id']}.${data['token-secret']}`, new Date(data['expiration']!));
    });
    h = await Harness.start(await testPolicyEnv({ release: '4.0' }));
  });

  after(async () => {
    await tearDown(() => h.dispose(), () => stopAll(hosts), () => world.close(), () => hostedApi.dispose());
  });

  it('a worker host joins the TenantControlPlane once it is Ready, with a token minted there and the pin of its CA', async () => {
    const worker = await TestSshd.start({ address: '127.0.0.71', kubeletVersion: 'v1.30.4' });
    hosts.push(worker);
    const key = await h.api('/api/v1/ssh-keys', { method: 'POST', body: JSON.stringify({ name: 'hosted-worker', privateKey: worker.userPrivateKey }) });
    assert.equal(key.status, 201);
    const { ref } = (await key.json()) as { ref: string };
    const registered = await h.api('/api/v1/management-clusters', { method: 'POST', body: JSON.stringify(world.registration('mgmt-1')) });
    assert.equal(registered.status, 201);
    const spec: ClusterSpec = {
      name: 'hosted-on-hosts',
      model: 'hosted-control-plane',
      kubernetesVersion: '1.30',
      controlPlane: { count: 1, machineSize: 'hosted' },
      nodePools: [{ name: 'workers', count: 1, machineSize: 'host', labels: {}, taints: [] }],
      network: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/12' },
      hosted: { workerModel: 'user-provisioned' },
      hosts: [{ address: worker.address, port: worker.port, user: 'root', sshKeyRef: ref, role: 'worker', pool: 'workers' }],
    };
    await h.request('hosted-hosts-1', spec);
    const ready = await h.waitFor(ClusterReady, 'hosted-hosts-1', WAIT_MS);
    assert.deepEqual(await h.events(ClusterProvisioningFailed, 'hosted-hosts-1'), []);
    assert.equal(ready.data.apiServerEndpoint, `https://${world.tenant.endpoint}`);
    assert.equal(ready.data.nodeCount, 1);
    assert.deepEqual(
      worker.invocations().filter((call) => call.tool === 'kubeadm').map((call) => call.argv),
      [['join', '--config', KUBEADM_CONFIG_PATH]],
    );
    const [join] = parseAllDocuments(worker.file(KUBEADM_CONFIG_PATH)!).map((document) => document.toJS() as { kind: string; discovery: { bootstrapToken: { apiServerEndpoint: string; token: string; caCertHashes: string[] } }; controlPlane?: unknown });
    assert.equal(join?.kind, 'JoinConfiguration');
    assert.equal(join?.controlPlane, undefined, 'a worker');
    assert.equal(join?.discovery.bootstrapToken.apiServerEndpoint, world.tenant.endpoint);
    assert.deepEqual(join?.discovery.bootstrapToken.caCertHashes, [caCertHashOf(world.ca)], "the hosted cluster's CA, from its admin kubeconfig");
    const minted = world.tenant.list('secrets', 'kube-system').map((secret) => Buffer.from((secret['data'] as Record<string, string>)['token-id']!, 'base64').toString('utf8'));
    assert.ok(minted.includes(join.discovery.bootstrapToken.token.split('.')[0]!), 'the token was minted in the hosted cluster');
  });
});
