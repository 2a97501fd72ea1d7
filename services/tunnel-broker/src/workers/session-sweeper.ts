import { PeriodicTask } from '@flotilla/service-kit';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { TunnelSessions } from '../sessions/tunnel-sessions.js';

export interface SweeperSettings {
  intervalMs: number;
  batch: number;
  retentionMs: number;
}

export const SWEEPER_SETTINGS = Symbol('SweeperSettings');

const PRUNE_EVERY_MS = 60_000;

/** Expires sessions whose agent stopped sending heartbeats, and forgets long-ended ones. */
@Injectable()
export class SessionSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SessionSweeper.name);
  private readonly task: PeriodicTask;
  private lastPrune = 0;

  constructor(
    @Inject(TunnelSessions) private readonly sessions: TunnelSessions,
    @Inject(SWEEPER_SETTINGS) private readonly settings: SweeperSettings,
  ) {
    this.task = new PeriodicTask('session sweeper', settings.intervalMs, () => this.round(), this.logger);
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }

  async round(): Promise<number> {
    const expired = await this.sessions.sweep(this.settings.batch);
    if (Date.now() - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      const pruned = await this.sessions.prune(this.settings.retentionMs);
      if (pruned > 0) this.logger.log({ msg: 'ended sessions pruned', pruned });
    }
    return expired;
  }
}
