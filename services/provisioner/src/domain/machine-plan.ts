import type { ClusterSpec } from '@flotilla/contracts';

export type MachineRole = 'control-plane' | 'worker';

/** A machine a user brings: where to reach it. The key itself never leaves the key store. */
export interface HostRef {
  address: string;
  port: number;
  user: string;
  sshKeyRef: string;
  /** The host key it must present; absent: the first one seen is pinned. */
  hostKeyFingerprint?: string;
}

/** One machine the cluster needs, before any provider has seen it. */
export interface PlannedMachine {
  /** Also its Kubernetes node name. */
  name: string;
  role: MachineRole;
  pool: string | null;
  machineSize: string | null;
  /** Set for machines users bring (user-provisioned, or hosted workers on users' hosts). */
  host: HostRef | null;
}

/** Where a cluster's machines come from. */
export type MachineSource = 'platform' | 'hosts';

/** Hosted control planes run as workloads in the management cluster: they have no machines here. */
export function controlPlaneIsHosted(spec: ClusterSpec): boolean {
  return spec.model === 'hosted-control-plane';
}

/** The control plane of a cluster the provisioner holds: validation refuses a request without one. */
export function controlPlaneOf(spec: ClusterSpec): NonNullable<ClusterSpec['controlPlane']> {
  if (!spec.controlPlane) throw new Error(`a ${spec.model} cluster without controlPlane reached the provisioner past validation`);
  return spec.controlPlane;
}

export function machineSource(spec: ClusterSpec): MachineSource {
  switch (spec.model) {
    case 'public-cloud':
      throw new Error('a public-cloud cluster has no machines of the provisioner: the importer runs it at its cloud');
    case 'platform-provisioned':
      return 'platform';
    case 'user-provisioned':
      return 'hosts';
    case 'hosted-control-plane':
      return spec.hosted?.workerModel === 'user-provisioned' ? 'hosts' : 'platform';
  }
}

/**
 * The machines of a cluster, named `<cluster>-cp-<n>` and `<cluster>-<pool>-<n>` (hosts without a
 * pool: `<cluster>-worker-<n>`). Names are stable, so a provider can find a machine by name
 * after a crash, and the order is the spec's order.
 */
export function planMachines(clusterId: string, spec: ClusterSpec): PlannedMachine[] {
  const machines: PlannedMachine[] = [];
  const hosted = controlPlaneIsHosted(spec);
  if (machineSource(spec) === 'platform') {
    if (!hosted) {
      const controlPlane = controlPlaneOf(spec);
      for (let index = 0; index < controlPlane.count; index++) {
        machines.push({ name: `${clusterId}-cp-${index}`, role: 'control-plane', pool: null, machineSize: controlPlane.machineSize, host: null });
      }
    }
    for (const pool of spec.nodePools) {
      for (let index = 0; index < pool.count; index++) {
        machines.push({ name: `${clusterId}-${pool.name}-${index}`, role: 'worker', pool: pool.name, machineSize: pool.machineSize, host: null });
      }
    }
    return machines;
  }
  const counters = new Map<string, number>();
  for (const host of spec.hosts ?? []) {
    if (hosted && host.role === 'control-plane') continue;
    const group = host.role === 'control-plane' ? 'cp' : (host.pool ?? 'worker');
    const index = counters.get(`${host.role}/${group}`) ?? 0;
    counters.set(`${host.role}/${group}`, index + 1);
    machines.push({
      name: `${clusterId}-${group}-${index}`,
      role: host.role,
      pool: host.role === 'worker' ? (host.pool ?? null) : null,
      machineSize: null,
      host: { address: host.address, port: host.port, user: host.user, sshKeyRef: host.sshKeyRef, ...(host.hostKeyFingerprint ? { hostKeyFingerprint: host.hostKeyFingerprint } : {}) },
    });
  }
  return machines;
}
