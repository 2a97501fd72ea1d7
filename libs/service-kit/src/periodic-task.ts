import type { LoggerService } from '@nestjs/common';

const MAX_BACKOFF_MS = 30_000;

/**
 * A background loop, like a Kubernetes controller's: runs `round` again at once while it finds
 * work, every `intervalMs` while idle, backing off while it fails (database down). One round at a
 * time per process; rounds must be safe to run on several replicas at once.
 */
export class PeriodicTask {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    /** Does one round of work; returns how many items it handled. */
    private readonly round: (signal: AbortSignal) => Promise<number>,
    private readonly logger: LoggerService,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** There is work now: do not wait for the interval. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Aborts the round under way (its signal fires) and waits for it to end. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.abort.abort(new Error(`${this.name} stopping`));
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let handled = 0;
      try {
        handled = await this.round(this.abort.signal);
        failures = 0;
      } catch (error) {
        failures += 1;
        this.logger.warn({ msg: `${this.name} round failed; will retry`, error: error instanceof Error ? error.message : String(error), failures });
      }
      if (!this.running) break;
      if (handled > 0 && failures === 0) continue;
      const delay = failures > 0 ? Math.min(MAX_BACKOFF_MS, this.intervalMs * 2 ** Math.min(failures, 10)) : this.intervalMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }
}
