import type { PlacementFailureCode } from './control-plane-placement.js';
import { describeCpu, describeMemory, type Resources } from './sizing.js';

export type ManagementClusterState = 'active' | 'cordoned';
export const MANAGEMENT_CLUSTER_STATES = ['active', 'cordoned'] as const satisfies readonly ManagementClusterState[];

export interface Capacity extends Resources {
  maxControlPlanes: number;
}

/** What a management cluster offers and what its hosted control planes hold of it. */
export interface ManagementClusterLoad {
  name: string;
  state: ManagementClusterState;
  capacity: Capacity;
  used: Usage;
}

export interface Usage extends Resources {
  controlPlanes: number;
}

/** Share of each capacity in use, 0..1. */
export interface Utilisation {
  cpu: number;
  memory: number;
  controlPlanes: number;
}

export type PlacementDecision =
  | { ok: true; managementCluster: string; utilisationAfter: Utilisation }
  | { ok: false; code: PlacementFailureCode; message: string };

export function free(load: ManagementClusterLoad): Usage {
  return {
    cpuMillicores: load.capacity.cpuMillicores - load.used.cpuMillicores,
    memoryBytes: load.capacity.memoryBytes - load.used.memoryBytes,
    controlPlanes: load.capacity.maxControlPlanes - load.used.controlPlanes,
  };
}

export function utilisation(capacity: Capacity, used: Usage): Utilisation {
  return {
    cpu: share(used.cpuMillicores, capacity.cpuMillicores),
    memory: share(used.memoryBytes, capacity.memoryBytes),
    controlPlanes: share(used.controlPlanes, capacity.maxControlPlanes),
  };
}

/** Whether one more control plane needing `need` fits (cordoned clusters take no new ones). */
export function fits(load: ManagementClusterLoad, need: Resources): boolean {
  const room = free(load);
  return load.state === 'active' && room.cpuMillicores >= need.cpuMillicores && room.memoryBytes >= need.memoryBytes && room.controlPlanes >= 1;
}

/**
 * Chooses where a control plane goes: among active clusters it fits on, the one whose busiest
 * resource (CPU, memory or control-plane count) is least used afterwards, so load spreads;
 * ties go to the first name, so the same inputs always give the same answer.
 */
export function choosePlacement(loads: readonly ManagementClusterLoad[], need: Resources): PlacementDecision {
  if (loads.length === 0) {
    return { ok: false, code: 'no-management-cluster', message: 'no management cluster is registered: register one (POST /api/v1/management-clusters) to host control planes' };
  }
  let best: { name: string; after: Utilisation; score: number } | undefined;
  for (const load of loads) {
    if (!fits(load, need)) continue;
    const after = utilisation(load.capacity, {
      cpuMillicores: load.used.cpuMillicores + need.cpuMillicores,
      memoryBytes: load.used.memoryBytes + need.memoryBytes,
      controlPlanes: load.used.controlPlanes + 1,
    });
    const score = Math.max(after.cpu, after.memory, after.controlPlanes);
    if (!best || score < best.score || (score === best.score && load.name < best.name)) best = { name: load.name, after, score };
  }
  if (best) return { ok: true, managementCluster: best.name, utilisationAfter: best.after };
  return { ok: false, code: 'management-capacity-exhausted', message: exhaustedMessage(loads, need) };
}

/** What was needed, and the largest free room of each kind among active clusters (named). */
export function exhaustedMessage(loads: readonly ManagementClusterLoad[], need: Resources): string {
  const needed = `needed ${describeCpu(need.cpuMillicores)}, ${describeMemory(need.memoryBytes)} memory and 1 control-plane slot`;
  const active = [...loads].filter((load) => load.state === 'active').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (active.length === 0) return `no management cluster has room: all ${loads.length} are cordoned; ${needed}`;
  const largest = (pick: (room: Usage) => number) =>
    active.reduce<{ name: string; value: number }>((top, load) => (pick(free(load)) > top.value ? { name: load.name, value: pick(free(load)) } : top), { name: active[0]!.name, value: pick(free(active[0]!)) });
  const cpu = largest((room) => room.cpuMillicores);
  const memory = largest((room) => room.memoryBytes);
  const slots = largest((room) => room.controlPlanes);
  return (
    `no management cluster has room: ${needed}; ` +
    `the largest free room is ${describeCpu(Math.max(0, cpu.value))} (${cpu.name}), ${describeMemory(Math.max(0, memory.value))} memory (${memory.name}), ` +
    `${Math.max(0, slots.value)} control-plane slot(s) (${slots.name})`
  );
}

function share(used: number, capacity: number): number {
  return capacity > 0 ? used / capacity : 1;
}
