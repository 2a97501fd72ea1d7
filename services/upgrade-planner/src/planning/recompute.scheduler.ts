import { AsyncResource } from 'node:async_hooks';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { UPGRADE_PLANNER_CONFIG, type UpgradePlannerConfig } from '../config.js';
import { Debouncer } from '../domain/debounce.js';
import { FleetView } from './fleet-view.js';
import { PlanService } from './plan.service.js';
import { SupportMatrixStore } from './support-matrix.store.js';

/**
 * Decides when open plans are recomputed: after a quiet period following fleet or matrix changes
 * (never once per event), and when the periodic look at the fleet table finds changes committed
 * by another replica.
 */
@Injectable()
export class RecomputeScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RecomputeScheduler.name);
  private readonly debouncer: Debouncer;
  private poll: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private polling = false;

  constructor(
    @Inject(PlanService) private readonly plans: PlanService,
    @Inject(FleetView) private readonly fleet: FleetView,
    @Inject(SupportMatrixStore) private readonly matrices: SupportMatrixStore,
    @Inject(UPGRADE_PLANNER_CONFIG) config: UpgradePlannerConfig,
  ) {
    // Nudges come from inside fact handlers, and timers inherit the async context they were set
    // in: without its own scope, a recompute would join the handler's (long finished) transaction.
    const scope = new AsyncResource('RecomputeScheduler');
    this.debouncer = new Debouncer(() => scope.runInAsyncScope(() => this.recompute()), {
      waitMs: config.PLAN_DEBOUNCE_MS,
      maxWaitMs: config.PLAN_MAX_DELAY_MS,
      onError: (error) => this.logger.error({ msg: 'recomputing open plans failed', error: String(error) }),
    });
    this.pollMs = config.PLAN_POLL_MS;
  }

  private readonly pollMs: number;

  onApplicationBootstrap(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.matrices.onChange(() => this.debouncer.nudge());
    this.poll = setInterval(() => void this.lookForChanges(), this.pollMs);
    this.poll.unref();
    // Plans may have gone stale while no replica was running.
    this.debouncer.nudge();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.poll);
    this.unsubscribe?.();
    await this.debouncer.stop();
  }

  /** A fact changed the fleet table (maybe not yet committed: the recompute comes after a quiet period). */
  fleetChanged(): void {
    this.debouncer.nudge();
  }

  /** Runs a pending recompute now; for tests and shutdown paths that cannot wait. */
  flush(): Promise<void> {
    return this.debouncer.flush();
  }

  private async recompute(): Promise<void> {
    const outcomes = await this.plans.recomputeOpen();
    const behind = [...outcomes].filter(([, outcome]) => outcome === 'behind').map(([id]) => id);
    if (behind.length > 0) this.logger.warn({ msg: 'plans use a newer support matrix than this replica has; left to the replica that has it', plans: behind });
  }

  private async lookForChanges(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      if ((await this.fleet.refresh()) > 0) this.debouncer.nudge();
    } catch (error) {
      this.logger.warn({ msg: 'fleet view refresh failed; will retry', error: String(error) });
    } finally {
      this.polling = false;
    }
  }
}
