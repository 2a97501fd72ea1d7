import type { Node } from '@flotilla/contracts';
import { ProvisionerError } from './errors.js';
import type { NewMachine } from './events.js';
import type { ClusterState, MachineState, ReplaceReason } from './state.js';

// The machines of a cluster: finding them, naming new ones, and describing them as nodes.

export function machineOf(state: ClusterState, name: string): MachineState {
  const machine = state.machines.find((candidate) => candidate.name === name);
  if (!machine) throw new ProvisionerError('machine-not-found', `cluster "${state.id}" has no machine "${name}"`);
  return machine;
}

export function poolMachines(state: ClusterState, pool: string): MachineState[] {
  return state.machines.filter((machine) => machine.role === 'worker' && machine.pool === pool && machine.phase !== 'Deleting');
}

export function hostKey(host: { address: string; port: number }): string {
  return `${host.address.toLowerCase()}:${host.port}`;
}

/** `<cluster>-<group>-<n>` with n one above the highest in use, so a name is never taken twice at once. */
export function nextMachineName(state: ClusterState, pool: string | null, pending: readonly { name: string }[]): string {
  const group = pool ?? 'cp';
  const prefix = `${state.id}-${group}-`;
  const taken = new Set([...state.machines, ...pending].map((machine) => machine.name));
  let highest = -1;
  for (const name of taken) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    if (/^\d+$/.test(rest)) highest = Math.max(highest, Number(rest));
  }
  return `${prefix}${highest + 1}`;
}

export function replacementFor(state: ClusterState, machine: MachineState, why: ReplaceReason, kubernetesVersion: string): NewMachine {
  return {
    name: nextMachineName(state, machine.role === 'control-plane' ? null : machine.pool, []),
    role: machine.role,
    pool: machine.pool,
    machineSize: machine.machineSize,
    host: null,
    kubernetesVersion,
    replaces: { machine: machine.name, reason: why },
  };
}

export function toNode(machine: MachineState): Node {
  return {
    name: machine.name,
    role: machine.role,
    ...(machine.pool === null ? {} : { pool: machine.pool }),
    ...(machine.providerId === null ? {} : { providerId: machine.providerId }),
    addresses: machine.addresses,
    ...(machine.kubeletVersion === null ? {} : { kubeletVersion: machine.kubeletVersion }),
    ...(machine.machineSize === null ? {} : { machineSize: machine.machineSize }),
  };
}
