import type { ClusterSpec } from '@flotilla/contracts';
import type { ControlPlaneSize } from './control-plane-placement.js';
import { controlPlaneOf } from '../domain/machine-plan.js';

/** CPU in millicores and memory in bytes: what a pod requests and a management cluster offers. */
export interface Resources {
  cpuMillicores: number;
  memoryBytes: number;
}

/** Requests of one control-plane replica, component by component (each is a container of the pod). */
export interface ComponentRequests {
  apiServer: Resources;
  controllerManager: Resources;
  scheduler: Resources;
  /** The konnectivity server runs next to the API server in every replica (Kamaji's sidecar). */
  konnectivityServer: Resources;
}

export const CONTROL_PLANE_COMPONENTS = ['apiServer', 'controllerManager', 'scheduler', 'konnectivityServer'] as const satisfies readonly (keyof ComponentRequests)[];

export interface SizeProfile {
  /** Largest worker count the size is for (Infinity for the last one). */
  maxWorkers: number;
  perReplica: ComponentRequests;
  why: string;
}

const Mi = 1024 ** 2;
const Gi = 1024 ** 3;

/**
 * Per-replica requests by size. Upstream's own master sizing (1 vCPU for up to 5 nodes, 2 for 10,
 * 4 for 100) includes etcd and the OS; a hosted control plane has neither (etcd is the management
 * cluster's shared DataStore), so the requests are lower. The API server dominates: its memory
 * grows with the objects it caches (nodes, pods, endpoints), which grow with the worker count.
 * Every size stays below one dedicated control-plane machine (DEDICATED_CONTROL_PLANE_MACHINE).
 */
export const SIZE_PROFILES: Readonly<Record<ControlPlaneSize, SizeProfile>> = {
  small: {
    maxWorkers: 10,
    perReplica: {
      apiServer: { cpuMillicores: 250, memoryBytes: 512 * Mi },
      controllerManager: { cpuMillicores: 100, memoryBytes: 256 * Mi },
      scheduler: { cpuMillicores: 50, memoryBytes: 128 * Mi },
      konnectivityServer: { cpuMillicores: 50, memoryBytes: 64 * Mi },
    },
    why: 'a handful of nodes: the API server caches few objects and the controllers have little to reconcile',
  },
  medium: {
    maxWorkers: 50,
    perReplica: {
      apiServer: { cpuMillicores: 500, memoryBytes: 1 * Gi },
      controllerManager: { cpuMillicores: 200, memoryBytes: 512 * Mi },
      scheduler: { cpuMillicores: 100, memoryBytes: 256 * Mi },
      konnectivityServer: { cpuMillicores: 100, memoryBytes: 128 * Mi },
    },
    why: 'tens of nodes: watch traffic and the object cache double; more nodes to tunnel to',
  },
  large: {
    maxWorkers: Number.POSITIVE_INFINITY,
    perReplica: {
      apiServer: { cpuMillicores: 1000, memoryBytes: 2 * Gi },
      controllerManager: { cpuMillicores: 300, memoryBytes: 768 * Mi },
      scheduler: { cpuMillicores: 150, memoryBytes: 256 * Mi },
      konnectivityServer: { cpuMillicores: 150, memoryBytes: 256 * Mi },
    },
    why: 'beyond 50 nodes: the API server needs a full core and gigabytes of cache; scheduling and node lifecycle work grow with it',
  },
};

export const CONTROL_PLANE_SIZES = ['small', 'medium', 'large'] as const satisfies readonly ControlPlaneSize[];

/**
 * What one dedicated control-plane machine costs: 2 vCPU and 4 GiB. kubeadm refuses fewer than
 * 2 CPUs and wants at least 2 GB; 4 GiB leaves room for etcd next to the control plane, which is
 * how a dedicated control plane runs. The savings report compares against it.
 */
export const DEDICATED_CONTROL_PLANE_MACHINE: Readonly<Resources> = { cpuMillicores: 2000, memoryBytes: 4 * Gi };

/** Workers of a hosted cluster: its node pools, or the hosts users bring. */
export function workerCount(spec: ClusterSpec): number {
  if (spec.hosted?.workerModel === 'user-provisioned') return (spec.hosts ?? []).filter((host) => host.role === 'worker').length;
  return spec.nodePools.reduce((sum, pool) => sum + pool.count, 0);
}

export function sizeFor(workers: number): ControlPlaneSize {
  for (const size of CONTROL_PLANE_SIZES) if (workers <= SIZE_PROFILES[size].maxWorkers) return size;
  return 'large';
}

/** What a hosted control plane asks of its management cluster. */
export interface ControlPlaneSizing {
  size: ControlPlaneSize;
  workers: number;
  /** Replicas of the control-plane pod: the spec's `controlPlane.count`. */
  replicas: number;
  perReplica: ComponentRequests;
  /** Every replica's requests together: what is reserved on the management cluster. */
  total: Resources;
}

export function sizeControlPlane(spec: ClusterSpec): ControlPlaneSizing {
  const workers = workerCount(spec);
  const size = sizeFor(workers);
  const perReplica = SIZE_PROFILES[size].perReplica;
  const replicas = controlPlaneOf(spec).count;
  return { size, workers, replicas, perReplica, total: scale(sumRequests(perReplica), replicas) };
}

export function sumRequests(requests: ComponentRequests): Resources {
  return CONTROL_PLANE_COMPONENTS.reduce((sum, component) => add(sum, requests[component]), ZERO);
}

export const ZERO: Readonly<Resources> = { cpuMillicores: 0, memoryBytes: 0 };

export function add(a: Resources, b: Resources): Resources {
  return { cpuMillicores: a.cpuMillicores + b.cpuMillicores, memoryBytes: a.memoryBytes + b.memoryBytes };
}

export function subtract(a: Resources, b: Resources): Resources {
  return { cpuMillicores: a.cpuMillicores - b.cpuMillicores, memoryBytes: a.memoryBytes - b.memoryBytes };
}

export function scale(a: Resources, factor: number): Resources {
  return { cpuMillicores: a.cpuMillicores * factor, memoryBytes: a.memoryBytes * factor };
}

/** Kubernetes quantities: `250m`, `512Mi` (whole MiB when exact, bytes otherwise). */
export function cpuQuantity(millicores: number): string {
  return `${millicores}m`;
}

export function memoryQuantity(bytes: number): string {
  return bytes % Mi === 0 ? `${bytes / Mi}Mi` : String(bytes);
}

/** For people: `1.5 GiB`, `768 MiB`. */
export function describeMemory(bytes: number): string {
  if (Math.abs(bytes) >= Gi) return `${round(bytes / Gi)} GiB`;
  return `${round(bytes / Mi)} MiB`;
}

export function describeCpu(millicores: number): string {
  return `${millicores}m CPU`;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
