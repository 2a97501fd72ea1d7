import type { RequestDeletion } from './commands.js';
import type { ClusterEvent } from './events.js';
import type { ClusterState, MachineState } from './state.js';

/*
 * Deleting a cluster, at any phase: every machine goes Deleting (the reconciler drains and
 * releases it); each release removes the machine, and the last one completes the deletion
 * (`settle.ts`). The caller settles what follows.
 */

export function decideDeletion(command: RequestDeletion, state: ClusterState): ClusterEvent[] {
  const { clusterId, at } = command;
  if (state.phase === 'Deleting' || state.phase === 'Deleted') return [];
  const events: ClusterEvent[] = [{ type: 'ClusterDeletionStarted', clusterId, reason: command.reason ?? null, at }];
  for (const machine of state.machines) {
    if (machine.phase !== 'Deleting') events.push({ type: 'MachineRemovalStarted', clusterId, machine: machine.name, removal: { reason: 'cluster-deleted' }, at });
  }
  return events;
}

/** A machine is gone at the provider: its row goes, and a replaced one is announced as such. */
export function machineDeleted(state: ClusterState, machine: MachineState, at: string): ClusterEvent[] {
  const events: ClusterEvent[] = [{ type: 'MachineDeleted', clusterId: state.id, machine: machine.name, at }];
  const removal = machine.removal;
  if (removal?.reason === 'replaced' && removal.replacedBy && removal.replaceReason) {
    const successor = state.machines.find((candidate) => candidate.name === removal.replacedBy);
    if (successor) {
      events.push({
        type: 'MachineReplaced',
        clusterId: state.id,
        model: state.model,
        role: machine.role,
        pool: machine.pool,
        reason: removal.replaceReason,
        oldMachine: { name: machine.name, providerId: machine.providerId, kubeletVersion: machine.kubeletVersion },
        newMachine: { name: successor.name, providerId: successor.providerId, kubeletVersion: successor.kubeletVersion },
        at,
      });
    }
  }
  return events;
}
