import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RequestBudget, RequestBudgets, type BudgetClock, type RequestRate } from './request-budget.js';

/** A clock that moves only when a caller sleeps: the budget's waits are read off it. */
function fakeClock(): BudgetClock & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
      await Promise.resolve();
    },
  };
}

/** When each of `count` calls one after the other went out, on a fake clock. */
async function takenAt(rate: RequestRate, count: number): Promise<number[]> {
  const clock = fakeClock();
  const budget = new RequestBudget(rate, clock);
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    await budget.take();
    times.push(clock.now());
  }
  return times;
}

const mostWithinASecond = (times: number[]) => Math.max(...times.map((start) => times.filter((time) => time >= start && time < start + 1_000).length));

describe('an account request budget', () => {
  it('lets a burst through at once, then one request per 1/rate second, in the order they asked', async () => {
    const clock = fakeClock();
    const budget = new RequestBudget({ perSecond: 10, burst: 3 }, clock);
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3, 4].map(async (index) => {
      await budget.take();
      order.push(index);
    }));
    assert.deepEqual(order, [0, 1, 2, 3, 4]);
    // Three from the burst, then 100 ms for each of the other two.
    assert.equal(clock.now(), 200);
    assert.deepEqual(budget.stats(), { waiting: 0, taken: 5 });
  });

  it('never lets more through in a second than the burst and a second of refill', async () => {
    const times = await takenAt({ perSecond: 90, burst: 8 }, 300);
    assert.ok(mostWithinASecond(times) <= 98, `more than 98 within a second: ${mostWithinASecond(times)}`);
  });

  it('in a window: the whole of it at once, then each call when the one that many before it leaves the window', async () => {
    const times = await takenAt({ requests: 100, windowMs: 1_000 }, 250);
    // A fleet's first hundred calls go at once; the bucket of the same rate (90/8) lets eight through.
    assert.equal(times.filter((time) => time === 0).length, 100);
    assert.deepEqual([times[100], times[199], times[200]], [1_000, 1_000, 2_000]);
    assert.equal(mostWithinASecond(times), 100);
  });

  it('in a window, after a Retry-After: the window starts over when it ends', async () => {
    const clock = fakeClock();
    const budget = new RequestBudget({ requests: 2, windowMs: 1_000 }, clock);
    await budget.take();
    budget.hold(300);
    await budget.take();
    await budget.take();
    assert.equal(clock.now(), 300);
    await budget.take();
    assert.equal(clock.now(), 1_300);
  });

  it('holds every call for a Retry-After the cloud gave anyway, starting empty after it', async () => {
    const clock = fakeClock();
    const budget = new RequestBudget({ perSecond: 10, burst: 10 }, clock);
    await budget.take();
    budget.hold(2_000);
    await budget.take();
    // Two seconds held, then a token's refill (100 ms): the bucket was emptied by the 429.
    assert.equal(clock.now(), 2_100);
    budget.hold(Number.NaN);
    budget.hold(-5);
    await budget.take();
    assert.equal(clock.now(), 2_200);
  });

  it('gives up waiting when the caller aborts', async () => {
    const budget = new RequestBudget({ perSecond: 0.001, burst: 1 });
    await budget.take();
    const abort = new AbortController();
    const waiting = budget.take(abort.signal);
    abort.abort(new Error('step over'));
    await assert.rejects(waiting, /step over/);
  });

  it('refuses a rate that lets nothing through', () => {
    assert.throws(() => new RequestBudget({ perSecond: 0, burst: 1 }), /perSecond must be a positive number/);
    assert.throws(() => new RequestBudget({ perSecond: 1, burst: 0.5 }), /burst must be at least 1/);
    assert.throws(() => new RequestBudget({ requests: 0, windowMs: 1_000 }), /requests must be a whole number/);
    assert.throws(() => new RequestBudget({ requests: 10, windowMs: 0 }), /windowMs must be a positive number/);
  });

  it('one budget per account and scope, shared by every caller of them', () => {
    const budgets = new RequestBudgets({ perSecond: 5, burst: 5 });
    assert.equal(budgets.for('AKIA1', 'eu-west-1'), budgets.for('AKIA1', 'eu-west-1'));
    assert.notEqual(budgets.for('AKIA1', 'eu-west-1'), budgets.for('AKIA1', 'us-east-1'));
    assert.notEqual(budgets.for('AKIA1', 'eu-west-1'), budgets.for('AKIA2', 'eu-west-1'));
  });
});
