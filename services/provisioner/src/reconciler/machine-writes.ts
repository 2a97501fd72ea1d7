import { machineWork, type ClusterState, type MachineWork } from '../domain/cluster/index.js';
import type { ClaimRelease, MachineInsert, MachineWrite } from '../repositories/cluster.repository.js';

/** What a claimer learnt about a machine it worked on: when it wants to look again, and its error streak. */
export interface ClaimOutcome {
  owner: string;
  retryInMs: number;
  providerErrors: number;
  lastError: string | null;
}

/** Everything to write after clusters moved from `before` to `after`. */
export interface ClusterChanges {
  clusters: ClusterState[];
  inserts: { clusterId: string; machines: MachineInsert[] }[];
  deletes: { clusterId: string; name: string }[];
  writes: MachineWrite[];
}

/**
 * The rows that changed, by machine name, and when each machine is due next: new work is due
 * now (a health check after one interval); a machine whose work did not change keeps its
 * claimer's retry time, or its place in the queue.
 */
export function changesBetween(
  before: ReadonlyMap<string, ClusterState | undefined>,
  after: ReadonlyMap<string, ClusterState>,
  at: Date,
  healthCheckMs: number,
  claimed: ReadonlyMap<string, ClaimOutcome> = new Map(),
): ClusterChanges {
  const changes: ClusterChanges = { clusters: [], inserts: [], deletes: [], writes: [] };
  const dueFor = (work: MachineWork): Date => new Date(at.getTime() + (work === 'health-check' ? healthCheckMs : 0));
  for (const [id, state] of after) {
    const previous = before.get(id);
    if (state !== previous) changes.clusters.push(state);
    const old = new Map((previous?.machines ?? []).map((machine) => [machine.name, machine]));
    const added: MachineInsert[] = [];
    for (const machine of state.machines) {
      const work = machineWork(state, machine);
      const was = old.get(machine.name);
      if (!was || !previous) {
        added.push({ machine, dueAt: work === 'none' ? null : dueFor(work) });
        continue;
      }
      const workBefore = machineWork(previous, was);
      const outcome = claimed.get(`${id}/${machine.name}`);
      if (!outcome && machine === was && work === workBefore) continue;
      const write: MachineWrite = { clusterId: id, machine, active: work !== 'none' };
      if (outcome) write.release = release(outcome, work === workBefore ? new Date(at.getTime() + outcome.retryInMs) : dueFor(work));
      if (work !== workBefore && work !== 'none') write.dueAt = dueFor(work);
      changes.writes.push(write);
    }
    if (added.length > 0) changes.inserts.push({ clusterId: id, machines: added });
    const kept = new Set(state.machines.map((machine) => machine.name));
    for (const machine of previous?.machines ?? []) if (!kept.has(machine.name)) changes.deletes.push({ clusterId: id, name: machine.name });
  }
  return changes;
}

function release(outcome: ClaimOutcome, nextReconcileAt: Date): ClaimRelease {
  return { owner: outcome.owner, nextReconcileAt, providerErrors: outcome.providerErrors, lastError: outcome.lastError };
}


