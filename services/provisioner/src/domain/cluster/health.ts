import type { MaxUnhealthy, ObserveMachine } from './commands.js';
import type { ClusterEvent } from './events.js';
import { apply } from './evolve.js';
import { remediateHost } from './host-remediation.js';
import { replacementFor } from './machines.js';
import type { ClusterState, MachineState } from './state.js';

/*
 * Machine health checks and remediation, as Cluster API's MachineHealthCheck: a node not Ready
 * for the policy's timeout is replaced, surge first (the new machine joins, then the old one is
 * released: `settle.ts`), unless more machines are unhealthy than `maxUnhealthy` allows or the
 * cluster is busy with something else. Users' hosts are never replaced by a machine the
 * platform makes (`host-remediation.ts`).
 */

/** A Running node is Ready: healthy again, and remediation allowed again once few enough are not. */
export function nodeReady(command: ObserveMachine, state: ClusterState, machine: MachineState): ClusterEvent[] {
  const { clusterId, at } = command;
  if (machine.unhealthySince === null) return [];
  const events: ClusterEvent[] = [{ type: 'MachineHealthy', clusterId, machine: machine.name, at }];
  if (remediationBlocked(state) && command.health) {
    const after = apply(state, events);
    if (unhealthyCount(after) <= allowedUnhealthy(after, command.health.maxUnhealthy)) events.push({ type: 'RemediationAllowed', clusterId, at });
  }
  return events;
}

/** A Running node is not Ready: recorded, then replaced once the timeout passed (if allowed). */
export function nodeNotReady(command: ObserveMachine, state: ClusterState, machine: MachineState, message: string): ClusterEvent[] {
  const { clusterId, at } = command;
  if (machine.unhealthySince === null) return [{ type: 'MachineUnhealthy', clusterId, machine: machine.name, at, message }];
  const policy = command.health;
  if (!policy || Date.parse(at) - Date.parse(machine.unhealthySince) < policy.unhealthyTimeoutMs) return [];
  if (beingReplaced(state, machine.name) || state.operation !== null) return [];
  // A host already reported, or rebooting: its own course, not a new remediation.
  if (machine.host !== null && machine.remediation !== null) return remediateHost(command, state, machine, policy, []);
  const unhealthy = unhealthyCount(state);
  const allowed = allowedUnhealthy(state, policy.maxUnhealthy);
  if (unhealthy > allowed) {
    return remediationBlocked(state) ? [] : [{ type: 'RemediationBlocked', clusterId, unhealthy, total: healthCheckTargets(state).length, allowed, at }];
  }
  const events: ClusterEvent[] = remediationBlocked(state) ? [{ type: 'RemediationAllowed', clusterId, at }] : [];
  if (machine.host !== null) return remediateHost(command, state, machine, policy, events);
  events.push({ type: 'MachinesAdded', clusterId, machines: [replacementFor(state, machine, 'unhealthy', machine.kubernetesVersion)], at });
  return events;
}

/** A user's host was told to reboot: its node gets the health-check timeout again to come back. */
export function hostRebooted(command: ObserveMachine, machine: MachineState): ClusterEvent[] {
  if (machine.remediation?.action !== 'reboot' || machine.remediation.rebootedAt !== null) return [];
  return [{ type: 'HostRebooted', clusterId: command.clusterId, machine: machine.name, at: command.at }];
}

/** A Running machine is gone at the provider: replace it like an unhealthy one, right away. */
export function machineLost(command: ObserveMachine, machine: MachineState, message: string): ClusterEvent[] {
  if (machine.unhealthySince === null) return [{ type: 'MachineUnhealthy', clusterId: command.clusterId, machine: machine.name, at: command.at, message }];
  return [];
}

function beingReplaced(state: ClusterState, name: string): boolean {
  return state.machines.some((machine) => machine.replaces?.machine === name && machine.phase !== 'Failed' && machine.phase !== 'Deleting');
}

/** Machines the health check looks at: those that are nodes and not on their way out. */
function healthCheckTargets(state: ClusterState): MachineState[] {
  return state.machines.filter((machine) => machine.phase === 'Running');
}

function unhealthyCount(state: ClusterState): number {
  return healthCheckTargets(state).filter((machine) => machine.unhealthySince !== null).length;
}

/** Cluster API's maxUnhealthy: a count, or a share of the machines rounded down. */
export function allowedUnhealthy(state: ClusterState, max: MaxUnhealthy): number {
  switch (max.kind) {
    case 'count':
      return max.value;
    case 'percent':
      return Math.floor((healthCheckTargets(state).length * max.value) / 100);
  }
}

function remediationBlocked(state: ClusterState): boolean {
  return state.conditions.some((condition) => condition.type === 'RemediationAllowed' && condition.status === 'False');
}
