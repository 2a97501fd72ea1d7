import type { MachineRole } from '../domain/machine-plan.js';
import type { HostFacts } from './facts.js';

/** The checks run on every host before Kubernetes is installed (modelled on kubeadm's preflight). */
export type CheckName = 'cpu' | 'memory' | 'ports' | 'ip-forward' | 'container-runtime' | 'swap' | 'hostname-unique' | 'os-supported';
export const CHECK_NAMES: readonly CheckName[] = ['cpu', 'memory', 'ports', 'ip-forward', 'container-runtime', 'swap', 'hostname-unique', 'os-supported'];

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  check: CheckName;
  status: CheckStatus;
  message: string;
  /** What was found on the host, as text ("" when nothing could be read). */
  observed: string;
}

export interface HostUnderCheck {
  machine: string;
  role: MachineRole;
  facts: HostFacts;
}

export interface HostReport {
  machine: string;
  checks: CheckResult[];
}

export const MIN_CONTROL_PLANE_CPUS = 2;
export const MIN_CONTROL_PLANE_MEMORY_MB = 1700;
export const CONTROL_PLANE_PORTS: readonly number[] = [6443, 10250, 10257, 10259, 2379, 2380];
export const WORKER_PORTS: readonly number[] = [10250];
export const RUNTIME_SOCKETS: readonly string[] = ['/run/containerd/containerd.sock', '/var/run/crio/crio.sock'];

/**
 * Operating systems the installer supports, by os-release ID: which VERSION_IDs (major version
 * for the RHEL family and SUSE; any version for Fedora).
 */
export const SUPPORTED_OS: Readonly<Record<string, { versions: readonly string[] | 'any'; major: boolean }>> = {
  ubuntu: { versions: ['22.04', '24.04'], major: false },
  debian: { versions: ['12'], major: true },
  rhel: { versions: ['8', '9'], major: true },
  rocky: { versions: ['8', '9'], major: true },
  almalinux: { versions: ['8', '9'], major: true },
  sles: { versions: ['15'], major: true },
  'opensuse-leap': { versions: ['15'], major: true },
  fedora: { versions: 'any', major: false },
};

export function osSupported(osId: string | null, osVersion: string | null): boolean {
  const entry = osId ? SUPPORTED_OS[osId] : undefined;
  if (!entry) return false;
  if (entry.versions === 'any') return true;
  if (!osVersion) return false;
  const version = entry.major ? osVersion.split('.')[0]! : osVersion;
  return entry.versions.includes(version);
}

const pass = (check: CheckName, message: string, observed: string): CheckResult => ({ check, status: 'pass', message, observed });
const warn = (check: CheckName, message: string, observed: string): CheckResult => ({ check, status: 'warn', message, observed });
const fail = (check: CheckName, message: string, observed: string): CheckResult => ({ check, status: 'fail', message, observed });

