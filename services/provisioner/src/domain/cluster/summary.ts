import { setConditions, type ConditionUpdate } from '../conditions.js';
import { controlPlaneIsHosted, controlPlaneOf } from '../machine-plan.js';
import { sameVersion, type ClusterState, type MachinePhase, type MachineState } from './state.js';

/** The cluster's conditions, derived from its machines, phase and operation so they never disagree. */
export function summarise(state: ClusterState, at: string): ClusterState {
  const updates: ConditionUpdate[] = [];
  const count = (machines: MachineState[], phases: MachinePhase[]) => machines.filter((machine) => phases.includes(machine.phase)).length;
  // Machines on their way out no longer count.
  const all = state.machines.filter((machine) => machine.phase !== 'Deleting');
  const failed = all.filter((machine) => machine.phase === 'Failed');
  const infrastructureUp = count(all, ['Provisioned', 'Running']);
  updates.push(
    failed.length > 0
      ? { type: 'InfrastructureReady', status: 'False', reason: 'MachineFailed', message: `${failed.length} machine(s) failed: ${failed.map((machine) => machine.name).join(', ')}` }
      : infrastructureUp === all.length
        ? { type: 'InfrastructureReady', status: 'True', reason: 'AllMachinesProvisioned', message: `${all.length} machine(s)` }
        : { type: 'InfrastructureReady', status: 'False', reason: 'WaitingForMachines', message: `${infrastructureUp} of ${all.length} machine(s) provisioned` },
  );
  const controlPlane = all.filter((machine) => machine.role === 'control-plane');
  if (controlPlaneIsHosted(state.spec)) {
    // Hosted: Ready once its TenantControlPlane reported Ready (and with it the endpoint).
    updates.push(
      state.apiServerEndpoint !== null
        ? { type: 'ControlPlaneReady', status: 'True', reason: 'Hosted', message: `${controlPlaneOf(state.spec).count} replica(s) in the management cluster, at ${state.apiServerEndpoint}` }
        : { type: 'ControlPlaneReady', status: 'False', reason: 'WaitingForHostedControlPlane', message: 'the TenantControlPlane is not Ready in its management cluster yet' },
    );
  } else {
    const running = count(controlPlane, ['Running']);
    updates.push(
      running === controlPlane.length
        ? { type: 'ControlPlaneReady', status: 'True', reason: 'ControlPlaneRunning', message: `${running} control-plane node(s)` }
        : { type: 'ControlPlaneReady', status: 'False', reason: 'WaitingForControlPlane', message: `${running} of ${controlPlane.length} control-plane node(s) running` },
    );
  }
  const workers = all.filter((machine) => machine.role === 'worker');
  const workersRunning = count(workers, ['Running']);
  updates.push(
    workersRunning === workers.length
      ? { type: 'WorkersReady', status: 'True', reason: 'WorkersRunning', message: `${workersRunning} worker node(s)` }
      : { type: 'WorkersReady', status: 'False', reason: 'WaitingForWorkers', message: `${workersRunning} of ${workers.length} worker node(s) running` },
  );
  switch (state.phase) {
    case 'Running': {
      updates.push({ type: 'Ready', status: 'True', reason: 'Running' });
      const unhealthy = all.filter((machine) => machine.phase === 'Running' && machine.unhealthySince !== null);
      // Users' hosts the platform will not touch further: an operator has to look at them.
      const reported = unhealthy.filter((machine) => machine.remediation?.action === 'reported');
      const notReady = `${unhealthy.length} node(s) not Ready: ${unhealthy.map((machine) => machine.name).join(', ')}`;
      updates.push(
        unhealthy.length === 0
          ? { type: 'MachinesHealthy', status: 'True', reason: 'AllNodesReady' }
          : reported.length > 0
            ? { type: 'MachinesHealthy', status: 'False', reason: 'HostNeedsAttention', message: `${notReady}; host(s) left as they are for an operator: ${reported.map((machine) => `${machine.name} (${machine.host?.address ?? 'no address'})`).join(', ')}` }
            : { type: 'MachinesHealthy', status: 'False', reason: 'NodeNotReady', message: notReady },
      );
      break;
    }
    case 'Failed':
      updates.push({ type: 'Ready', status: 'False', reason: 'ProvisioningFailed', message: state.failureReasons.map((item) => item.message).join('; ') });
      break;
    case 'Deleting': {
      const message = `${state.machines.length} machine(s) left to release`;
      updates.push({ type: 'Ready', status: 'False', reason: 'Deleting', message });
      break;
    }
    case 'Deleted':
      updates.push({ type: 'Ready', status: 'False', reason: 'Deleted' });
      break;
    case 'Pending':
    case 'Provisioning':
    case 'Provisioned':
      updates.push({ type: 'Ready', status: 'False', reason: state.phase });
      break;
  }
  const operation = state.operation;
  if (operation?.kind === 'scale') {
    const members = all.filter((machine) => machine.role === 'worker' && machine.pool === operation.pool);
    updates.push({ type: 'Scaling', status: 'True', reason: operation.to > operation.from ? 'ScalingUp' : 'ScalingDown', message: `node pool ${operation.pool}: ${operation.from} -> ${operation.to}, ${count(members, ['Running'])} node(s) running, ${state.machines.length - all.length} being released` });
  }
  if (operation?.kind === 'upgrade') {
    const done = state.machines.filter((machine) => machine.phase === 'Running' && sameVersion(machine.kubernetesVersion, operation.toVersion)).length;
    updates.push({ type: 'Upgrading', status: 'True', reason: 'RollingMachines', message: `to ${operation.toVersion} (plan ${operation.planId}): ${done} of ${all.length} machine(s) on the new version` });
  }
  return { ...state, conditions: setConditions(state.conditions, updates, at) };
}
