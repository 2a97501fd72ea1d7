import type { FleetCluster } from '@flotilla/contracts';

/**
 * The plannable fleet in memory, as the planner wants it: one FleetCluster per id, sorted by id
 * (the planner skips its own sort when the input is sorted). Changes of a cluster's facts replace
 * it in place; only clusters joining or leaving cost a re-sort, once, at the next read.
 */
export class FleetSnapshot {
  private readonly byId = new Map<string, FleetCluster>();
  private sorted: FleetCluster[] | undefined = [];
  private generationCounter = 0;
  /** Ids changed, by generation (the entry at i is generation logStart + i + 1); bounded, oldest dropped first. */
  private log: string[] = [];
  private logStart = 0;

  constructor(private readonly logLimit = 10_000) {}

  /** Increases with every change that could change a plan. */
  get generation(): number {
    return this.generationCounter;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Sets (or with undefined removes) a cluster; true when that changed the planner's input. */
  apply(id: string, cluster: FleetCluster | undefined): boolean {
    const current = this.byId.get(id);
    if (cluster === undefined) {
      if (current === undefined) return false;
      this.byId.delete(id);
      this.invalidateOrder();
      this.changed(id);
      return true;
    }
    if (current !== undefined && samePlannerInput(current, cluster)) return false;
    this.byId.set(id, cluster);
    if (current === undefined) {
      this.invalidateOrder();
    } else if (this.sorted !== undefined) {
      this.sorted[indexOf(this.sorted, id)] = cluster;
    }
    this.changed(id);
    return true;
  }

  /**
   * The ids whose planner input changed after `generation`, each once, or undefined when that is
   * further back than the log keeps (then plan from `clusters()`). A listed id that `get` does not
   * find left the fleet.
   */
  changedSince(generation: number): string[] | undefined {
    if (generation < this.logStart || generation > this.generationCounter) return undefined;
    return [...new Set(this.log.slice(generation - this.logStart))];
  }

  private changed(id: string): void {
    this.generationCounter++;
    this.log.push(id);
    if (this.log.length > this.logLimit * 2) {
      const drop = this.log.length - this.logLimit;
      this.log = this.log.slice(drop);
      this.logStart += drop;
    }
  }

  get(id: string): FleetCluster | undefined {
    return this.byId.get(id);
  }

  /** The planner's input. Later changes update this array in place: use it before awaiting anything, never mutate it. */
  clusters(): readonly FleetCluster[] {
    if (this.sorted === undefined) {
      // Default sort compares UTF-16 code units: the order the planner sorts by.
      this.sorted = [...this.byId.keys()].sort().map((id) => this.byId.get(id)!);
    }
    return this.sorted;
  }

  private invalidateOrder(): void {
    this.sorted = undefined;
  }
}

/** Position of a cluster known to be in the sorted list. */
function indexOf(sorted: readonly FleetCluster[], id: string): number {
  let low = 0;
  let high = sorted.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]!.id < id) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Everything the planner reads is equal: the cluster's plan cannot differ. */
function samePlannerInput(a: FleetCluster, b: FleetCluster): boolean {
  if (a.model !== b.model || a.controlPlaneVersion !== b.controlPlaneVersion || a.distribution !== b.distribution || a.platformRelease !== b.platformRelease) return false;
  if (a.nodePools.length !== b.nodePools.length) return false;
  return a.nodePools.every((pool, index) => pool.name === b.nodePools[index]!.name && pool.version === b.nodePools[index]!.version);
}
