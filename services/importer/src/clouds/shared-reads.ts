import { setAtMost } from './bounded-map.js';

/** An answer of a list call, and when the call was made (ms on the reader's clock). */
export interface SharedAnswer<T> {
  value: T;
  sentAt: number;
}

/**
 * One list call's answer shared by every reader of the same key for a while: a hundred clusters of
 * one location are watched with one call at the cloud instead of a hundred. A reader says how old
 * an answer may be at most (`maxAgeMs`) and the time it must have been asked after (`notBefore`:
 * a change we made since, which an older answer cannot show). Reads that come while a call is under
 * way wait for it when it is recent enough; a failed call is shared by those waiting, not kept.
 */
export class SharedReads<T> {
  private readonly entries = new Map<string, { sentAt: number; answer: Promise<T> }>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly clock: () => number = () => performance.now(),
    /** Keys kept at most (one per account and place). */
    private readonly maxKeys = 1_000,
  ) {}

  now(): number {
    return this.clock();
  }

  async read(key: string, notBefore: number, fetch: () => Promise<T>): Promise<SharedAnswer<T>> {
    const now = this.clock();
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.sentAt >= Math.max(now - this.maxAgeMs, notBefore)) return { value: await entry.answer, sentAt: entry.sentAt };
    const made = { sentAt: now, answer: fetch() };
    setAtMost(this.entries, key, made, this.maxKeys);
    try {
      return { value: await made.answer, sentAt: made.sentAt };
    } catch (error) {
      if (this.entries.get(key) === made) this.entries.delete(key);
      throw error;
    }
  }
}

/**
 * When we last changed something of each cluster (ms on the same clock): reads of it must be asked
 * after that. Clusters never changed by this process read as changed when it started, as their
 * changes by an earlier process are.
 */
export class ChangeTimes {
  private readonly times = new Map<string, number>();
  private readonly since: number;

  constructor(
    private readonly clock: () => number = () => performance.now(),
    private readonly maxKeys = 10_000,
  ) {
    this.since = clock();
  }

  changed(key: string): void {
    this.times.delete(key);
    setAtMost(this.times, key, this.clock(), this.maxKeys);
  }

  /** The time a read of `key` must have been asked after. */
  notBefore(key: string): number {
    return this.times.get(key) ?? this.since;
  }
}
