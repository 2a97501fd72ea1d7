import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostFacts } from './facts.js';
import {
  installCommand,
  kubernetesRepository,
  missingPackages,
  packageFamily,
  packageVersion,
  parseInstalledPackages,
  removeCommand,
  repositoryMinor,
  runtimePackage,
  runtimeRepository,
  upgradeCommand,
  wasAlreadyANode,
} from './host-packages.js';

const facts = (overrides: Partial<HostFacts> = {}): HostFacts => ({
  hostname: 'h',
  cpus: 2,
  memoryMb: 4096,
  swapMb: 0,
  ipForward: '1',
  osId: 'ubuntu',
  osVersion: '24.04',
  runtimeSockets: [],
  listeningPorts: [],
  ...overrides,
});

describe('what kubeadm needs on a user\'s host, by OS family', () => {
  it('knows the package manager of every supported system', () => {
    assert.deepEqual(
      ['ubuntu', 'debian', 'rhel', 'rocky', 'almalinux', 'fedora', 'sles', 'opensuse-leap', 'arch', null].map(packageFamily),
      ['apt', 'apt', 'dnf', 'dnf', 'dnf', 'dnf', 'zypper', 'zypper', null, null],
    );
  });

  it('versions: the package version and the repository of its minor', () => {
    assert.deepEqual([packageVersion('v1.34.2'), repositoryMinor('1.34.2'), repositoryMinor('v1.31.0')], ['1.34.2', 'v1.34', 'v1.31']);
  });

  it('the Kubernetes package repository of one minor, as the kubeadm installation guide writes it', () => {
    assert.deepEqual(kubernetesRepository('apt', 'v1.34'), {
      path: '/etc/apt/sources.list.d/kubernetes.list',
      mode: '644',
      content: 'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.34/deb/ /\n',
    });
    const dnf = kubernetesRepository('dnf', 'v1.34');
    assert.equal(dnf.path, '/etc/yum.repos.d/kubernetes.repo');
    assert.match(dnf.content, /^baseurl=https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.34\/rpm\/$/m);
    assert.match(dnf.content, /^gpgkey=https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.34\/rpm\/repodata\/repomd\.xml\.key$/m);
    assert.match(dnf.content, /^exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni$/m);
    assert.equal(kubernetesRepository('zypper', 'v1.33').path, '/etc/zypp/repos.d/kubernetes.repo');
  });

  it('containerd from the distribution, or Docker\'s repository on RHEL and its rebuilds', () => {
    assert.deepEqual([runtimePackage('apt', 'ubuntu'), runtimePackage('dnf', 'fedora'), runtimePackage('dnf', 'rocky'), runtimePackage('zypper', 'sles')], ['containerd', 'containerd', 'containerd.io', 'containerd']);
    assert.equal(runtimeRepository('apt', 'ubuntu'), null);
    assert.match(runtimeRepository('dnf', 'rhel')?.content ?? '', /^includepkgs=containerd\.io$/m);
  });

  it('installs only what is missing: the host\'s own packages and runtime stay', () => {
    const probe = 'kubelet|installed|1.33.1-1.1\ncontainerd|installed|1.7.24\n';
    const installed = parseInstalledPackages(probe);
    assert.deepEqual([...installed], [['kubelet', '1.33.1-1.1'], ['containerd', '1.7.24']]);
    assert.deepEqual(missingPackages(facts(), installed, 'apt'), ['kubeadm', 'kubectl']);
    assert.deepEqual(missingPackages(facts(), new Map(), 'apt'), ['kubeadm', 'kubelet', 'kubectl', 'containerd']);
    assert.deepEqual(missingPackages(facts({ runtimeSockets: ['/var/run/crio/crio.sock'] }), new Map(), 'dnf'), ['kubeadm', 'kubelet', 'kubectl'], 'a runtime socket is a runtime');
    assert.deepEqual(missingPackages(facts({ osId: 'rhel' }), new Map(), 'dnf'), ['kubeadm', 'kubelet', 'kubectl', 'containerd.io']);
  });

  it('pins the Kubernetes packages to the cluster\'s version and holds them; moves them; removes only those still there', () => {
    assert.equal(installCommand('apt', ['kubeadm', 'containerd'], '1.34.0'), "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y 'kubeadm=1.34.0-*' 'containerd' && apt-mark hold kubeadm");
    assert.equal(installCommand('dnf', ['kubelet'], '1.34.0'), "dnf install -y --disableexcludes=kubernetes 'kubelet-1.34.0'");
    assert.match(installCommand('zypper', ['kubectl'], '1.34.0'), /zypper --non-interactive --gpg-auto-import-keys install --oldpackage 'kubectl-1\.34\.0'$/);
    assert.equal(upgradeCommand('apt', ['kubelet', 'kubectl'], '1.35.0'), "apt-mark unhold kubelet kubectl && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y 'kubelet=1.35.0-*' 'kubectl=1.35.0-*' && apt-mark hold kubelet kubectl");
    assert.match(removeCommand('apt', ['kubeadm']), /apt-mark unhold \$pkgs && DEBIAN_FRONTEND=noninteractive apt-get remove -y \$pkgs/);
    assert.match(removeCommand('dnf', ['kubeadm']), /dnf remove -y \$pkgs$/);
  });

  it('a host that already is a node says so in the probe', () => {
    assert.equal(wasAlreadyANode('kubelet|installed|1.33.1\nkubelet.conf|present\n'), true);
    assert.equal(wasAlreadyANode('kubelet|installed|1.33.1\n'), false);
  });
});