function checkHost(host: HostUnderCheck, hostnameOwners: Map<string, string[]>): CheckResult[] {
  const { facts, role } = host;
  const controlPlane = role === 'control-plane';
  const results: CheckResult[] = [];

  const cpus = facts.cpus === null ? '' : String(facts.cpus);
  if (!controlPlane) results.push(pass('cpu', 'no minimum for workers', cpus));
  else if (facts.cpus === null) results.push(fail('cpu', 'the number of CPUs could not be read', cpus));
  else if (facts.cpus < MIN_CONTROL_PLANE_CPUS) results.push(fail('cpu', `a control-plane host needs at least ${MIN_CONTROL_PLANE_CPUS} CPUs, it has ${facts.cpus}`, cpus));
  else results.push(pass('cpu', `${facts.cpus} CPUs`, cpus));

  const memory = facts.memoryMb === null ? '' : `${facts.memoryMb} MB`;
  if (!controlPlane) results.push(pass('memory', 'no minimum for workers', memory));
  else if (facts.memoryMb === null) results.push(fail('memory', 'the memory size could not be read', memory));
  else if (facts.memoryMb < MIN_CONTROL_PLANE_MEMORY_MB) results.push(fail('memory', `a control-plane host needs at least ${MIN_CONTROL_PLANE_MEMORY_MB} MB of memory, it has ${facts.memoryMb} MB`, memory));
  else results.push(pass('memory', `${facts.memoryMb} MB of memory`, memory));

  const required = controlPlane ? CONTROL_PLANE_PORTS : WORKER_PORTS;
  const busy = required.filter((port) => facts.listeningPorts.includes(port));
  if (busy.length > 0) results.push(fail('ports', `port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} already in use`, busy.join(',')));
  else results.push(pass('ports', `ports ${required.join(', ')} free`, ''));

  const forward = facts.ipForward ?? '';
  if (facts.ipForward === '1') results.push(pass('ip-forward', 'net.ipv4.ip_forward is 1', forward));
  else results.push(fail('ip-forward', facts.ipForward === null ? 'net.ipv4.ip_forward could not be read' : `net.ipv4.ip_forward must be 1, it is ${facts.ipForward}`, forward));

  const sockets = facts.runtimeSockets.join(',');
  if (facts.runtimeSockets.length > 0) results.push(pass('container-runtime', `container runtime socket ${facts.runtimeSockets[0]}`, sockets));
  // The installer brings containerd where there is no runtime (see host-packages.ts).
  else results.push(warn('container-runtime', `no container runtime socket (${RUNTIME_SOCKETS.join(' or ')}): containerd will be installed`, sockets));

  const swap = facts.swapMb === null ? '' : `${facts.swapMb} MB`;
  if (facts.swapMb === null) results.push(warn('swap', 'whether swap is on could not be read', swap));
  else if (facts.swapMb > 0) results.push(warn('swap', `swap is on (${facts.swapMb} MB): turn it off or configure the kubelet for swap`, swap));
  else results.push(pass('swap', 'swap is off', swap));

  const others = (hostnameOwners.get(facts.hostname) ?? []).filter((machine) => machine !== host.machine);
  if (facts.hostname === '') results.push(fail('hostname-unique', 'the hostname could not be read', ''));
  else if (others.length > 0) results.push(fail('hostname-unique', `hostname "${facts.hostname}" is also the hostname of ${others.join(', ')}`, facts.hostname));
  else results.push(pass('hostname-unique', `hostname "${facts.hostname}" is unique in the cluster`, facts.hostname));

  const os = [facts.osId, facts.osVersion].filter(Boolean).join(' ');
  if (osSupported(facts.osId, facts.osVersion)) results.push(pass('os-supported', `${os} is supported`, os));
  else results.push(fail('os-supported', `${os || 'an unknown operating system'} is not supported (supported: ${supportedOsList()})`, os));

  return results;
}

export function supportedOsList(): string {
  return Object.entries(SUPPORTED_OS)
    .map(([id, entry]) => (entry.versions === 'any' ? id : `${id} ${entry.versions.join('/')}`))
    .join(', ');
}

/** Every check on every host. Pure: the same facts give the same report, whoever evaluates them. */
export function evaluatePreflight(hosts: readonly HostUnderCheck[]): HostReport[] {
  const hostnameOwners = new Map<string, string[]>();
  for (const host of hosts) hostnameOwners.set(host.facts.hostname, [...(hostnameOwners.get(host.facts.hostname) ?? []), host.machine]);
  return hosts.map((host) => ({ machine: host.machine, checks: checkHost(host, hostnameOwners) }));
}

/** Every failed check, host by host, as one message; null when nothing failed (warnings do not stop the install). */
export function describePreflightFailures(reports: readonly HostReport[]): string | null {
  const lines = reports.flatMap((report) => {
    const failed = report.checks.filter((check) => check.status === 'fail');
    return failed.length > 0 ? [`${report.machine}: ${failed.map((check) => `${check.check}: ${check.message}`).join('; ')}`] : [];
  });
  return lines.length > 0 ? `preflight failed: ${lines.join(' | ')}` : null;
}
