import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Debouncer } from './debounce.js';

describe('debouncer (recompute after a quiet period, not per event)', () => {
  let clock = 0;
  const advance = async (ms: number) => {
    clock += ms;
    mock.timers.tick(ms);
    // Let the run started by the timer settle.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  beforeEach(() => {
    clock = 0;
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => mock.timers.reset());

  it('a burst of nudges gives one run, after the quiet period', async () => {
    let runs = 0;
    const debouncer = new Debouncer(async () => void runs++, { waitMs: 100, maxWaitMs: 1_000, now: () => clock });
    for (let i = 0; i < 1_000; i++) debouncer.nudge();
    await advance(99);
    assert.equal(runs, 0);
    await advance(1);
    assert.equal(runs, 1);
    await advance(5_000);
    assert.equal(runs, 1, 'nothing more without new nudges');
  });

  it('nudges that never stop still give a run every maxWaitMs', async () => {
    let runs = 0;
    const debouncer = new Debouncer(async () => void runs++, { waitMs: 100, maxWaitMs: 300, now: () => clock });
    for (let t = 0; t < 1_000; t += 50) {
      debouncer.nudge();
      await advance(50);
    }
    assert.ok(runs >= 3 && runs <= 4, `ran ${runs} times in 1 s of constant change`);
  });

  it('a nudge during a run schedules exactly one more run, never two at once', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    let release!: () => void;
    const debouncer = new Debouncer(
      async () => {
        running++;
        most = Math.max(most, running);
        runs++;
        if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
        running--;
      },
      { waitMs: 10, maxWaitMs: 100, now: () => clock },
    );
    debouncer.nudge();
    await advance(10);
    for (let i = 0; i < 10; i++) debouncer.nudge();
    await advance(50);
    assert.equal(runs, 1, 'the second run waits for the first');
    release();
    await advance(0);
    await advance(10);
    assert.equal(runs, 2);
    assert.equal(most, 1);
  });

  it('a failing run is reported and later nudges run again', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const debouncer = new Debouncer(
      async () => {
        runs++;
        if (runs === 1) throw new Error('database away');
      },
      { waitMs: 10, maxWaitMs: 100, now: () => clock, onError: (error) => errors.push(error) },
    );
    debouncer.nudge();
    await advance(10);
    debouncer.nudge();
    await advance(10);
    assert.equal(runs, 2);
    assert.equal(errors.length, 1);
  });

  it('after stop, nudges do nothing', async () => {
    let runs = 0;
    const debouncer = new Debouncer(async () => void runs++, { waitMs: 10, maxWaitMs: 100, now: () => clock });
    debouncer.nudge();
    await debouncer.stop();
    debouncer.nudge();
    await advance(1_000);
    assert.equal(runs, 0);
  });
});
