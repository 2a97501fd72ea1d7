import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { FleetCluster } from '@flotilla/contracts';
import { toFleetCluster } from '../domain/fleet-entry.js';
import { FleetSnapshot } from '../domain/fleet-snapshot.js';
import { FleetRepository } from '../repositories/fleet.repository.js';

/**
 * The plannable fleet in memory, kept in step with the fleet_clusters table. PostgreSQL stays the
 * source of truth (fact handlers write there, and with several replicas each one handles only
 * part of the facts); this view reads what was committed since its last look, so planning a fleet
 * of 100,000 never reads 100,000 rows again.
 */
@Injectable()
export class FleetView implements OnModuleInit {
  private readonly snapshot = new FleetSnapshot();
  private watermark: string | null = null;
  private running: Promise<number> | undefined;
  private queued: Promise<number> | undefined;
  private loading: Promise<number> | undefined;

  constructor(@Inject(FleetRepository) private readonly repository: FleetRepository) {}

  onModuleInit(): Promise<number> {
    return (this.loading ??= this.refresh());
  }

  /**
   * Brings the view up to date with everything committed before the call; resolves with how many
   * plannable clusters changed. Calls made while a refresh runs share the next one.
   */
  refresh(): Promise<number> {
    if (this.queued) return this.queued;
    const previous = this.running ?? Promise.resolve(0);
    const next: Promise<number> = previous
      .catch(() => 0)
      .then(() => {
        this.queued = undefined;
        this.running = next;
        return this.scan();
      })
      .finally(() => {
        if (this.running === next) this.running = undefined;
      });
    this.queued = next;
    return next;
  }

  private async scan(): Promise<number> {
    let changed = 0;
    this.watermark = await this.repository.scanChanges(this.watermark, (entry) => {
      if (this.snapshot.apply(entry.id, toFleetCluster(entry))) changed++;
    });
    return changed;
  }

  /** The planner's input, sorted by id. */
  clusters(): readonly FleetCluster[] {
    return this.snapshot.clusters();
  }

  get(id: string): FleetCluster | undefined {
    return this.snapshot.get(id);
  }

  /** Ids whose planner input changed after `generation` (see FleetSnapshot.changedSince). */
  changedSince(generation: number): string[] | undefined {
    return this.snapshot.changedSince(generation);
  }

  /** Changes whenever the planner's input changes. */
  get generation(): number {
    return this.snapshot.generation;
  }

  get size(): number {
    return this.snapshot.size;
  }
}
