import 'reflect-metadata';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ClusterSpec } from '@flotilla/contracts';
import { parseAllDocuments } from 'yaml';
import { generateJoinSecrets, type JoinSecrets } from '../join-secrets.js';
import { BootstrapDataError } from './errors.js';
import { BOOTSTRAP_TOKEN_TTL_MS } from '../join-lifetimes.js';
import { type ClusterConfiguration, type InitConfiguration, type JoinConfiguration, type KubeadmConfigInput, type KubeadmDocument, kubeadmDuration, renderKubeadmConfig } from './kubeadm.js';

const testSpec = ClusterSpec.parse({
  name: 'Payments',
  model: 'platform-provisioned',
  kubernetesVersion: '1.34',
  controlPlane: { count: 3, machineSize: 'm' },
  nodePools: [
    { name: 'general', count: 2, machineSize: 'm', labels: { 'example.com/team': 'payments', tier: 'web' } },
    { name: 'gpu', count: 1, machineSize: 'l', taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }, { key: 'dedicated', effect: 'NoExecute' }] },
  ],
  network: { podCidr: '10.42.0.0/16', serviceCidr: '10.43.0.0/16' },
  nodeOs: 'microos',
});

function parse(yaml: string): KubeadmDocument[] {
  const documents = parseAllDocuments(yaml);
  assert.ok(Array.isArray(documents), 'one or more documents');
  for (const document of documents) assert.deepEqual(document.errors, []);
  return documents.map((document) => document.toJS() as KubeadmDocument);
}

/** The one document of a join configuration. */
function parseJoin(yaml: string): JoinConfiguration {
  const documents = parse(yaml);
  assert.equal(documents.length, 1);
  assert.equal(documents[0]!.kind, 'JoinConfiguration');
  return documents[0] as JoinConfiguration;
}

