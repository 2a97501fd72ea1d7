import type { Reason } from '@flotilla/contracts';
import { setConditions, type ConditionUpdate } from '../conditions.js';
import { ProvisionerError } from './errors.js';
import type { ClusterEvent, NewMachine } from './events.js';
import { machineOf } from './machines.js';
import type { ClusterState, MachineRemoval, MachineState } from './state.js';
import { summarise } from './summary.js';

// Folds events into state; the cluster's conditions are derived afresh after each (`summary.ts`).

export function evolve(state: ClusterState | undefined, event: ClusterEvent): ClusterState {
  switch (event.type) {
    case 'ClusterAccepted':
      return summarise(
        {
          id: event.clusterId,
          name: event.spec.name,
          model: event.spec.model,
          spec: event.spec,
          release: event.release,
          policyRevision: event.policyRevision ?? null,
          kubernetesVersion: event.spec.kubernetesVersion,
          apiServerEndpoint: event.apiServerEndpoint ?? null,
          phase: 'Pending',
          conditions: setConditions([], [{ type: 'SpecValid', status: 'True', reason: 'Valid' }], event.at),
          failureReasons: [],
          machines: event.machines.map((planned) => newMachine({ ...planned, kubernetesVersion: event.spec.kubernetesVersion, replaces: null }, event.at)),
          operation: null,
          requestedAt: event.at,
        },
        event.at,
      );
    case 'ClusterRejected':
      return {
        id: event.clusterId,
        name: event.spec.name,
        model: event.spec.model,
        spec: event.spec,
        release: event.release,
        policyRevision: event.policyRevision ?? null,
        kubernetesVersion: event.spec.kubernetesVersion,
        apiServerEndpoint: null,
        phase: 'Failed',
        conditions: setConditions(
          [],
          [
            event.reasons.every((item) => isPlacementCode(item.code))
              ? { type: 'SpecValid', status: 'True', reason: 'Valid' }
              : { type: 'SpecValid', status: 'False', reason: 'InvalidSpec', message: event.reasons.map((item) => item.message).join('; ') },
            { type: 'Ready', status: 'False', reason: event.reasons.every((item) => isPlacementCode(item.code)) ? 'NoControlPlanePlacement' : 'InvalidSpec', message: event.reasons.map((item) => item.message).join('; ') },
          ],
          event.at,
        ),
        failureReasons: event.reasons,
        machines: [],
        operation: null,
        requestedAt: event.at,
      };
    case 'MachineProvisioningStarted': {
      const current = existing(state, event);
      return summarise(
        {
          ...updateMachine(current, event.machine, (machine) => ({
            ...machine,
            phase: 'Provisioning',
            providerId: event.providerId,
            addresses: event.addresses,
            deadline: event.deadline,
            conditions: setConditions(machine.conditions, [{ type: 'InfrastructureReady', status: 'False', reason: 'Provisioning', message: `provider id ${event.providerId}` }], event.at),
          })),
          phase: current.phase === 'Pending' ? 'Provisioning' : current.phase,
        },
        event.at,
      );
    }
    case 'MachineProvisioned':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          phase: 'Provisioned',
          providerId: event.providerId,
          addresses: event.addresses,
          conditions: setConditions(
            machine.conditions,
            [
              { type: 'InfrastructureReady', status: 'True', reason: 'Provisioned' },
              { type: 'NodeReady', status: 'False', reason: 'WaitingForNodeJoin' },
            ],
            event.at,
          ),
        })),
        event.at,
      );
    case 'MachineRunning':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          phase: 'Running',
          kubeletVersion: event.kubeletVersion,
          conditions: setConditions(machine.conditions, [{ type: 'NodeReady', status: 'True', reason: 'NodeJoined', message: `kubelet ${event.kubeletVersion}` }], event.at),
        })),
        event.at,
      );
    case 'MachineFailed':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          phase: 'Failed',
          failureReason: event.reason,
          conditions: setConditions(
            machine.conditions,
            [machine.phase === 'Provisioned' ? { type: 'NodeReady', status: 'False', reason: failureCondition(event.reason), message: event.reason.message } : { type: 'InfrastructureReady', status: 'False', reason: failureCondition(event.reason), message: event.reason.message }],
            event.at,
          ),
        })),
        event.at,
      );
    case 'ApiServerEndpointAssigned':
      return summarise({ ...existing(state, event), apiServerEndpoint: event.endpoint }, event.at);
    case 'ClusterInfrastructureReady':
      return summarise({ ...existing(state, event), phase: 'Provisioned' }, event.at);
    case 'ClusterRunning':
      return summarise({ ...existing(state, event), phase: 'Running' }, event.at);
    case 'ClusterFailed': {
      const current = existing(state, event);
      return summarise({ ...current, phase: 'Failed', failureReasons: [...current.failureReasons, ...event.reasons] }, event.at);
    }
    case 'NodesJoined':
    case 'MachineReplaced':
      // Announcements: the state changed with the events next to them.
      return existing(state, event);
    case 'MachinesAdded': {
      const current = existing(state, event);
      return summarise({ ...current, machines: [...current.machines, ...event.machines.map((machine) => newMachine(machine, event.at))] }, event.at);
    }
    case 'MachineRemovalStarted':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          phase: 'Deleting',
          removal: event.removal,
          upgrade: null,
          conditions: setConditions(machine.conditions, [{ type: 'NodeReady', status: 'False', reason: 'Deleting', message: describeRemoval(event.removal) }], event.at),
        })),
        event.at,
      );
    case 'MachineDeleted': {
      const current = existing(state, event);
      machineOf(current, event.machine);
      return summarise(
        {
          ...current,
          machines: current.machines.filter((machine) => machine.name !== event.machine).map((machine) => (machine.replaces?.machine === event.machine ? { ...machine, replaces: null } : machine)),
          operation: current.operation?.kind === 'scale' && current.machines.some((machine) => machine.name === event.machine && machine.removal?.reason === 'scale-down') ? { ...current.operation, removed: [...current.operation.removed, event.machine] } : current.operation,
        },
        event.at,
      );
    }
    case 'MachineUnhealthy':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          unhealthySince: event.at,
          conditions: setConditions(machine.conditions, [{ type: 'NodeReady', status: 'False', reason: 'NodeNotReady', message: event.message }], event.at),
        })),
        event.at,
      );
    case 'MachineHealthy':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          unhealthySince: null,
          remediation: null,
          conditions: setConditions(machine.conditions, [{ type: 'NodeReady', status: 'True', reason: 'NodeReady' }], event.at),
        })),
        event.at,
      );
    case 'HostRemediationStarted': {
      const current = existing(state, event);
      // A spare taking the host's place is a replacement: the spare's machine came with MachinesAdded.
      if (event.remediation === 'spare') return current;
      const action = event.remediation;
      const reason = action === 'reboot' ? 'HostRebooting' : 'HostReported';
      return summarise(
        updateMachine(current, event.machine, (machine) => ({
          ...machine,
          remediation: { action, at: event.at, rebootedAt: null },
          conditions: setConditions(machine.conditions, [{ type: 'NodeReady', status: 'False', reason, message: event.message }], event.at),
        })),
        event.at,
      );
    }
    case 'HostRebooted':
      return updateMachine(existing(state, event), event.machine, (machine) => (machine.remediation?.action === 'reboot' ? { ...machine, remediation: { ...machine.remediation, rebootedAt: event.at } } : machine));
    case 'RemediationBlocked': {
      const current = existing(state, event);
      const message = `${event.unhealthy} of ${event.total} machine(s) are unhealthy, more than the ${event.allowed} allowed: no machine is replaced until enough recover`;
      return { ...current, conditions: setConditions(current.conditions, [{ type: 'RemediationAllowed', status: 'False', reason: 'TooManyUnhealthy', message }], event.at) };
    }
    case 'RemediationAllowed': {
      const current = existing(state, event);
      return { ...current, conditions: setConditions(current.conditions, [{ type: 'RemediationAllowed', status: 'True', reason: 'WithinMaxUnhealthy' }], event.at) };
    }
    case 'NodePoolScalingStarted':
      return summarise({ ...existing(state, event), operation: { kind: 'scale', pool: event.pool, from: event.from, to: event.to, removed: [], startedAt: event.at } }, event.at);
    case 'NodePoolScaled': {
      const current = existing(state, event);
      const condition: ConditionUpdate =
        event.to === event.requested
          ? { type: 'Scaling', status: 'False', reason: 'Scaled', message: `node pool ${event.pool}: ${event.from} -> ${event.to}` }
          : { type: 'Scaling', status: 'False', reason: 'MachineFailed', message: `node pool ${event.pool}: ${event.from} -> ${event.to} of ${event.requested} asked: a new machine failed` };
      return summarise({ ...current, operation: null, conditions: setConditions(current.conditions, [condition], event.at) }, event.at);
    }
    case 'UpgradeStarted':
      return summarise(
        {
          ...existing(state, event),
          operation: { kind: 'upgrade', planId: event.planId, fromVersion: event.fromVersion, toVersion: event.toVersion, startedAt: event.at, ...(event.policyRevision === undefined ? {} : { policyRevision: event.policyRevision }) },
        },
        event.at,
      );
    case 'UpgradeStepRejected': {
      const current = existing(state, event);
      const message = `step to ${event.toVersion} (plan ${event.planId}) refused: ${event.reasons.map((item) => item.message).join('; ')}`;
      return { ...current, conditions: setConditions(current.conditions, [{ type: 'Upgrading', status: 'False', reason: 'StepRejected', message }], event.at) };
    }
    case 'MachineUpgradeStarted':
      return summarise(updateMachine(existing(state, event), event.machine, (machine) => ({ ...machine, upgrade: { toVersion: event.toVersion, first: event.first } })), event.at);
    case 'MachineUpgraded':
      return summarise(
        updateMachine(existing(state, event), event.machine, (machine) => ({
          ...machine,
          upgrade: null,
          kubernetesVersion: event.kubernetesVersion,
          kubeletVersion: event.kubeletVersion,
          conditions: setConditions(machine.conditions, [{ type: 'NodeReady', status: 'True', reason: 'NodeUpgraded', message: `kubelet ${event.kubeletVersion}` }], event.at),
        })),
        event.at,
      );
    case 'ClusterUpgraded': {
      const current = existing(state, event);
      const operation = current.operation?.kind === 'upgrade' ? current.operation : undefined;
      return summarise(
        {
          ...current,
          kubernetesVersion: operation?.toVersion ?? event.toVersion,
          operation: null,
          conditions: setConditions(current.conditions, [{ type: 'Upgrading', status: 'False', reason: 'Upgraded', message: `${event.fromVersion} -> ${event.toVersion} (plan ${event.planId})` }], event.at),
        },
        event.at,
      );
    }
    case 'UpgradeFailed': {
      const current = existing(state, event);
      const message = `step to ${event.toVersion} (plan ${event.planId}) stopped: ${event.reasons.map((item) => item.message).join('; ')}`;
      return summarise(
        {
          ...current,
          operation: null,
          machines: current.machines.map((machine) => (machine.upgrade ? { ...machine, upgrade: null } : machine)),
          conditions: setConditions(current.conditions, [{ type: 'Upgrading', status: 'False', reason: 'UpgradeFailed', message }], event.at),
        },
        event.at,
      );
    }
    case 'ClusterDeletionStarted':
      return summarise({ ...existing(state, event), phase: 'Deleting', operation: { kind: 'delete', reason: event.reason, startedAt: event.at } }, event.at);
    case 'ClusterDeleted':
      return summarise({ ...existing(state, event), phase: 'Deleted', operation: null }, event.at);
  }
}

