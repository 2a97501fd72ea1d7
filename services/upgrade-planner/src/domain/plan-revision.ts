import { diffPlans, FleetPlanner, planGlobalUpgrade, type FleetCluster, type SupportMatrix, type UpgradePlan } from '@flotilla/contracts';

export interface PlanParameters {
  fromRelease: string;
  toRelease: string;
  maxConcurrency: number;
  /** A Kubernetes minor to take clusters to; absent: the target release's newest for new clusters. */
  toVersion?: string;
}

export interface PlanRevisionInput {
  /** The fleet view's planner input, sorted by id. */
  fleet: readonly FleetCluster[];
  parameters: PlanParameters;
  matrix: SupportMatrix;
  /** The revision in force, when there is one: the changes are against it. */
  previous?: UpgradePlan;
}

/**
 * What every plan request and recompute computes: the plan for the fleet as it is now, and what
 * changed against the previous revision (nothing for a first revision). No changes means no new
 * revision.
 */
export function planRevision(input: PlanRevisionInput): { plan: UpgradePlan; changes: string[] } {
  const plan = planGlobalUpgrade({ fleet: input.fleet, ...input.parameters, matrix: input.matrix });
  return { plan, changes: input.previous ? summariseWaveShifts(diffPlans(input.previous, plan)) : [] };
}

/** The fleet as a kept plan reads it: the whole sorted input, or only what changed since a generation. */
export interface ChangingFleet {
  readonly generation: number;
  clusters(): readonly FleetCluster[];
  /** Ids whose input changed after `generation`; undefined when that is no longer known. */
  changedSince(generation: number): readonly string[] | undefined;
  get(id: string): FleetCluster | undefined;
}

/**
 * One plan kept up to date between revisions: when the parameters and the matrix are the ones
 * it last planned with, only the clusters whose facts changed since are re-planned
 * (FleetPlanner.update), and the changes against the revision it last gave are found among the
 * clusters the update touched. Anything else (new parameters, another matrix, a fleet log that no
 * longer reaches back) plans the whole fleet. Either way the plan is what planRevision gives.
 */
export class KeptPlan {
  private planner: FleetPlanner | undefined;
  private key = '';
  private matrix: SupportMatrix | undefined;
  private generation = -1;
  private last: UpgradePlan | undefined;

  revise(fleet: ChangingFleet, parameters: PlanParameters, matrix: SupportMatrix, previous?: UpgradePlan): { plan: UpgradePlan; changes: string[]; incremental: boolean } {
    const key = `${parameters.fromRelease}\u0000${parameters.toRelease}\u0000${parameters.maxConcurrency}\u0000${parameters.toVersion ?? ''}`;
    const lastPlan = this.last;
    const changedIds = this.planner && this.key === key && this.matrix === matrix ? fleet.changedSince(this.generation) : undefined;
    let plan: UpgradePlan;
    let only: ReadonlySet<string> | undefined;
    if (changedIds && lastPlan) {
      if (changedIds.length === 0) {
        plan = lastPlan;
        only = new Set();
      } else {
        const changed: FleetCluster[] = [];
        const removed: string[] = [];
        for (const id of changedIds) {
          const cluster = fleet.get(id);
          if (cluster) changed.push(cluster);
          else removed.push(id);
        }
        plan = this.planner!.update(changed, removed);
        only = this.planner!.changedIds();
      }
    } else {
      this.planner = new FleetPlanner({ ...parameters, matrix });
      this.key = key;
      this.matrix = matrix;
      plan = this.planner.plan(fleet.clusters());
    }
    this.generation = fleet.generation;
    this.last = plan;
    const incremental = only !== undefined;
    if (!previous) return { plan, changes: [], incremental };
    // The shortcut holds only against the very plan the update started from.
    const changes = diffPlans(previous, plan, previous === lastPlan ? only : undefined);
    return { plan, changes: summariseWaveShifts(changes), incremental };
  }
}

/** Beyond this many, clusters that only changed wave are summed up in one line. */
export const WAVE_SHIFT_DETAIL_LIMIT = 10;

const WAVE_ONLY = /^cluster (\S+): wave (\S+) -> (\S+)$/;

/**
 * Waves are refilled in order, so one cluster joining an early wave moves the last cluster of
 * every later wave along: hundreds of "wave 3 -> 4" lines that bury the change that caused them.
 * Past a few, they become one line (each cluster's wave is still in the plan).
 */
export function summariseWaveShifts(changes: string[]): string[] {
  const shifts = changes.filter((line) => WAVE_ONLY.test(line));
  if (shifts.length <= WAVE_SHIFT_DETAIL_LIMIT) return changes;
  const first = changes.indexOf(shifts[0]!);
  const example = WAVE_ONLY.exec(shifts[0]!)!;
  const summary = `${shifts.length} cluster(s) changed wave only, as waves were refilled (e.g. ${example[1]}: wave ${example[2]} -> ${example[3]})`;
  const rest = changes.filter((line) => !WAVE_ONLY.test(line));
  rest.splice(Math.min(first, rest.length), 0, summary);
  return rest;
}
