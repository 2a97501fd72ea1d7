import { shellQuote } from './commands.js';
import type { HostFacts } from './facts.js';

/*
 * What kubeadm needs on a user's host, from where the Kubernetes documentation says to get it:
 * kubeadm, the kubelet and kubectl from the Kubernetes package repository of the cluster's minor
 * (pkgs.k8s.io, one repository per minor), and a container runtime (containerd) from the
 * distribution, or Docker's repository on RHEL and its rebuilds, which ship none. By OS family:
 * apt on Debian and Ubuntu, dnf on RHEL, Rocky, AlmaLinux and Fedora, zypper on SUSE. Pure:
 * commands and file contents only; the installer runs them and records what it changed.
 */

export type PackageFamily = 'apt' | 'dnf' | 'zypper';

export const KUBERNETES_PACKAGES = ['kubeadm', 'kubelet', 'kubectl'] as const;
/** Packages that give a host a container runtime, whoever installed them. */
const RUNTIME_PACKAGES = ['containerd', 'containerd.io', 'cri-o'] as const;

/** Every package whose presence before the install is recorded. */
export const PROBED_PACKAGES: readonly string[] = [...KUBERNETES_PACKAGES, ...RUNTIME_PACKAGES];

export function packageFamily(osId: string | null): PackageFamily | null {
  switch (osId) {
    case 'ubuntu':
    case 'debian':
      return 'apt';
    case 'rhel':
    case 'rocky':
    case 'almalinux':
    case 'fedora':
      return 'dnf';
    case 'sles':
    case 'opensuse-leap':
      return 'zypper';
    default:
      return null;
  }
}

/** `v1.34.2` or `1.34` → `1.34.2` / `1.34.0`: what the packages are versioned by. */
export function packageVersion(kubeletVersion: string): string {
  return kubeletVersion.replace(/^v/, '');
}

/** `1.34.2` → `v1.34`: the repository of a minor. */
export function repositoryMinor(version: string): string {
  const [major, minor] = packageVersion(version).split('.');
  return `v${major}.${minor}`;
}

/** A file the installer writes (saving the host's own copy first, if it had one). */
export interface HostFile {
  path: string;
  mode: string;
  content: string;
}

export const APT_KEYRING = '/etc/apt/keyrings/kubernetes-apt-keyring.gpg';
const APT_SOURCE = '/etc/apt/sources.list.d/kubernetes.list';
const DNF_REPOSITORY = '/etc/yum.repos.d/kubernetes.repo';
const ZYPPER_REPOSITORY = '/etc/zypp/repos.d/kubernetes.repo';
const DOCKER_REPOSITORY = '/etc/yum.repos.d/docker-ce.repo';

/** The base URL of the Kubernetes package repository of a minor. */
export function repositoryUrl(family: PackageFamily, minor: string): string {
  return `https://pkgs.k8s.io/core:/stable:/${minor}/${family === 'apt' ? 'deb' : 'rpm'}/`;
}

/**
 * The Kubernetes package repository of a minor: apt's source list (its signing key is fetched
 * into `APT_KEYRING` by `aptKeyringScript`), or a .repo file for dnf or zypper that excludes the
 * Kubernetes packages from ordinary updates (installs name them with `--disableexcludes`).
 */
export function kubernetesRepository(family: PackageFamily, minor: string): HostFile {
  const url = repositoryUrl(family, minor);
  switch (family) {
    case 'apt':
      return { path: APT_SOURCE, mode: '644', content: `deb [signed-by=${APT_KEYRING}] ${url} /\n` };
    case 'dnf':
      return {
        path: DNF_REPOSITORY,
        mode: '644',
        content: ['[kubernetes]', 'name=Kubernetes', `baseurl=${url}`, 'enabled=1', 'gpgcheck=1', `gpgkey=${url}repodata/repomd.xml.key`, 'exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni', ''].join('\n'),
      };
    case 'zypper':
      return {
        path: ZYPPER_REPOSITORY,
        mode: '644',
        content: ['[kubernetes]', 'name=Kubernetes', `baseurl=${url}`, 'enabled=1', 'autorefresh=1', 'gpgcheck=1', `gpgkey=${url}repodata/repomd.xml.key`, ''].join('\n'),
      };
  }
}

/** apt's repository signing key for a minor, as the Kubernetes documentation fetches it. */
export function aptKeyringScript(minor: string): string {
  return `mkdir -p -m 755 /etc/apt/keyrings && curl -fsSL ${shellQuote(`${repositoryUrl('apt', minor)}Release.key`)} | gpg --batch --yes --dearmor -o ${APT_KEYRING}`;
}

/** The container runtime to install where there is none: containerd, by the name the family's repositories give it. */
export function runtimePackage(family: PackageFamily, osId: string | null): string {
  return family === 'dnf' && osId !== 'fedora' ? 'containerd.io' : 'containerd';
}

/** RHEL and its rebuilds ship no containerd: Docker's repository, limited to it. */
export function runtimeRepository(family: PackageFamily, osId: string | null): HostFile | null {
  if (runtimePackage(family, osId) !== 'containerd.io') return null;
  return {
    path: DOCKER_REPOSITORY,
    mode: '644',
    content: [
      '[docker-ce-stable]',
      'name=Docker CE Stable - $basearch',
      'baseurl=https://download.docker.com/linux/rhel/$releasever/$basearch/stable',
      'enabled=1',
      'gpgcheck=1',
      'gpgkey=https://download.docker.com/linux/rhel/gpg',
      'includepkgs=containerd.io',
      '',
    ].join('\n'),
  };
}

