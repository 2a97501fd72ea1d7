import { canCreate, ClusterId, type ClusterSpec, type SupportMatrix, defaultSupportMatrix } from '@flotilla/contracts';
import { canonical, contains, hasHostBits, overlaps, parseCidr, parseIp, subnetCount, type Cidr } from './cidr.js';
import { controlPlaneIsHosted, machineSource, planMachines } from './machine-plan.js';
import { reason, type ProvisionerReason } from './reasons.js';

/** The immutable node OS families the platform manages on its machines. */
export const SUPPORTED_NODE_OS: readonly string[] = ['microos', 'flatcar', 'fedora-coreos'];

/** What platform machines run when a request names no node OS. */
export const DEFAULT_NODE_OS = 'microos';

/** kube-apiserver refuses service ranges with more host bits than this (2^20 addresses). */
const MAX_SERVICE_HOST_BITS = 20;
/** kube-controller-manager's default --node-cidr-mask-size per family: every node gets one range. */
const NODE_MASK: Record<4 | 6, number> = { 4: 24, 6: 64 };
const MAX_NODE_NAME = 253;

export interface ClusterRequestInput {
  clusterId: string;
  spec: ClusterSpec;
  /** The platform release this installation runs (PLATFORM_RELEASE). */
  release: string;
  /** Infrastructure providers this installation has, by name. */
  providers: readonly string[];
  matrix?: SupportMatrix;
}

/**
 * Everything wrong with a cluster request, each reason with its code and field. Empty when the
 * request can be provisioned. Checks go on after the first problem, so a user fixes all at once.
 */
export function validateClusterRequest(input: ClusterRequestInput): ProvisionerReason[] {
  const { clusterId, spec } = input;
  const reasons: ProvisionerReason[] = [];
  if (!ClusterId.safeParse(clusterId).success) {
    reasons.push(reason('cluster-id-invalid', `cluster id "${clusterId}" must be a DNS label: lower-case letters, digits and "-", at most 63 characters`, 'subject'));
  }
  // Not the provisioner's: the importer creates public-cloud clusters (the handler leaves them alone).
  if (spec.model === 'public-cloud') return [...reasons, reason('model-not-provisioned', 'a public-cloud cluster is created at its cloud by the importer, not by the provisioner', 'model')];
  // The schema requires it for the provisioner's models; a request that bypassed it is refused here.
  if (!spec.controlPlane) reasons.push(reason('control-plane-required', `a ${spec.model} cluster needs \`controlPlane\`: its control-plane machines`, 'controlPlane'));
  const decision = canCreate(spec.kubernetesVersion, input.release, input.matrix ?? defaultSupportMatrix);
  if (!decision.allowed) reasons.push(reason(decision.code, decision.reason, decision.code === 'release-unknown' ? undefined : 'kubernetesVersion'));
  reasons.push(...checkModel(spec, input.providers));
  reasons.push(...checkPools(spec));
  reasons.push(...checkHosts(spec));
  reasons.push(...checkSpareHosts(spec));
  // Machine names and counts need the control plane; without it, its absence is the reason.
  if (spec.controlPlane) reasons.push(...checkMachineNames(clusterId, spec));
  reasons.push(...checkNetwork(clusterId, spec));
  return reasons;
}