describe('kubeadm configuration', () => {
  let secrets: JoinSecrets;
  let base: KubeadmConfigInput;
  before(async () => {
    secrets = await generateJoinSecrets('c1');
    base = {
      clusterId: 'c1',
      spec: testSpec,
      node: { name: 'c1-cp-0', role: 'control-plane', pool: null, first: true, address: '172.16.0.10' },
      controlPlaneEndpoint: 'api.c1.example.com:6443',
      secrets,
    };
  });

  it('initialises the first control-plane node', () => {
    const documents = parse(renderKubeadmConfig(base));
    assert.deepEqual(documents.map((document) => document.kind), ['InitConfiguration', 'ClusterConfiguration']);
    const [init, cluster] = documents as [InitConfiguration, ClusterConfiguration];
    assert.equal(init.apiVersion, 'kubeadm.k8s.io/v1beta4');
    assert.equal(init.kind, 'InitConfiguration');
    assert.equal(init.bootstrapTokens[0]?.token, secrets.bootstrapToken);
    assert.match(init.bootstrapTokens[0].token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.equal(init.certificateKey, secrets.certificateKey);
    assert.deepEqual(init.localAPIEndpoint, { advertiseAddress: '172.16.0.10', bindPort: 6443 });
    assert.equal(init.nodeRegistration.name, 'c1-cp-0');
    assert.equal(init.nodeRegistration.taints, undefined, "kubeadm's control-plane taint stays");
    assert.equal(cluster.apiVersion, 'kubeadm.k8s.io/v1beta4');
    assert.equal(cluster.kind, 'ClusterConfiguration');
    assert.equal(cluster.kubernetesVersion, 'v1.34.0');
    assert.equal(cluster.clusterName, 'c1');
    assert.equal(cluster.controlPlaneEndpoint, 'api.c1.example.com:6443');
    assert.deepEqual(cluster.apiServer, { certSANs: ['api.c1.example.com'] }, 'the endpoint is among the API server certificate\'s names');
    assert.equal(cluster.networking.podSubnet, '10.42.0.0/16');
    assert.equal(cluster.networking.serviceSubnet, '10.43.0.0/16');
  });

  it('gives the first token the 24 h the repository counts with, written as kubeadm reads durations', () => {
    const [init] = parse(renderKubeadmConfig(base)) as [InitConfiguration];
    assert.equal(init.bootstrapTokens[0]?.ttl, '24h0m0s');
    assert.equal(kubeadmDuration(BOOTSTRAP_TOKEN_TTL_MS), '24h0m0s');
    assert.equal(kubeadmDuration(2 * 3_600_000 + 90_500), '2h1m30s');
  });

  it('joins further control-plane nodes with the certificate key and the CA pin', () => {
    const join = parseJoin(renderKubeadmConfig({ ...base, node: { name: 'c1-cp-1', role: 'control-plane', pool: null, first: false, address: '172.16.0.11' } }));
    assert.equal(join.apiVersion, 'kubeadm.k8s.io/v1beta4');
    assert.equal(join.kind, 'JoinConfiguration');
    assert.equal(join.discovery.bootstrapToken.token, secrets.bootstrapToken);
    assert.equal(join.discovery.bootstrapToken.apiServerEndpoint, 'api.c1.example.com:6443');
    assert.deepEqual(join.discovery.bootstrapToken.caCertHashes, [secrets.caCertHash]);
    assert.equal(join.controlPlane?.certificateKey, secrets.certificateKey);
    assert.deepEqual(join.controlPlane?.localAPIEndpoint, { advertiseAddress: '172.16.0.11', bindPort: 6443 });
  });

  it('joins workers with their pool labels and taints, and no certificate key', () => {
    const yaml = renderKubeadmConfig({ ...base, node: { name: 'c1-general-0', role: 'worker', pool: 'general', first: false, address: '172.16.0.20' } });
    assert.ok(!yaml.includes(secrets.certificateKey), 'workers never see the certificate key');
    assert.ok(!yaml.includes('PRIVATE KEY'));
    const join = parseJoin(yaml);
    assert.equal(join.controlPlane, undefined);
    assert.deepEqual(join.nodeRegistration.kubeletExtraArgs, [
      { name: 'node-ip', value: '172.16.0.20' },
      { name: 'node-labels', value: 'example.com/team=payments,tier=web' },
    ]);
    assert.deepEqual(join.nodeRegistration.taints, []);

    const gpu = parseJoin(renderKubeadmConfig({ ...base, node: { name: 'c1-gpu-0', role: 'worker', pool: 'gpu', first: false, address: 'fd00::20' } }));
    assert.deepEqual(gpu.nodeRegistration.taints, [
      { key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' },
      { key: 'dedicated', effect: 'NoExecute' },
    ]);
    assert.deepEqual(gpu.nodeRegistration.kubeletExtraArgs, [{ name: 'node-ip', value: 'fd00::20' }]);
  });

  it('lets a host known by name advertise the default route, and a worker without a pool join bare', () => {
    const byName = parse(renderKubeadmConfig({ ...base, node: { ...base.node, address: 'cp-0.example.internal' } }));
    const init = byName.find((doc) => doc.kind === 'InitConfiguration') as InitConfiguration;
    assert.equal(init.localAPIEndpoint, undefined);
    assert.deepEqual(init.nodeRegistration.kubeletExtraArgs, []);
    const bare = parseJoin(renderKubeadmConfig({ ...base, node: { name: 'c1-worker-0', role: 'worker', pool: null, first: false, address: '10.0.0.30' } }));
    assert.deepEqual(bare.nodeRegistration.taints, []);
    assert.deepEqual(bare.nodeRegistration.kubeletExtraArgs, [{ name: 'node-ip', value: '10.0.0.30' }]);
  });

  it('writes v1beta3, kubelet flags as a map, for kubeadm before 1.31', () => {
    const documents = parseAllDocuments(renderKubeadmConfig({ ...base, spec: { ...testSpec, kubernetesVersion: '1.30' }, node: { ...base.node, address: '10.0.0.10' } })).map((document) => document.toJS() as Record<string, unknown>);
    assert.deepEqual(documents.map((document) => document['apiVersion']), ['kubeadm.k8s.io/v1beta3', 'kubeadm.k8s.io/v1beta3']);
    const init = documents.find((document) => document['kind'] === 'InitConfiguration')!;
    assert.deepEqual((init['nodeRegistration'] as { kubeletExtraArgs: unknown }).kubeletExtraArgs, { 'node-ip': '10.0.0.10' });
    assert.equal(documents.find((document) => document['kind'] === 'ClusterConfiguration')!['kubernetesVersion'], 'v1.30.0');
  });

  it('refuses bad input with an error naming the field, never the secrets', () => {
    const cases: [Partial<KubeadmConfigInput>, string, string][] = [
      [{ clusterId: 'c2' }, 'cluster-id-mismatch', 'secrets.clusterId'],
      [{ node: { ...base.node, name: 'C1_cp' } }, 'node-name-invalid', 'node.name'],
      [{ node: { ...base.node, address: 'not an address!' } }, 'node-address-invalid', 'node.address'],
      [{ node: { ...base.node, role: 'worker', pool: 'general' } }, 'node-role-invalid', 'node.first'],
      [{ node: { ...base.node, role: 'worker', pool: 'missing', first: false } }, 'node-pool-unknown', 'node.pool'],
      [{ controlPlaneEndpoint: 'https://api:6443' }, 'control-plane-endpoint-invalid', 'controlPlaneEndpoint'],
      [{ controlPlaneEndpoint: 'api:99999' }, 'control-plane-endpoint-invalid', 'controlPlaneEndpoint'],
      [{ spec: { ...testSpec, kubernetesVersion: '1.21' } }, 'kubernetes-version-unsupported', 'spec.kubernetesVersion'],
      [{ spec: withLabels({ 'bad key': 'x' }), node: worker() }, 'label-invalid', 'spec.nodePools[0].labels["bad key"]'],
      [{ spec: withLabels({ ok: 'a,b=c' }), node: worker() }, 'label-invalid', 'spec.nodePools[0].labels["ok"]'],
      [{ spec: withLabels({ 'node-role.kubernetes.io/control-plane': '' }), node: worker() }, 'label-restricted', 'spec.nodePools[0].labels["node-role.kubernetes.io/control-plane"]'],
      [{ spec: withTaint('x', "$(reboot)"), node: worker() }, 'taint-invalid', 'spec.nodePools[0].taints[0]'],
    ];
    for (const [override, code, field] of cases) {
      assert.throws(
        () => renderKubeadmConfig({ ...base, ...override }),
        (error: unknown) => {
          assert.ok(error instanceof BootstrapDataError, String(error));
          assert.equal(error.code, code);
          assert.equal(error.field, field);
          assert.ok(error.message.startsWith(field));
          assert.ok(!error.message.includes(secrets.bootstrapToken) && !error.message.includes(secrets.certificateKey));
          return true;
        },
        `${code} ${field}`,
      );
    }
  });

  it('leaves the address to kubeadm and the kubelet when it is not known yet', () => {
    const documents = parse(renderKubeadmConfig({ ...base, node: { ...base.node, address: null } }));
    const init = documents[0] as InitConfiguration;
    assert.equal(init.localAPIEndpoint, undefined);
    assert.deepEqual(init.nodeRegistration.kubeletExtraArgs, []);
    const join = parseJoin(renderKubeadmConfig({ ...base, node: { name: 'c1-cp-2', role: 'control-plane', pool: null, first: false, address: null } }));
    assert.deepEqual(join.controlPlane, { certificateKey: secrets.certificateKey });
    const worker = parseJoin(renderKubeadmConfig({ ...base, node: { name: 'c1-general-0', role: 'worker', pool: 'general', first: false, address: null } }));
    assert.deepEqual(worker.nodeRegistration.kubeletExtraArgs, [{ name: 'node-labels', value: 'example.com/team=payments,tier=web' }]);
  });

  it('accepts the labels the kubelet may set on itself, IPv6 and bare endpoints', () => {
    const spec = withLabels({ 'topology.kubernetes.io/zone': 'eu-1a', 'node.kubernetes.io/exclude-from-external-load-balancers': '' });
    const join = parseJoin(renderKubeadmConfig({ ...base, spec, node: worker(), controlPlaneEndpoint: '[fd00::1]:6443' }));
    assert.equal(join.discovery.bootstrapToken.apiServerEndpoint, '[fd00::1]:6443');
    const [, ipv6Cluster] = parse(renderKubeadmConfig({ ...base, controlPlaneEndpoint: '[fd00::1]:6443' })) as [InitConfiguration, ClusterConfiguration];
    assert.deepEqual(ipv6Cluster.apiServer.certSANs, ['fd00::1']);
    assert.equal(join.nodeRegistration.kubeletExtraArgs[1]?.value, 'topology.kubernetes.io/zone=eu-1a,node.kubernetes.io/exclude-from-external-load-balancers=');
    assert.doesNotThrow(() => renderKubeadmConfig({ ...base, controlPlaneEndpoint: '10.0.0.1' }));
  });
});

function worker(): KubeadmConfigInput['node'] {
  return { name: 'c1-general-0', role: 'worker', pool: 'general', first: false, address: '172.16.0.20' };
}

function withLabels(labels: Record<string, string>): ClusterSpec {
  return { ...testSpec, nodePools: [{ ...testSpec.nodePools[0]!, labels }, testSpec.nodePools[1]!] };
}

function withTaint(key: string, value: string): ClusterSpec {
  return { ...testSpec, nodePools: [{ ...testSpec.nodePools[0]!, taints: [{ key, value, effect: 'NoSchedule' }] }, testSpec.nodePools[1]!] };
}