const KUBELET_CONF = '/etc/kubernetes/kubelet.conf';

/**
 * Prints `name|installed|version` for each package the host has (its own package database), so
 * what was there before Flotilla is known, and `kubelet.conf|present` when the host already is a
 * node of some cluster. Always exits 0.
 */
export function packagesProbe(family: PackageFamily, names: readonly string[] = PROBED_PACKAGES): string {
  const list = names.map(shellQuote).join(' ');
  const packages =
    family === 'apt'
      ? `for p in ${list}; do dpkg-query -W -f='\${Status}|\${Version}\\n' "$p" 2>/dev/null | grep '^install ok installed|' | sed "s/^install ok installed|/$p|installed|/"; done`
      : `for p in ${list}; do rpm -q --qf "$p|installed|%{VERSION}-%{RELEASE}\\n" "$p" 2>/dev/null | grep "^$p|installed|"; done`;
  return `${packages}; if [ -e ${KUBELET_CONF} ]; then echo 'kubelet.conf|present'; fi; true`;
}

/** Whether the probe found the host a node already (before Flotilla did anything on it). */
export function wasAlreadyANode(probeOutput: string): boolean {
  return probeOutput.split('\n').some((line) => line.trim() === 'kubelet.conf|present');
}

/** The packages a probe found installed, with their versions. */
export function parseInstalledPackages(output: string): Map<string, string> {
  const installed = new Map<string, string>();
  for (const line of output.split('\n')) {
    const [name, status, version] = line.trim().split('|');
    if (name && status === 'installed') installed.set(name, version ?? '');
  }
  return installed;
}

/** What a host lacks for kubeadm: the Kubernetes packages it does not have, and a runtime when it has none. */
export function missingPackages(facts: HostFacts | null, installed: ReadonlyMap<string, string>, family: PackageFamily): string[] {
  const missing: string[] = KUBERNETES_PACKAGES.filter((name) => !installed.has(name));
  const hasRuntime = (facts?.runtimeSockets.length ?? 0) > 0 || RUNTIME_PACKAGES.some((name) => installed.has(name));
  if (!hasRuntime) missing.push(runtimePackage(family, facts?.osId ?? null));
  return missing;
}

/** Installs packages; the Kubernetes ones at the version given, held back from ordinary upgrades (apt). */
export function installCommand(family: PackageFamily, names: readonly string[], version: string): string {
  const kubernetes = names.filter((name) => (KUBERNETES_PACKAGES as readonly string[]).includes(name));
  const pinned = names.map((name) => (kubernetes.includes(name) ? pin(family, name, version) : name)).map(shellQuote).join(' ');
  switch (family) {
    case 'apt':
      return `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${pinned}${kubernetes.length > 0 ? ` && apt-mark hold ${kubernetes.join(' ')}` : ''}`;
    case 'dnf':
      return `dnf install -y --disableexcludes=kubernetes ${pinned}`;
    case 'zypper':
      return `zypper --non-interactive --gpg-auto-import-keys refresh && zypper --non-interactive --gpg-auto-import-keys install --oldpackage ${pinned}`;
  }
}

/** Moves packages to a version (the repository must offer it: switch it first), keeping them held (apt). */
export function upgradeCommand(family: PackageFamily, names: readonly string[], version: string): string {
  const pinned = names.map((name) => shellQuote(pin(family, name, version))).join(' ');
  switch (family) {
    case 'apt':
      return `apt-mark unhold ${names.join(' ')} && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${pinned} && apt-mark hold ${names.join(' ')}`;
    case 'dnf':
      return `dnf install -y --disableexcludes=kubernetes ${pinned}`;
    case 'zypper':
      return `zypper --non-interactive --gpg-auto-import-keys refresh && zypper --non-interactive --gpg-auto-import-keys install --oldpackage ${pinned}`;
  }
}

/** Removes the packages Flotilla installed that are still there; the host's own stay. */
export function removeCommand(family: PackageFamily, names: readonly string[]): string {
  const list = names.map(shellQuote).join(' ');
  switch (family) {
    case 'apt':
      return `pkgs=$(for p in ${list}; do dpkg-query -W -f='\${Status}\\n' "$p" 2>/dev/null | grep -q '^install ok installed' && echo "$p"; done); [ -z "$pkgs" ] || { apt-mark unhold $pkgs && DEBIAN_FRONTEND=noninteractive apt-get remove -y $pkgs; }`;
    case 'dnf':
      return `pkgs=$(for p in ${list}; do rpm -q "$p" >/dev/null 2>&1 && echo "$p"; done); [ -z "$pkgs" ] || dnf remove -y $pkgs`;
    case 'zypper':
      return `pkgs=$(for p in ${list}; do rpm -q "$p" >/dev/null 2>&1 && echo "$p"; done); [ -z "$pkgs" ] || zypper --non-interactive remove $pkgs`;
  }
}

function pin(family: PackageFamily, name: string, version: string): string {
  return family === 'apt' ? `${name}=${version}-*` : `${name}-${version}`;
}
