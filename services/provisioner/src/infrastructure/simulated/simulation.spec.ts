import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { simulatedFailure } from './simulation.js';

describe('simulated failures', () => {
  it('are a function of seed and machine: the same every time, whatever the order', () => {
    const names = Array.from({ length: 200 }, (_, index) => `m-${index}`);
    const first = names.map((name) => simulatedFailure('seed-a', 'c1', name, 0.3));
    const reversed = [...names].reverse().map((name) => simulatedFailure('seed-a', 'c1', name, 0.3)).reverse();
    assert.deepEqual(first, reversed);
    const otherSeed = names.map((name) => simulatedFailure('seed-b', 'c1', name, 0.3));
    assert.notDeepEqual(first, otherSeed);
  });

  it('follow the rate', () => {
    const draws = Array.from({ length: 10_000 }, (_, index) => simulatedFailure('flotilla', `c${index % 100}`, `m-${index}`, 0.2));
    const share = draws.filter(Boolean).length / draws.length;
    assert.ok(share > 0.18 && share < 0.22, `share ${share}`);
  });

  it('0 never fails, 1 always does', () => {
    assert.equal(simulatedFailure('s', 'c', 'm', 0), false);
    assert.equal(simulatedFailure('s', 'c', 'm', 1), true);
  });
});
