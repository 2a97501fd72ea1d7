import { setTimeout as sleep } from 'node:timers/promises';
import { CloudError } from './errors.js';

/**
 * How fast calls may go to one cloud account, kept below the cloud's own limit so the cloud never
 * has to say no: a cloud that throttles (EKS, ARM, GKE all do, per account) answers 429 to every
 * cluster of the account, and each refused call is a request spent for nothing and a step to take
 * again. Two shapes, as the clouds count: a token bucket of `burst` requests refilled at
 * `perSecond` (EKS, ARM), or at most `requests` in any `windowMs` (GKE's quotas are requests per
 * minute: a fleet's creates go out at once instead of a bucket's refill apart).
 */
export type RequestRate = { perSecond: number; burst: number } | { requests: number; windowMs: number };

/** A budget's clock and timers, replaceable in tests. */
export interface BudgetClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: BudgetClock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => Promise.reject(abortError(signal))),
};

function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new CloudError('cloud-unreachable', 'call aborted while waiting for the account request budget');
}

/** One shape of limit: how long until the next call may go, counting one, and starting over after a hold. */
interface Limiter {
  waitMs(now: number): number;
  took(now: number): void;
  /** Nothing may go out before `at`; from then the limit starts empty. */
  emptyAt(at: number): void;
}

class TokenBucket implements Limiter {
  private tokens: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private at: number,
  ) {
    if (!(perSecond > 0) || !Number.isFinite(perSecond)) throw new Error(`request rate perSecond must be a positive number, not ${perSecond}`);
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new Error(`request rate burst must be at least 1, not ${burst}`);
    this.tokens = burst;
  }

  waitMs(now: number): number {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
      this.at = now;
    }
    return this.tokens >= 1 ? 0 : Math.max(1, Math.ceil(((1 - this.tokens) / this.perSecond) * 1000));
  }

  took(): void {
    this.tokens -= 1;
  }

  emptyAt(at: number): void {
    this.tokens = 0;
    this.at = at;
  }
}

/** At most `requests` calls in any `windowMs`: the times of the last ones, oldest first. */
class SlidingWindow implements Limiter {
  private readonly times: number[] = [];

  constructor(
    private readonly requests: number,
    private readonly windowMs: number,
  ) {
    if (!(requests >= 1) || !Number.isInteger(requests)) throw new Error(`request rate requests must be a whole number of at least 1, not ${requests}`);
    if (!(windowMs > 0) || !Number.isFinite(windowMs)) throw new Error(`request rate windowMs must be a positive number, not ${windowMs}`);
  }

  waitMs(now: number): number {
    if (this.times.length < this.requests) return 0;
    return Math.max(0, Math.ceil(this.times[0]! + this.windowMs - now));
  }

  took(now: number): void {
    this.times.push(now);
    if (this.times.length > this.requests) this.times.shift();
  }

  emptyAt(): void {
    // The cloud's window has passed by the end of its Retry-After.
    this.times.length = 0;
  }
}

/**
 * One account's request budget: every call takes its place first, in the order they asked,
 * waiting for it when the limit is reached. A 429 that comes anyway (another client of the
 * account spent it) holds every call back until the cloud's Retry-After has passed.
 */
export class RequestBudget {
  private readonly limiter: Limiter;
  /** No call before this (ms on the budget's clock): a Retry-After heard. */
  private heldUntil = 0;
  /** The tail of the queue: each caller waits for the one before it, so calls go out in order. */
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;
  private taken = 0;

  constructor(
    readonly rate: RequestRate,
    private readonly clock: BudgetClock = realClock,
  ) {
    this.limiter = 'windowMs' in rate ? new SlidingWindow(rate.requests, rate.windowMs) : new TokenBucket(rate.perSecond, rate.burst, clock.now());
  }

  /** Calls waiting for their turn now, and calls let through so far (for logs and tests). */
  stats(): { waiting: number; taken: number } {
    return { waiting: this.waiting, taken: this.taken };
  }

  /** Waits until one request may go out, then counts it. */
  async take(signal?: AbortSignal): Promise<void> {
    const before = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    this.waiting += 1;
    try {
      await before;
      for (;;) {
        signal?.throwIfAborted();
        const wait = this.waitMs();
        if (wait <= 0) break;
        await this.clock.sleep(wait, signal);
      }
      this.limiter.took(this.clock.now());
      this.taken += 1;
    } finally {
      this.waiting -= 1;
      release();
    }
  }

  /** The cloud throttled anyway: nothing goes out for `retryAfterMs`, and the limit starts empty after. */
  hold(retryAfterMs: number): void {
    if (!(retryAfterMs > 0) || !Number.isFinite(retryAfterMs)) return;
    const until = this.clock.now() + retryAfterMs;
    if (until <= this.heldUntil) return;
    this.heldUntil = until;
    this.limiter.emptyAt(until);
  }

  /** Ms until a call may go (0: now). */
  private waitMs(): number {
    const now = this.clock.now();
    return now < this.heldUntil ? this.heldUntil - now : this.limiter.waitMs(now);
  }
}

/**
 * The budgets of one cloud, one per account and scope (an EKS region, an Azure subscription, a
 * Google project: where each cloud counts an account's requests), shared by every cluster and
 * every call of this process.
 */
export class RequestBudgets {
  private readonly budgets = new Map<string, RequestBudget>();

  constructor(
    readonly rate: RequestRate,
    private readonly clock?: BudgetClock,
  ) {}

  /** `account` identifies the credential without holding the secret (an access key id, a client id, an e-mail). */
  for(account: string, scope: string): RequestBudget {
    const key = `${account}\n${scope}`;
    let budget = this.budgets.get(key);
    if (budget === undefined) {
      budget = new RequestBudget(this.rate, this.clock);
      this.budgets.set(key, budget);
    }
    return budget;
  }
}
