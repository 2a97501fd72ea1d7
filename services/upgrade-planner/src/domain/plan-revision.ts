import { diffPlans, planGlobalUpgrade, type FleetCluster, type SupportMatrix, type UpgradePlan } from '@flotilla/contracts';

export interface PlanParameters {
  fromRelease: string;
  toRelease: string;
  maxConcurrency: number;
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