function checkModel(spec: ClusterSpec, providers: readonly string[]): ProvisionerReason[] {
  const reasons: ProvisionerReason[] = [];
  const hosted = controlPlaneIsHosted(spec);
  if (hosted && !spec.hosted) {
    reasons.push(reason('hosted-required', 'a hosted-control-plane cluster needs `hosted.workerModel`: where its workers come from', 'hosted'));
  }
  if (!hosted && spec.hosted) {
    reasons.push(reason('hosted-not-allowed', `\`hosted\` applies to hosted-control-plane clusters, not ${spec.model}`, 'hosted'));
  }
  const source = machineSource(spec);
  if (source === 'platform') {
    if (spec.hosts !== undefined && spec.hosts.length > 0) {
      reasons.push(reason('hosts-not-allowed', `the platform provisions the machines of ${describeWorkers(spec)}: \`hosts\` must be empty`, 'hosts'));
    }
    if (spec.nodeOs !== undefined && !SUPPORTED_NODE_OS.includes(spec.nodeOs)) {
      reasons.push(reason('node-os-unsupported', `platform-provisioned machines run ${SUPPORTED_NODE_OS.join(', ')}; ${spec.nodeOs} is not supported`, 'nodeOs'));
    }
    if (spec.infrastructure && !providers.includes(spec.infrastructure.provider)) {
      reasons.push(
        reason('infrastructure-provider-unavailable', `infrastructure provider "${spec.infrastructure.provider}" is not available here (available: ${providers.join(', ')})`, 'infrastructure.provider'),
      );
    }
    if (hosted && spec.nodePools.reduce((sum, pool) => sum + pool.count, 0) === 0) {
      reasons.push(reason('workers-required', 'a hosted control plane runs no workloads itself: give at least one node pool a machine', 'nodePools'));
    }
  } else {
    if (!spec.hosts || spec.hosts.length === 0) {
      reasons.push(reason('hosts-required', `${describeWorkers(spec)} run on machines users bring: list them in \`hosts\``, 'hosts'));
    } else if (hosted && !spec.hosts.some((host) => host.role === 'worker')) {
      reasons.push(reason('workers-required', 'a hosted control plane runs no workloads itself: give at least one worker host', 'hosts'));
    }
    if (spec.nodeOs !== undefined) {
      reasons.push(reason('node-os-not-allowed', 'the node OS of machines users bring is theirs to manage: leave `nodeOs` out', 'nodeOs'));
    }
    if (spec.infrastructure !== undefined) {
      reasons.push(reason('infrastructure-not-allowed', 'machines users bring need no infrastructure provider: leave `infrastructure` out', 'infrastructure'));
    }
  }
  return reasons;
}

function describeWorkers(spec: ClusterSpec): string {
  return spec.model === 'hosted-control-plane' ? `hosted clusters with ${spec.hosted?.workerModel ?? 'platform-provisioned'} workers` : `${spec.model} clusters`;
}

function checkPools(spec: ClusterSpec): ProvisionerReason[] {
  const reasons: ProvisionerReason[] = [];
  const seen = new Set<string>();
  spec.nodePools.forEach((pool, index) => {
    if (seen.has(pool.name)) reasons.push(reason('node-pool-duplicate', `node pool "${pool.name}" is declared more than once`, `nodePools.${index}.name`));
    seen.add(pool.name);
  });
  return reasons;
}

function checkHosts(spec: ClusterSpec): ProvisionerReason[] {
  const hosts = spec.hosts ?? [];
  if (machineSource(spec) !== 'hosts' || hosts.length === 0) return [];
  const reasons: ProvisionerReason[] = [];
  const hosted = controlPlaneIsHosted(spec);
  const addresses = new Map<string, number>();
  hosts.forEach((host, index) => {
    const key = `${host.address.toLowerCase()}:${host.port}`;
    const first = addresses.get(key);
    if (first !== undefined) reasons.push(reason('host-duplicate', `host ${host.address}:${host.port} is listed twice (also hosts.${first})`, `hosts.${index}.address`));
    else addresses.set(key, index);
    if (hosted && host.role === 'control-plane') {
      reasons.push(reason('host-role-not-allowed', 'a hosted control plane runs in the management cluster: hosts can only be workers', `hosts.${index}.role`));
    }
    if (host.role === 'worker' && host.pool !== undefined && !spec.nodePools.some((pool) => pool.name === host.pool)) {
      reasons.push(reason('host-pool-unknown', `host ${host.address} names node pool "${host.pool}", which is not in \`nodePools\``, `hosts.${index}.pool`));
    }
  });
  if (!hosted && spec.controlPlane) {
    const controlPlaneHosts = hosts.filter((host) => host.role === 'control-plane').length;
    if (controlPlaneHosts !== spec.controlPlane.count) {
      reasons.push(
        reason('control-plane-hosts-mismatch', `controlPlane.count is ${spec.controlPlane.count} but ${controlPlaneHosts} host(s) have the control-plane role`, 'hosts'),
      );
    }
  }
  spec.nodePools.forEach((pool, index) => {
    const members = hosts.filter((host) => host.role === 'worker' && host.pool === pool.name).length;
    if (members !== pool.count) {
      reasons.push(reason('node-pool-hosts-mismatch', `node pool "${pool.name}" has count ${pool.count} but ${members} worker host(s) name it`, `nodePools.${index}.count`));
    }
  });
  return reasons;
}

