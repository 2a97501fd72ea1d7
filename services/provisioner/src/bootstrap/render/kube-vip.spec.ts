import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { BootstrapDataError } from './errors.js';
import { KUBE_VIP_IMAGE, renderKubeVipManifest } from './kube-vip.js';

interface Pod {
  kind: string;
  metadata: { name: string; namespace: string };
  spec: {
    hostNetwork: boolean;
    containers: { image: string; args: string[]; env: { name: string; value: string }[]; securityContext: { capabilities: { add: string[] } }; volumeMounts: { mountPath: string }[] }[];
    volumes: { hostPath: { path: string } }[];
  };
}

const env = (pod: Pod) => Object.fromEntries(pod.spec.containers[0]!.env.map(({ name, value }) => [name, value]));

describe('kube-vip static pod for the control plane on users\' hosts', () => {
  it('holds the virtual IP for the API servers (ARP, leader election), on the host network', () => {
    const pod = parse(renderKubeVipManifest({ vip: '192.168.1.100', kubernetesVersion: '1.34', first: false })) as Pod;
    assert.deepEqual([pod.kind, pod.metadata.name, pod.metadata.namespace, pod.spec.hostNetwork], ['Pod', 'kube-vip', 'kube-system', true]);
    const container = pod.spec.containers[0]!;
    assert.equal(container.image, KUBE_VIP_IMAGE);
    assert.deepEqual(container.args, ['manager']);
    assert.deepEqual(
      [env(pod)['address'], env(pod)['port'], env(pod)['vip_arp'], env(pod)['cp_enable'], env(pod)['vip_leaderelection'], env(pod)['svc_enable']],
      ['192.168.1.100', '6443', 'true', 'true', 'true', 'false'],
    );
    assert.deepEqual(container.securityContext.capabilities.add, ['NET_ADMIN', 'NET_RAW']);
    assert.equal(pod.spec.volumes[0]!.hostPath.path, '/etc/kubernetes/admin.conf');
  });

  it('uses super-admin.conf on the host that runs init from 1.29 (admin.conf has no rights yet), admin.conf before and elsewhere', () => {
    const kubeconfig = (kubernetesVersion: string, first: boolean) => (parse(renderKubeVipManifest({ vip: '10.0.0.5', kubernetesVersion, first })) as Pod).spec.volumes[0]!.hostPath.path;
    assert.equal(kubeconfig('1.29', true), '/etc/kubernetes/super-admin.conf');
    assert.equal(kubeconfig('1.34.2', true), '/etc/kubernetes/super-admin.conf');
    assert.equal(kubeconfig('1.28', true), '/etc/kubernetes/admin.conf');
    assert.equal(kubeconfig('1.34', false), '/etc/kubernetes/admin.conf');
  });

  it('takes IPv6, and refuses what is not an IP address, naming the field', () => {
    assert.equal(env(parse(renderKubeVipManifest({ vip: 'fd00::100', kubernetesVersion: '1.34', first: false })) as Pod)['address'], 'fd00::100');
    assert.throws(
      () => renderKubeVipManifest({ vip: 'api.example.com', kubernetesVersion: '1.34', first: false }),
      (error: unknown) => error instanceof BootstrapDataError && error.code === 'control-plane-vip-invalid' && error.field === 'spec.controlPlane.vip',
    );
  });
});
