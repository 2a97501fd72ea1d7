import { setTimeout as sleep } from 'node:timers/promises';
import { CloudError } from './errors.js';

/**
 * How fast calls may go to one cloud account: a token bucket of `burst` requests refilled at
 * `perSecond`. Kept below the cloud's own limit, so the cloud never has to say no: a cloud that
 * throttles (EKS, ARM, GKE all do, per account) answers 429 to every cluster of the account, and
 * each refused call is a request spent for nothing and a step to take again.
 */
export interface RequestRate {
  perSecond: number;
  burst: number;
}

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

/**
 * One account's request budget: every call takes a token first, in the order they asked, waiting
 * for it when the bucket is empty. A 429 that comes anyway (another client of the account spent
 * it) holds every call back until the cloud's Retry-After has passed.
 */
export class RequestBudget {
  private tokens: number;
  private at: number;
  /** No call before this (ms on the budget's clock): a Retry-After heard. */
  private heldUntil = 0;
  /** The tail of the queue: each caller waits for the one before it, so tokens go out in order. */
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;
  private taken = 0;

  constructor(
    readonly rate: RequestRate,
    private readonly clock: BudgetClock = realClock,
  ) {
    if (!(rate.perSecond > 0) || !Number.isFinite(rate.perSecond)) throw new Error(`request rate perSecond must be a positive number, not ${rate.perSecond}`);
    if (!(rate.burst >= 1) || !Number.isFinite(rate.burst)) throw new Error(`request rate burst must be at least 1, not ${rate.burst}`);
    this.tokens = rate.burst;
    this.at = clock.now();
  }

  /** Calls waiting for a token now, and tokens taken so far (for logs and tests). */
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
      this.tokens -= 1;
      this.taken += 1;
    } finally {
      this.waiting -= 1;
      release();
    }
  }

  /** The cloud throttled anyway: nothing goes out for `retryAfterMs`, and the bucket starts empty after. */
  hold(retryAfterMs: number): void {
    if (!(retryAfterMs > 0) || !Number.isFinite(retryAfterMs)) return;
    const until = this.clock.now() + retryAfterMs;
    if (until <= this.heldUntil) return;
    this.heldUntil = until;
    this.tokens = 0;
    this.at = until;
  }

  /** Ms until a token is there (0: now). */
  private waitMs(): number {
    const now = this.clock.now();
    if (now < this.heldUntil) return this.heldUntil - now;
    if (now > this.at) {
      this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.at) / 1000) * this.rate.perSecond);
      this.at = now;
    }
    if (this.tokens >= 1) return 0;
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.rate.perSecond) * 1000));
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
