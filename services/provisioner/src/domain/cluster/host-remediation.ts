import type { HealthPolicy, ObserveMachine } from './commands.js';
import type { ClusterEvent, HostRemediationFacts } from './events.js';
import { hostKey, nextMachineName } from './machines.js';
import type { ClusterState, MachineState } from './state.js';
import type { HostRef } from '../machine-plan.js';

/*
 * Users' hosts are theirs: one whose node stays not Ready is never replaced by a machine the
 * platform makes, nor drained or reset for a replacement that is not there. In order, it is
 * replaced by a spare host the user registered for its role and pool (surge first, as any
 * replacement), rebooted over SSH when the cluster allows it (`hostRemediation.reboot`) and
 * left to rejoin, or reported: the cluster's `MachinesHealthy` condition and NodeUnhealthy say
 * which host an operator has to look at.
 */

/** The next remediation of an unhealthy host whose timeout passed (`events`: what comes before it). */
export function remediateHost(command: ObserveMachine, state: ClusterState, machine: MachineState, policy: HealthPolicy, events: ClusterEvent[]): ClusterEvent[] {
  const { at } = command;
  const remediation = machine.remediation;
  if (remediation?.action === 'reported') return events;
  if (remediation?.action === 'reboot') {
    // Told to reboot: the node has the timeout again to come back before the host is reported.
    if (remediation.rebootedAt === null || Date.parse(at) - Date.parse(remediation.rebootedAt) < policy.unhealthyTimeoutMs) return events;
    return [...events, hostRemediation(state, machine, 'reported', at, `node ${machine.name} is still not Ready after its host ${describeHost(machine)} was rebooted: an operator has to look at the host; it stays in the cluster as it is`)];
  }
  const spare = freeSpare(state, machine);
  if (spare) {
    const replacement = {
      name: nextMachineName(state, machine.role === 'control-plane' ? null : machine.pool, []),
      role: machine.role,
      pool: machine.pool,
      machineSize: null,
      host: spare,
      kubernetesVersion: machine.kubernetesVersion,
      replaces: { machine: machine.name, reason: 'unhealthy' as const },
    };
    const message = `node ${machine.name} on ${describeHost(machine)} is not Ready: spare host ${spare.address} joins as ${replacement.name}, then ${machine.name} is drained and what Flotilla installed on it undone`;
    return [...events, { ...hostRemediation(state, machine, 'spare', at, message), spare: spare.address }, { type: 'MachinesAdded', clusterId: state.id, machines: [replacement], at }];
  }
  if (state.spec.hostRemediation?.reboot === true) {
    return [...events, hostRemediation(state, machine, 'reboot', at, `node ${machine.name} is not Ready: its host ${describeHost(machine)} is rebooted and rejoins`)];
  }
  const why = machine.role === 'control-plane' ? 'no spare control-plane host' : `no spare host for node pool "${machine.pool ?? 'none'}"`;
  return [...events, hostRemediation(state, machine, 'reported', at, `node ${machine.name} is not Ready and ${why} is free (reboots are off): an operator has to look at ${describeHost(machine)}; it stays in the cluster as it is`)];
}

/** A spare taking an unhealthy host's place failed to join: the host is reported instead (no second try with it). */
export function spareFailed(state: ClusterState, spare: MachineState, at: string): ClusterEvent[] {
  const old = state.machines.find((candidate) => candidate.name === spare.replaces?.machine);
  if (!old || old.host === null || spare.replaces?.reason !== 'unhealthy' || old.remediation !== null) return [];
  const failure = spare.failureReason?.message ?? 'it failed';
  return [hostRemediation(state, old, 'reported', at, `spare host ${spare.host?.address ?? spare.name} did not join in place of ${old.name} (${failure}): an operator has to look at ${describeHost(old)}; it stays in the cluster as it is`)];
}

/** A spare of the machine's role (and pool, for a worker) that no machine of the cluster uses. */
function freeSpare(state: ClusterState, machine: MachineState): HostRef | undefined {
  const used = new Set(state.machines.flatMap((candidate) => (candidate.host ? [hostKey(candidate.host)] : [])));
  const spare = (state.spec.spareHosts ?? []).find(
    (candidate) => candidate.role === machine.role && (machine.role === 'control-plane' || (candidate.pool ?? null) === machine.pool) && !used.has(hostKey(candidate)),
  );
  if (!spare) return undefined;
  return { address: spare.address, port: spare.port, user: spare.user, sshKeyRef: spare.sshKeyRef, ...(spare.hostKeyFingerprint ? { hostKeyFingerprint: spare.hostKeyFingerprint } : {}) };
}

function hostRemediation(state: ClusterState, machine: MachineState, remediation: HostRemediationFacts['remediation'], at: string, message: string): Extract<ClusterEvent, { type: 'HostRemediationStarted' }> {
  return {
    type: 'HostRemediationStarted',
    clusterId: state.id,
    model: state.model,
    machine: machine.name,
    address: machine.host?.address ?? machine.addresses[0] ?? machine.name,
    role: machine.role,
    pool: machine.pool,
    unhealthySince: machine.unhealthySince ?? at,
    remediation,
    message,
    at,
  };
}

function describeHost(machine: MachineState): string {
  return machine.host ? `${machine.host.address}:${machine.host.port}` : machine.name;
}
