export interface DebounceOptions {
  /** Quiet time after the last nudge before the work runs. */
  waitMs: number;
  /** The work runs at most this long after the first nudge it has not handled, even while nudges keep coming. */
  maxWaitMs: number;
  now?: () => number;
  onError?: (error: unknown) => void;
}

/**
 * Coalesces many nudges into few runs of `work`: never two runs at once, and a nudge during a run
 * schedules exactly one more. The fleet can change thousands of times a second while clusters are
 * provisioned; plans are recomputed once per quiet period, not once per event.
 */
export class Debouncer {
  private timer: NodeJS.Timeout | undefined;
  private firstNudgeAt: number | undefined;
  private running: Promise<void> | undefined;
  private nudgedWhileRunning = false;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly work: () => Promise<void>,
    private readonly options: DebounceOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.nudgedWhileRunning = true;
      return;
    }
    const now = this.now();
    this.firstNudgeAt ??= now;
    const due = Math.min(now + this.options.waitMs, this.firstNudgeAt + this.options.maxWaitMs);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fire(), Math.max(0, due - now));
  }

  /** Runs now if anything is pending (or running), and resolves when done. */
  async flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      await this.fire();
    }
    await this.running;
  }

  /** No more runs; waits for the one under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    this.firstNudgeAt = undefined;
    if (this.stopped) return;
    this.running = this.work().catch((error: unknown) => this.options.onError?.(error));
    await this.running;
    this.running = undefined;
    if (this.nudgedWhileRunning) {
      this.nudgedWhileRunning = false;
      this.nudge();
    }
  }
}
