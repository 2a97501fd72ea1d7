import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { PeriodicTask } from '@flotilla/service-kit';
import { FleetCounts } from '../repositories/fleet-counts.js';

/** How often the changes recorded by the projection are folded into the fleet's counts. */
export const COMPACT_EVERY_MS = 1_000;

/**
 * Keeps the counts' change log short: readers add what it holds to the counts, so its length is
 * what a read of the overview or a list total costs beyond the counts themselves.
 */
@Injectable()
export class FleetCountsCompactor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(FleetCountsCompactor.name);
  private readonly task: PeriodicTask;

  constructor(@Inject(FleetCounts) private readonly counts: FleetCounts) {
    // A steady pace, whatever a round folded: a busy projection's changes wait at most a second.
    this.task = new PeriodicTask('fleet counts compactor', COMPACT_EVERY_MS, async () => (await this.counts.compact(), 0), this.logger);
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }
}
