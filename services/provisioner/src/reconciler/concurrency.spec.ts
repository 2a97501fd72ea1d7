import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapWithConcurrency } from './concurrency.js';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mapWithConcurrency', () => {
  it('never has more than the limit in flight, and keeps the input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await tick(n);
      inFlight -= 1;
      return n * 10;
    });
    assert.equal(peak, 3);
    assert.deepEqual(results, [50, 10, 40, 20, 30, 0, 60]);
  });

  it('starts nothing new once stopped, but lets running calls finish', async () => {
    let stop = false;
    const started: number[] = [];
    const results = await mapWithConcurrency([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      if (n === 2) stop = true;
      await tick(5);
      return n;
    }, () => stop);
    assert.deepEqual(started, [1, 2]);
    assert.deepEqual(results, [1, 2, undefined, undefined, undefined]);
  });

  it('handles an empty list', async () => {
    assert.deepEqual(await mapWithConcurrency([], 4, async (n: number) => n), []);
  });
});
