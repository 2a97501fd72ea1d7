import { checkControlPlaneStep, checkKubeletSkew, defaultSupportMatrix, isCompatible } from '@flotilla/contracts';
import { reason, type ProvisionerReason, type ReasonCode } from '../reasons.js';
import type { ApproveUpgradeStep, ObserveMachine } from './commands.js';
import type { ClusterEvent, UpgradeFacts } from './events.js';
import { replacementFor } from './machines.js';
import { apiServerVersion, busyWith, sameVersion, type ClusterOperation, type ClusterState, type MachineState } from './state.js';

/*
 * An upgrade step of a Running cluster, when the version policy allows it: platform machines are
 * replaced one at a time (surge 1), control plane first, then the workers pool by pool; users'
 * hosts are upgraded in place, host by host. The step is over when every machine runs the new
 * version, and stops when a replacement or a host fails.
 */

/** The step taken (UpgradeStarted: the caller settles what follows), refused with every reason, or already done. */
export function decideUpgrade(command: ApproveUpgradeStep, state: ClusterState): ClusterEvent[] {
  const { clusterId, planId, toVersion, at } = command;
  const operation = state.operation;
  // Redelivered, or the step is already done: nothing more to do.
  if (operation?.kind === 'upgrade' && operation.planId === planId && sameVersion(operation.toVersion, toVersion)) return [];
  if (sameVersion(state.kubernetesVersion, toVersion)) return [];
  const policyRevision = (command.matrix ?? defaultSupportMatrix).revision;
  const facts: UpgradeFacts = { clusterId, model: state.model, planId, fromVersion: apiServerVersion(state), toVersion, policyRevision, at };
  const reasons = upgradeRefusals(state, command);
  if (reasons.length > 0) return [{ type: 'UpgradeStepRejected', ...facts, reasons }];
  return [{ type: 'UpgradeStarted', ...facts }];
}

/** Why this step cannot be taken now, under the version-skew rules and the platform release. */
function upgradeRefusals(state: ClusterState, command: ApproveUpgradeStep): ProvisionerReason[] {
  if (state.phase !== 'Running') return [reason('cluster-not-running', `cluster "${state.id}" is ${state.phase}: only a Running cluster is upgraded`)];
  const busy = busyWith(state);
  if (busy) return [reason('cluster-busy', `cluster "${state.id}" is busy: ${busy}; approve the step again when it is done`)];
  // Control plane first: its TenantControlPlane is applied once, at creation; workers upgraded alone would run kubelets newer than their API server.
  if (state.model === 'hosted-control-plane') {
    return [reason('upgrade-unsupported', `cluster "${state.id}" has a hosted control plane, which is not upgraded in place yet: its workers cannot go ahead of it, so the step is not taken`, 'toVersion')];
  }
  const reasons: ProvisionerReason[] = [];
  const step = checkControlPlaneStep(state.kubernetesVersion, command.toVersion);
  if (!step.allowed) reasons.push(reason(policyReason(step.code), step.reason, 'toVersion'));
  const compatible = isCompatible(command.toVersion, command.release, command.matrix ?? defaultSupportMatrix);
  if (!compatible.allowed) reasons.push(reason(policyReason(compatible.code), compatible.reason, 'toVersion'));
  if (step.allowed) {
    // Control plane first: every kubelet must still be within skew of the new API server.
    for (const machine of state.machines) {
      if (machine.kubeletVersion === null) continue;
      const skew = checkKubeletSkew(command.toVersion, machine.kubeletVersion);
      if (!skew.allowed) reasons.push(reason(policyReason(skew.code), `node ${machine.name}: ${skew.reason}`, 'toVersion'));
    }
  }
  return reasons;
}

function policyReason(code: string): ReasonCode {
  switch (code) {
    case 'version-invalid':
    case 'version-prerelease':
    case 'release-unknown':
    case 'major-version-mismatch':
    case 'control-plane-skips-minor':
    case 'control-plane-downgrade':
    case 'incompatible':
    case 'kubelet-too-old':
    case 'kubelet-newer-than-api-server':
      return code;
    default:
      return 'version-invalid';
  }
}

/** A user's host reports the new version: it is upgraded (the caller settles what follows). */
export function nodeUpgraded(command: ObserveMachine, machine: MachineState, kubeletVersion: string): ClusterEvent[] {
  if (!machine.upgrade) return [];
  return [{ type: 'MachineUpgraded', clusterId: command.clusterId, machine: machine.name, at: command.at, kubernetesVersion: machine.upgrade.toVersion, kubeletVersion }];
}

/** A user's host did not upgrade: the step stops there; machines already moved stay moved. */
export function nodeUpgradeFailed(command: ObserveMachine, state: ClusterState, machine: MachineState, message: string): ClusterEvent[] {
  if (!machine.upgrade || state.operation?.kind !== 'upgrade') return [];
  const failure = reason('machine-failed', `node ${machine.name} did not upgrade to ${machine.upgrade.toVersion}: ${message}`);
  return [{ type: 'UpgradeFailed', ...upgradeFacts(state, state.operation, command.at), reasons: [failure] }];
}

/** One machine at a time: control plane first, then the workers pool by pool. */
export function upgradeProgress(state: ClusterState, operation: Extract<ClusterOperation, { kind: 'upgrade' }>, at: string): ClusterEvent[] {
  const inFlight = state.machines.some((machine) => machine.upgrade !== null || machine.replaces?.reason === 'upgrade' || machine.removal?.replaceReason === 'upgrade' || machine.phase !== 'Running');
  if (inFlight) return [];
  const next = upgradeOrder(state).find((machine) => !sameVersion(machine.kubernetesVersion, operation.toVersion));
  if (!next) {
    const after = { ...state, kubernetesVersion: operation.toVersion };
    return [{ type: 'ClusterUpgraded', ...upgradeFacts(state, operation, at), toVersion: apiServerVersion(after) }];
  }
  if (next.host !== null) {
    const first = next.role === 'control-plane' && !state.machines.some((machine) => machine.role === 'control-plane' && sameVersion(machine.kubernetesVersion, operation.toVersion));
    return [{ type: 'MachineUpgradeStarted', clusterId: state.id, machine: next.name, toVersion: operation.toVersion, first, at }];
  }
  return [{ type: 'MachinesAdded', clusterId: state.id, machines: [replacementFor(state, next, 'upgrade', operation.toVersion)], at }];
}

export function upgradeOrder(state: ClusterState): MachineState[] {
  const poolIndex = (machine: MachineState) => (machine.role === 'control-plane' ? -1 : state.spec.nodePools.findIndex((pool) => pool.name === machine.pool));
  return state.machines
    .map((machine, ordinal) => ({ machine, ordinal }))
    .sort((a, b) => poolIndex(a.machine) - poolIndex(b.machine) || a.ordinal - b.ordinal)
    .map(({ machine }) => machine);
}

export function upgradeFacts(state: ClusterState, operation: Extract<ClusterOperation, { kind: 'upgrade' }>, at: string): UpgradeFacts {
  return {
    clusterId: state.id,
    model: state.model,
    planId: operation.planId,
    fromVersion: operation.fromVersion,
    toVersion: operation.toVersion,
    ...(operation.policyRevision === undefined ? {} : { policyRevision: operation.policyRevision }),
    at,
  };
}