/** The state after the events, as `evolve` makes it. */
export function apply(state: ClusterState, events: readonly ClusterEvent[]): ClusterState {
  return events.reduce<ClusterState>((current, event) => evolve(current, event), state);
}

function isPlacementCode(code: string): boolean {
  return code === 'no-management-cluster' || code === 'management-capacity-exhausted';
}

function describeRemoval(removal: MachineRemoval): string {
  switch (removal.reason) {
    case 'scale-down':
      return 'node pool scaled down';
    case 'replaced':
      return `replaced by ${removal.replacedBy ?? 'a new machine'} (${removal.replaceReason ?? 'replaced'})`;
    case 'failed':
      return 'failed; released';
    case 'cluster-deleted':
      return 'cluster deleted';
  }
}

function existing(state: ClusterState | undefined, event: ClusterEvent): ClusterState {
  if (!state) throw new ProvisionerError('cluster-not-found', `${event.type} for unknown cluster "${event.clusterId}"`);
  return state;
}

function newMachine(planned: NewMachine, at: string): MachineState {
  return {
    name: planned.name,
    role: planned.role,
    pool: planned.pool,
    machineSize: planned.machineSize,
    host: planned.host,
    phase: 'Pending',
    providerId: null,
    addresses: [],
    kubernetesVersion: planned.kubernetesVersion,
    kubeletVersion: null,
    failureReason: null,
    deadline: null,
    conditions: setConditions(
      [],
      [
        { type: 'InfrastructureReady', status: 'False', reason: 'WaitingForInfrastructure' },
        { type: 'NodeReady', status: 'False', reason: 'WaitingForInfrastructure' },
      ],
      at,
    ),
    replaces: planned.replaces,
    removal: null,
    unhealthySince: null,
    upgrade: null,
    remediation: null,
  };
}

function updateMachine(state: ClusterState, name: string, change: (machine: MachineState) => MachineState): ClusterState {
  if (!state.machines.some((machine) => machine.name === name)) throw new ProvisionerError('machine-not-found', `cluster "${state.id}" has no machine "${name}"`);
  return { ...state, machines: state.machines.map((machine) => (machine.name === name ? change(machine) : machine)) };
}

function failureCondition(failure: Reason): string {
  switch (failure.code) {
    case 'machine-timeout':
      return 'Timeout';
    case 'provider-error':
      return 'ProviderError';
    default:
      return 'MachineFailed';
  }
}
