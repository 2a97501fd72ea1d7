import type { ClusterProgress, EventData } from '@flotilla/contracts';
import type { ClusterState, MachineState } from './cluster/index.js';

export type ProgressReport = Omit<EventData<typeof ClusterProgress>, 'requestEventId'>;

/**
 * Where the work on a cluster stands, as the rest of the platform sees it (ClusterProgress):
 * its phase, machines ready of total for the control plane and each node pool (machines being
 * released are not counted: during a scale-down the total is already the target), and the
 * operation under way.
 */
export function progressOf(state: ClusterState): ProgressReport {
  const live = state.machines.filter((machine) => machine.phase !== 'Deleting');
  const pools = [...new Set([...state.spec.nodePools.map((pool) => pool.name), ...live.flatMap((machine) => (machine.role === 'worker' && machine.pool !== null ? [machine.pool] : []))])].sort();
  const { operation } = state;
  return {
    model: state.model,
    phase: state.phase,
    controlPlane: count(live.filter((machine) => machine.role === 'control-plane')),
    nodePools: pools.map((pool) => ({ pool, ...count(live.filter((machine) => machine.role === 'worker' && machine.pool === pool)) })),
    operation:
      operation === null
        ? null
        : operation.kind === 'scale'
          ? { kind: 'scale', pool: operation.pool, from: operation.from, to: operation.to }
          : operation.kind === 'upgrade'
            ? { kind: 'upgrade', planId: operation.planId, fromVersion: operation.fromVersion, toVersion: operation.toVersion }
            : { kind: 'delete' },
  };
}

/** A Running node whose health check has not found it NotReady. */
function count(machines: readonly MachineState[]): { ready: number; total: number } {
  return { ready: machines.filter((machine) => machine.phase === 'Running' && machine.unhealthySince === null).length, total: machines.length };
}

/** Whether two reports say the same (only a change is worth an event). */
export function sameProgress(a: ProgressReport | undefined, b: ProgressReport): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
