import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer } from './coalescer.js';

describe('Coalescer', () => {
  it('answers the calls of one turn with one batch, each with its own value, in order', async () => {
    const batches: number[][] = [];
    const doubled = new Coalescer<number, number>(async (keys) => {
      batches.push(keys);
      return keys.map((key) => key * 2);
    });
    assert.deepEqual(await Promise.all([doubled.load(1), doubled.load(2), doubled.load(3)]), [2, 4, 6]);
    assert.deepEqual(await doubled.load(4), 8);
    assert.deepEqual(batches, [[1, 2, 3], [4]]);
  });

  it('answers calls made while a batch is in flight with one batch after it', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const doubled = new Coalescer<number, number>(async (keys) => {
      batches.push(keys);
      if (batches.length === 1) await gate;
      return keys.map((key) => key * 2);
    });
    const first = doubled.load(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [doubled.load(2), doubled.load(3)];
    await new Promise((resolve) => setImmediate(resolve));
    const last = doubled.load(4);
    assert.deepEqual(batches, [[1]]);
    release();
    assert.deepEqual(await Promise.all([first, ...later, last]), [2, 4, 6, 8]);
    assert.deepEqual(batches, [[1], [2, 3, 4]]);
  });

  it('fails every call of a batch that fails, and the next batch starts afresh', async () => {
    let fail = true;
    const flaky = new Coalescer<string, string>(async (keys) => {
      if (fail) throw new Error('database gone');
      return keys.map((key) => key.toUpperCase());
    });
    const results = await Promise.allSettled([flaky.load('a'), flaky.load('b')]);
    assert.deepEqual(results.map((result) => result.status), ['rejected', 'rejected']);
    fail = false;
    assert.equal(await flaky.load('c'), 'C');
  });
});