/**
 * Spare hosts wait for a host of their role (and pool) to fail its health check: only where the
 * cluster runs on users' hosts, never one of its hosts twice, and only for pools it has.
 */
function checkSpareHosts(spec: ClusterSpec): ProvisionerReason[] {
  const spares = spec.spareHosts ?? [];
  const reasons: ProvisionerReason[] = [];
  if (machineSource(spec) !== 'hosts') {
    if (spares.length > 0) reasons.push(reason('hosts-not-allowed', `the platform provisions the machines of ${describeWorkers(spec)}: \`spareHosts\` must be empty`, 'spareHosts'));
    if (spec.hostRemediation !== undefined) reasons.push(reason('hosts-not-allowed', `the platform replaces the machines of ${describeWorkers(spec)}: leave \`hostRemediation\` out`, 'hostRemediation'));
    return reasons;
  }
  const taken = new Map((spec.hosts ?? []).map((host, index) => [`${host.address.toLowerCase()}:${host.port}`, `hosts.${index}`]));
  spares.forEach((spare, index) => {
    const key = `${spare.address.toLowerCase()}:${spare.port}`;
    const first = taken.get(key);
    if (first !== undefined) reasons.push(reason('host-duplicate', `spare host ${spare.address}:${spare.port} is listed twice (also ${first})`, `spareHosts.${index}.address`));
    else taken.set(key, `spareHosts.${index}`);
    if (controlPlaneIsHosted(spec) && spare.role === 'control-plane') {
      reasons.push(reason('host-role-not-allowed', 'a hosted control plane runs in the management cluster: spare hosts can only be workers', `spareHosts.${index}.role`));
    }
    if (spare.role === 'worker' && spare.pool !== undefined && !spec.nodePools.some((pool) => pool.name === spare.pool)) {
      reasons.push(reason('host-pool-unknown', `spare host ${spare.address} names node pool "${spare.pool}", which is not in \`nodePools\``, `spareHosts.${index}.pool`));
    }
  });
  return reasons;
}

function checkMachineNames(clusterId: string, spec: ClusterSpec): ProvisionerReason[] {
  const reasons: ProvisionerReason[] = [];
  // A pool declared twice is reported as such; its machines' clashing names add nothing.
  const duplicatePools = new Set(spec.nodePools.filter((pool, index) => spec.nodePools.findIndex((other) => other.name === pool.name) !== index).map((pool) => pool.name));
  const seen = new Set<string>();
  const reported = new Set<string>();
  for (const machine of planMachines(clusterId, spec)) {
    if (machine.pool !== null && duplicatePools.has(machine.pool)) continue;
    const field = fieldOfMachine(spec, machine.pool, machine.role);
    if (seen.has(machine.name) && !reported.has(`clash:${field}`)) {
      reported.add(`clash:${field}`);
      reasons.push(reason('machine-name-conflict', `two machines would be named "${machine.name}": rename node pool "${machine.pool ?? machine.role}"`, field));
    }
    seen.add(machine.name);
    if (machine.name.length > MAX_NODE_NAME && !reported.has(`long:${field}`)) {
      reported.add(`long:${field}`);
      reasons.push(reason('machine-name-too-long', `machine name "${machine.name.slice(0, 40)}…" is longer than a Kubernetes node name may be (${MAX_NODE_NAME})`, field));
    }
  }
  return reasons;
}

function fieldOfMachine(spec: ClusterSpec, pool: string | null, role: string): string {
  if (role === 'control-plane') return machineSource(spec) === 'hosts' ? 'hosts' : 'controlPlane';
  const index = spec.nodePools.findIndex((candidate) => candidate.name === pool);
  return index >= 0 ? `nodePools.${index}.name` : 'hosts';
}

