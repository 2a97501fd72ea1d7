import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LoggerService } from '@nestjs/common';
import { PeriodicTask } from './periodic-task.js';

function quietLogger(): LoggerService & { warnings: unknown[] } {
  const warnings: unknown[] = [];
  return { warnings, log: () => undefined, error: () => undefined, warn: (message: unknown) => warnings.push(message) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PeriodicTask', () => {
  it('goes straight on while rounds find work, then waits the interval when idle', async () => {
    const work = [3, 2, 1];
    let rounds = 0;
    const task = new PeriodicTask('test', 10_000, async () => {
      rounds += 1;
      return work.shift() ?? 0;
    }, quietLogger());
    task.start();
    await sleep(50);
    await task.stop();
    assert.equal(rounds, 4, 'three busy rounds back to back, one idle round, then the 10 s wait');
  });

  it('wake() cuts the idle wait short', async () => {
    let rounds = 0;
    const task = new PeriodicTask('test', 10_000, async () => {
      rounds += 1;
      return 0;
    }, quietLogger());
    task.start();
    await sleep(20);
    task.wake();
    await sleep(20);
    await task.stop();
    assert.equal(rounds, 2);
  });

  it('a failing round is logged and retried; the loop survives', async () => {
    const logger = quietLogger();
    let rounds = 0;
    const task = new PeriodicTask('test', 5, async () => {
      rounds += 1;
      if (rounds <= 2) throw new Error('database down');
      return 0;
    }, logger);
    task.start();
    await sleep(150);
    await task.stop();
    assert.ok(rounds >= 3, `rounds: ${rounds}`);
    assert.equal(logger.warnings.length, 2);
  });

  it('stop() aborts the round under way and waits for it to finish', async () => {
    let finished = false;
    const task = new PeriodicTask('test', 10_000, async (signal) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      await sleep(10);
      finished = true;
      return 1;
    }, quietLogger());
    task.start();
    await sleep(10);
    await task.stop();
    assert.equal(finished, true);
  });
});
