import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChangeTimes, SharedReads } from './shared-reads.js';

describe('a list call shared by the clusters of one place', () => {
  it('serves every read within its age from one call, the ones during the call included', async () => {
    let now = 1_000;
    const reads = new SharedReads<string[]>(100, () => now);
    let calls = 0;
    const list = async () => {
      calls += 1;
      await Promise.resolve();
      return [`answer ${calls}`];
    };
    const [a, b] = await Promise.all([reads.read('rg', 0, list), reads.read('rg', 0, list)]);
    now += 100;
    const c = await reads.read('rg', 0, list);
    assert.deepEqual([a.value, b.value, c.value, calls], [['answer 1'], ['answer 1'], ['answer 1'], 1]);
    now += 1;
    assert.deepEqual((await reads.read('rg', 0, list)).value, ['answer 2']);
    assert.deepEqual((await reads.read('other', 0, list)).value, ['answer 3']);
  });

  it('never serves an answer asked before the time the reader needs (a change of ours since)', async () => {
    let now = 0;
    const reads = new SharedReads<number>(10_000, () => now);
    let calls = 0;
    const list = () => Promise.resolve(++calls);
    assert.equal((await reads.read('place', 0, list)).value, 1);
    now = 50;
    const after = await reads.read('place', 40, list);
    assert.deepEqual(after, { value: 2, sentAt: 50 });
    assert.equal((await reads.read('place', 50, list)).value, 2);
  });

  it('shares a failed call with those waiting on it, and keeps nothing of it', async () => {
    const reads = new SharedReads<number>(10_000, () => 0);
    let calls = 0;
    const failing = () => Promise.reject(new Error(`refused ${++calls}`));
    const results = await Promise.allSettled([reads.read('place', 0, failing), reads.read('place', 0, failing)]);
    assert.deepEqual(results.map((result) => (result.status === 'rejected' ? (result.reason as Error).message : 'ok')), ['refused 1', 'refused 1']);
    assert.equal((await reads.read('place', 0, () => Promise.resolve(7))).value, 7);
  });

  it('a cluster changed here needs reads after the change; one never changed here, reads after this process started', () => {
    let now = 10;
    const changes = new ChangeTimes(() => now);
    assert.equal(changes.notBefore('rg/alpha'), 10);
    now = 25;
    changes.changed('rg/alpha');
    assert.equal(changes.notBefore('rg/alpha'), 25);
    assert.equal(changes.notBefore('rg/beta'), 10);
  });
});
