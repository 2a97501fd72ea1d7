import type { ClusterCommand, ObserveMachine } from './commands.js';
import { decideProvisioning, decideRequest } from './creation.js';
import { decideDeletion, machineDeleted } from './deletion.js';
import { ProvisionerError } from './errors.js';
import type { ClusterEvent } from './events.js';
import { hostRebooted, machineLost, nodeNotReady, nodeReady } from './health.js';
import { decideScale } from './scaling.js';
import { settle } from './settle.js';
import type { ClusterState, MachineState } from './state.js';
import { decideUpgrade, nodeUpgraded, nodeUpgradeFailed } from './upgrade.js';

/**
 * Routes each command to its concern, and each observation by the machine's phase. Where a
 * decision sets more in motion (a release, a scale's end, the next machine of an upgrade, a
 * deletion's completion), the events that follow are settled here, in one place.
 */
export function decide(command: ClusterCommand, state: ClusterState | undefined): ClusterEvent[] {
  switch (command.type) {
    case 'RequestCluster':
      return decideRequest(command, state);
    case 'ObserveMachine':
      return decideObservation(command, state);
    case 'ScaleNodePool':
      return decideScale(command, known(state, command.clusterId));
    case 'RequestDeletion': {
      const current = known(state, command.clusterId);
      return settled(current, decideDeletion(command, current), command.at);
    }
    case 'ApproveUpgradeStep': {
      const current = known(state, command.clusterId);
      const events = decideUpgrade(command, current);
      // A step taken starts the rollout; a refused one sets nothing going.
      return events.some((event) => event.type === 'UpgradeStarted') ? settle(current, events, command.at) : events;
    }
  }
}

function known(state: ClusterState | undefined, clusterId: string): ClusterState {
  if (!state) throw new ProvisionerError('cluster-not-found', `cluster "${clusterId}" is not known here`);
  return state;
}

/** The events and what they set in motion; nothing decided, nothing follows. */
function settled(state: ClusterState, events: ClusterEvent[], at: string): ClusterEvent[] {
  return events.length === 0 ? events : settle(state, events, at);
}

function decideObservation(command: ObserveMachine, state: ClusterState | undefined): ClusterEvent[] {
  const { clusterId, observation, at } = command;
  if (!state) throw new ProvisionerError('cluster-not-found', `cluster "${clusterId}" is not known here`);
  const machine = state.machines.find((candidate) => candidate.name === command.machine);
  if (!machine) throw new ProvisionerError('machine-not-found', `cluster "${clusterId}" has no machine "${command.machine}"`);

  switch (machine.phase) {
    case 'Failed':
      return [];
    case 'Deleting':
      return observation.kind === 'machine-deleted' ? settle(state, machineDeleted(state, machine, at), at) : [];
    case 'Running':
      return state.phase === 'Running' ? decideRunningMachine(command, state, machine) : [];
    case 'Pending':
    case 'Provisioning':
    case 'Provisioned': {
      const events = decideProvisioning(command, state, machine);
      // A new machine of a Running cluster (scale-up, replacement) sets things going; the first
      // machines of a cluster bring it up themselves.
      return state.phase === 'Running' ? settled(state, events, at) : events;
    }
  }
}

/** A Running machine of a Running cluster: its health, or its in-place upgrade. */
function decideRunningMachine(command: ObserveMachine, state: ClusterState, machine: MachineState): ClusterEvent[] {
  const { observation, at } = command;
  switch (observation.kind) {
    case 'node-ready':
      return nodeReady(command, state, machine);
    case 'node-not-ready':
      return nodeNotReady(command, state, machine, observation.message);
    case 'failed':
      return machineLost(command, machine, observation.message);
    case 'node-upgraded':
      return settled(state, nodeUpgraded(command, machine, observation.kubeletVersion), at);
    case 'upgrade-failed':
      return nodeUpgradeFailed(command, state, machine, observation.message);
    case 'node-rebooted':
      return hostRebooted(command, machine);
    case 'node-upgrading':
    case 'infrastructure-pending':
    case 'infrastructure-ready':
    case 'node-joining':
    case 'node-joined':
    case 'machine-deleted':
      return [];
  }
}
