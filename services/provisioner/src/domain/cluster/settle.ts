import type { ProvisionerReason } from '../reasons.js';
import type { ClusterEvent } from './events.js';
import { apply } from './evolve.js';
import { spareFailed } from './host-remediation.js';
import { scaleProgress } from './scaling.js';
import type { ClusterState } from './state.js';
import { upgradeFacts, upgradeProgress } from './upgrade.js';

/**
 * The events plus whatever they set in motion, until nothing more follows: a replacement that
 * runs releases the machine it replaces, a released machine ends a scale, an upgrade takes its
 * next machine, the last machine of a deleted cluster completes the deletion.
 */
export function settle(state: ClusterState, events: ClusterEvent[], at: string): ClusterEvent[] {
  const all = [...events];
  let current = apply(state, events);
  // Each step changes what the next one sees; the bound only guards against a bug looping.
  for (let round = 0; round < 1000; round++) {
    const next = progress(current, at);
    if (next.length === 0) return all;
    all.push(...next);
    current = apply(current, next);
  }
  throw new Error(`cluster "${state.id}": lifecycle did not settle`);
}

/** What the state sets going next, if anything: one step at a time. */
function progress(state: ClusterState, at: string): ClusterEvent[] {
  const clusterId = state.id;
  // The last machine of a deleted cluster is released: the deletion is complete.
  if (state.phase === 'Deleting') return state.machines.length === 0 ? [{ type: 'ClusterDeleted', clusterId, model: state.model, at }] : [];
  if (state.phase !== 'Running') return [];

  // A replacement that runs takes its machine's place: the old one is drained and released.
  for (const machine of state.machines) {
    if (machine.replaces === null || machine.phase !== 'Running') continue;
    const old = state.machines.find((candidate) => candidate.name === machine.replaces?.machine);
    if (old && old.phase !== 'Deleting') {
      return [{ type: 'MachineRemovalStarted', clusterId, machine: old.name, removal: { reason: 'replaced', replacedBy: machine.name, replaceReason: machine.replaces.reason }, at }];
    }
  }
  // A machine that failed once the cluster runs is released; an upgrade that needed it stops.
  const failed = state.machines.find((machine) => machine.phase === 'Failed');
  if (failed) {
    const events: ClusterEvent[] = [{ type: 'MachineRemovalStarted', clusterId, machine: failed.name, removal: { reason: 'failed' }, at }, ...spareFailed(state, failed, at)];
    if (state.operation?.kind === 'upgrade' && failed.replaces?.reason === 'upgrade') {
      events.push({ type: 'UpgradeFailed', ...upgradeFacts(state, state.operation, at), reasons: [failed.failureReason as ProvisionerReason] });
    }
    return events;
  }

  const operation = state.operation;
  if (operation?.kind === 'scale') return scaleProgress(state, operation, at);
  if (operation?.kind === 'upgrade') return upgradeProgress(state, operation, at);
  return [];
}