function checkNetwork(clusterId: string, spec: ClusterSpec): ProvisionerReason[] {
  const reasons: ProvisionerReason[] = [];
  const parse = (text: string, field: string): Cidr | undefined => {
    const parsed = parseCidr(text);
    if (!parsed.ok) {
      reasons.push(reason('cidr-invalid', parsed.problem, field));
      return undefined;
    }
    if (hasHostBits(parsed.cidr)) {
      reasons.push(reason('cidr-host-bits-set', `${text} has host bits set: did you mean ${canonical(parsed.cidr)}?`, field));
      return undefined;
    }
    return parsed.cidr;
  };
  const pods = parse(spec.network.podCidr, 'network.podCidr');
  const services = parse(spec.network.serviceCidr, 'network.serviceCidr');
  if (pods && services) {
    if (pods.family !== services.family) {
      reasons.push(reason('cidr-family-mismatch', `pod CIDR ${pods.text} is IPv${pods.family} but service CIDR ${services.text} is IPv${services.family}`, 'network'));
    } else if (overlaps(pods, services)) {
      reasons.push(reason('cidr-overlap', `pod CIDR ${pods.text} and service CIDR ${services.text} overlap`, 'network'));
    }
  }
  if (services) {
    const hostBits = (services.family === 4 ? 32 : 128) - services.prefix;
    if (hostBits > MAX_SERVICE_HOST_BITS) {
      const longest = (services.family === 4 ? 32 : 128) - MAX_SERVICE_HOST_BITS;
      reasons.push(reason('service-cidr-too-large', `service CIDR ${services.text} is larger than the API server accepts: use a /${longest} or smaller`, 'network.serviceCidr'));
    }
  }
  if (pods) {
    const nodes = spec.controlPlane ? planMachines(clusterId, spec).length : 0;
    const mask = NODE_MASK[pods.family];
    const room = subnetCount(pods, mask);
    if (room < BigInt(Math.max(nodes, 1))) {
      reasons.push(
        reason('pod-cidr-too-small', `pod CIDR ${pods.text} holds ${room} node range(s) of /${mask} but the cluster has ${nodes} node(s)`, 'network.podCidr'),
      );
    }
  }
  reasons.push(...checkControlPlaneVip(spec, pods, services));
  const hosts = machineSource(spec) === 'hosts' ? (spec.hosts ?? []) : [];
  hosts.forEach((host, index) => {
    const ip = parseIp(host.address);
    if (!ip) return; // a DNS name: resolved on the host's own network
    for (const [cidr, what] of [
      [pods, 'pod'],
      [services, 'service'],
    ] as const) {
      if (cidr && contains(cidr, ip)) {
        reasons.push(reason('host-in-cluster-network', `host ${host.address} lies inside the ${what} CIDR ${cidr.text}: its traffic would be routed into the cluster`, `hosts.${index}.address`));
      }
    }
  });
  return reasons;
}

/**
 * The API endpoint of a control plane on users' hosts: a virtual IP that kube-vip holds on one
 * control-plane host at a time, so the endpoint outlives any one host. It must be an address
 * of its own on the hosts' network: not a host's, and outside the cluster's own ranges.
 */
function checkControlPlaneVip(spec: ClusterSpec, pods: Cidr | undefined, services: Cidr | undefined): ProvisionerReason[] {
  if (!spec.controlPlane) return [];
  const vip = spec.controlPlane.vip;
  const field = 'controlPlane.vip';
  if (spec.model !== 'user-provisioned') {
    return vip === undefined ? [] : [reason('control-plane-vip-not-allowed', `a ${spec.model} control plane gets its endpoint from ${spec.model === 'hosted-control-plane' ? 'its management cluster' : 'the infrastructure provider'}: leave \`controlPlane.vip\` out`, field)];
  }
  if (vip === undefined) {
    return [reason('control-plane-vip-required', "the control plane runs on users' hosts: give `controlPlane.vip`, a free IP address on their network for the API endpoint (kube-vip holds it on one control-plane host at a time)", field)];
  }
  const ip = parseIp(vip);
  if (!ip) return [reason('control-plane-vip-invalid', `controlPlane.vip "${vip.slice(0, 64)}" is not an IPv4 or IPv6 address`, field)];
  const reasons: ProvisionerReason[] = [];
  const host = (spec.hosts ?? []).findIndex((candidate) => parseIp(candidate.address)?.value === ip.value && parseIp(candidate.address)?.family === ip.family);
  if (host >= 0) reasons.push(reason('control-plane-vip-in-use', `controlPlane.vip ${vip} is the address of hosts.${host}: the endpoint would go with that host`, field));
  for (const [cidr, what] of [
    [pods, 'pod'],
    [services, 'service'],
  ] as const) {
    if (cidr && contains(cidr, ip)) reasons.push(reason('control-plane-vip-in-cluster-network', `controlPlane.vip ${vip} lies inside the ${what} CIDR ${cidr.text}: it must be on the hosts' network`, field));
  }
  return reasons;
}
