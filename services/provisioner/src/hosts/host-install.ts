import { CONTAINERD_CONFIG, MODULES, SYSCTL } from '../bootstrap/render/plan.js';
import { preserveScript, restoreFileScript } from './commands.js';
import type { HostFacts } from './facts.js';
import {
  APT_KEYRING,
  aptKeyringScript,
  installCommand,
  KUBERNETES_PACKAGES,
  kubernetesRepository,
  missingPackages,
  packageFamily,
  packagesProbe,
  parseInstalledPackages,
  removeCommand,
  repositoryMinor,
  runtimePackage,
  runtimeRepository,
  upgradeCommand,
  wasAlreadyANode,
  type PackageFamily,
} from './host-packages.js';
import type { HostChange } from './host-records.js';
import { StepFailed, type HostSteps } from './host-steps.js';

/*
 * What the installer does to a user's host besides kubeadm itself, as recorded steps: install
 * what kubeadm needs and the host lacks, move its packages to a new minor the way the kubeadm
 * upgrade documentation says, and undo exactly what it recorded.
 */

const CONTAINERD_CONFIG_PATH = '/etc/containerd/config.toml';
const MODULES_PATH = '/etc/modules-load.d/kubernetes.conf';
const SYSCTL_PATH = '/etc/sysctl.d/90-kubernetes.conf';

export function familyOf(machine: string, facts: HostFacts | null): PackageFamily {
  const family = packageFamily(facts?.osId ?? null);
  // Preflight lets through supported systems only, each with a known package manager.
  if (!family) throw new StepFailed(`${machine}: no package manager known for ${facts?.osId ?? 'an unknown operating system'}`);
  return family;
}

/**
 * Installs what kubeadm needs and the host does not have: the Kubernetes packages of the
 * cluster's version from pkgs.k8s.io (its repository added first), and containerd (with its
 * configuration, kernel modules and sysctls) when the host has no container runtime. What the
 * host had before is probed once (`packages-before`) and never touched; what is installed is
 * recorded first. A host that already is a node of some cluster is refused.
 */
export async function installPrerequisites(steps: HostSteps, facts: HostFacts | null, version: string): Promise<void> {
  const family = familyOf(steps.machine, facts);
  const probe = (await steps.run('packages-before', packagesProbe(family))).output;
  // A node Flotilla did not make is never taken over: removing it later would reset someone else's node.
  if (wasAlreadyANode(probe)) {
    throw new StepFailed(`${steps.machine}: the host already is a Kubernetes node (/etc/kubernetes/kubelet.conf was there before Flotilla): take it out of its cluster first, or leave it out`);
  }
  const before = parseInstalledPackages(probe);
  const missing = missingPackages(facts, before, family);
  if (missing.length === 0) return;
  const minor = repositoryMinor(version);
  const runtime = runtimePackage(family, facts?.osId ?? null);
  if (missing.some((name) => (KUBERNETES_PACKAGES as readonly string[]).includes(name))) await switchRepository(steps, family, minor, 'packages-repository');
  const runtimeRepo = missing.includes(runtime) ? runtimeRepository(family, facts?.osId ?? null) : null;
  if (runtimeRepo) await steps.writeFile('runtime-repository', runtimeRepo);
  for (const name of missing) await steps.change('package', name, 'packages-install');
  await steps.run('packages-install', installCommand(family, missing, version));
  if (missing.includes(runtime)) {
    await steps.writeFile('runtime-config', { path: CONTAINERD_CONFIG_PATH, mode: '644', content: CONTAINERD_CONFIG });
    await steps.writeFile('runtime-modules', { path: MODULES_PATH, mode: '644', content: MODULES });
    await steps.writeFile('runtime-sysctl', { path: SYSCTL_PATH, mode: '644', content: SYSCTL });
    await steps.run('runtime-start', 'modprobe overlay && modprobe br_netfilter && sysctl --system && systemctl enable --now containerd && systemctl restart containerd');
  }
  if (missing.includes('kubelet')) await steps.run('kubelet-enable', 'systemctl enable --now kubelet');
}

/** Points the host's package manager at the Kubernetes repository of a minor (apt: its signing key too). */
export async function switchRepository(steps: HostSteps, family: PackageFamily, minor: string, step: string): Promise<void> {
  if (family === 'apt') {
    await steps.change('file', APT_KEYRING, `${step}-key`);
    await steps.run(`${step}-key`, `${preserveScript(APT_KEYRING)} && ${aptKeyringScript(minor)}`);
  }
  await steps.writeFile(step, kubernetesRepository(family, minor));
}

/** kubeadm of the new version, from the repository of its minor (switched first): `kubeadm upgrade` must not be older than its target. */
export async function upgradeKubeadm(steps: HostSteps, family: PackageFamily, version: string, prefix: string): Promise<void> {
  await switchRepository(steps, family, repositoryMinor(version), `${prefix}repository`);
  await steps.run(`${prefix}kubeadm-package`, upgradeCommand(family, ['kubeadm'], version));
}

/** The kubelet and kubectl of the new version, then the kubelet restarted on them (the node is drained meanwhile). */
export async function upgradeKubelet(steps: HostSteps, family: PackageFamily, version: string, prefix: string): Promise<void> {
  await steps.run(`${prefix}kubelet-package`, upgradeCommand(family, ['kubelet', 'kubectl'], version));
  await steps.run(`${prefix}kubelet-restart`, 'systemctl daemon-reload && systemctl restart kubelet');
}

/**
 * Undoes, on the host, the files and packages Flotilla recorded (kubeadm reset comes before, by
 * the caller): files written get the host's own copy back or go, newest first; packages
 * Flotilla installed are removed. Nothing else is touched.
 */
export async function undoChanges(steps: HostSteps, facts: HostFacts | null, changes: readonly HostChange[], prefix: string): Promise<void> {
  const files = changes.filter((change) => change.kind === 'file').reverse();
  for (const file of files) await steps.run(`${prefix}restore-file ${file.target}`, restoreFileScript(file.target), { rerun: true });
  const packages = changes.filter((change) => change.kind === 'package').map((change) => change.target);
  if (packages.length > 0) await steps.run(`${prefix}remove-packages`, removeCommand(familyOf(steps.machine, facts), packages), { rerun: true });
}
