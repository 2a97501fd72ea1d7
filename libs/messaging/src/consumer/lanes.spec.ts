import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { headerRecord, Lanes, orderingKey, TransactionSlots } from './lanes.js';

describe('orderingKey', () => {
  it('is the ce-subject header, whatever its case, or empty without one', () => {
    const headers = natsHeaders();
    headers.set('Ce-Subject', 'cluster-42');
    assert.equal(orderingKey(headerRecord({ headers })), 'cluster-42');
    assert.equal(orderingKey(headerRecord({ headers: natsHeaders() })), '');
    assert.equal(orderingKey(headerRecord({ headers: undefined })), '');
  });
});

describe('headerRecord', () => {
  it('keeps the first value of each header under its lower-case name', () => {
    const headers = natsHeaders();
    headers.append('Ce-Id', 'first');
    headers.append('Ce-Id', 'second');
    headers.set('traceparent', '00-abc-def-01');
    assert.deepEqual(headerRecord({ headers }), { 'ce-id': 'first', traceparent: '00-abc-def-01' });
  });
});

/** Pushes `subject:n` items; the key is the part before the colon. */
function filled(batchSize: number, lanes: number, items: string[]): Lanes<string> {
  const queue = new Lanes<string>(batchSize, lanes);
  for (const item of items) queue.push(item, item.split(':')[0]!);
  return queue;
}

describe('Lanes', () => {
  it('runs one batch at a time under light load, so messages gather while it runs', () => {
    const queue = filled(10, 4, ['a:1']);
    const first = queue.next();
    assert.deepEqual(first?.items, ['a:1']);
    for (const item of ['b:1', 'c:1', 'd:1']) queue.push(item, item.charAt(0));
    assert.equal(queue.next(), undefined, 'less than a full batch waits for the running one');
    queue.done(first);
    assert.deepEqual(queue.next()?.items, ['b:1', 'c:1', 'd:1']);
  });

  it('runs up to `lanes` full batches at once under a backlog', () => {
    const queue = filled(2, 3, ['a:1', 'b:1', 'c:1', 'd:1', 'e:1', 'f:1', 'g:1', 'h:1']);
    assert.deepEqual(queue.next()?.items, ['a:1', 'b:1']);
    assert.deepEqual(queue.next()?.items, ['c:1', 'd:1']);
    assert.deepEqual(queue.next()?.items, ['e:1', 'f:1']);
    assert.equal(queue.next(), undefined, 'every lane busy');
    assert.equal(queue.inFlight, 3);
    assert.equal(queue.size, 2);
  });

  it('never runs one subject in two batches at once, and keeps its messages in order', () => {
    const queue = filled(2, 4, ['a:1', 'a:2', 'a:3', 'b:1', 'a:4', 'c:1', 'd:1']);
    const first = queue.next();
    assert.deepEqual(first?.items, ['a:1', 'a:2'], 'a batch may hold several messages of one subject');
    // a:3 and a:4 wait for the first batch; the others may go.
    const second = queue.next();
    assert.deepEqual(second?.items, ['b:1', 'c:1']);
    assert.equal(queue.next(), undefined, 'what is left is less than a full batch');
    queue.done(first);
    const third = queue.next();
    assert.deepEqual(third?.items, ['a:3', 'a:4']);
    assert.deepEqual([...queue.items()], ['d:1']);
  });

  it('starts a second batch once enough free messages arrived behind a busy subject', () => {
    const queue = filled(3, 2, ['a:1', 'a:2', 'a:3', 'a:4', 'a:5']);
    assert.deepEqual(queue.next()?.items, ['a:1', 'a:2', 'a:3']);
    assert.equal(queue.next(), undefined, 'only a busy subject waits');
    for (const item of ['b:1', 'c:1']) queue.push(item, item.charAt(0));
    assert.equal(queue.next(), undefined, 'two free messages are not a full batch');
    queue.push('d:1', 'd');
    assert.deepEqual(queue.next()?.items, ['b:1', 'c:1', 'd:1']);
    assert.deepEqual([...queue.items()], ['a:4', 'a:5']);
  });

  it('does not let a later message of a subject overtake one left behind by a full batch', () => {
    const queue = filled(2, 4, ['a:1', 'b:1', 'c:1', 'c:2', 'd:1', 'e:1']);
    assert.deepEqual(queue.next()?.items, ['a:1', 'b:1']);
    // Full batch of two: c:1 and c:2 go together, d and e wait.
    assert.deepEqual(queue.next()?.items, ['c:1', 'c:2']);
    assert.deepEqual(queue.takeAll(), ['d:1', 'e:1']);
    assert.equal(queue.size, 0);
  });

  it('keeps items a batch held back, and every later item of their subjects, out of batches until released', () => {
    const queue = filled(10, 4, ['a:1', 'b:1']);
    const first = queue.next()!;
    assert.deepEqual(first.items, ['a:1', 'b:1']);
    const held = queue.hold([{ item: 'a:1', key: 'a' }]);
    queue.done(first);
    for (const item of ['a:2', 'c:1']) queue.push(item, item.charAt(0));
    const second = queue.next()!;
    assert.deepEqual(second.items, ['c:1'], 'a:2 waits behind the held a:1');
    assert.deepEqual([...queue.items()], ['a:1', 'a:2'], 'held items count among those not in a batch');
    queue.done(second);
    queue.release(held);
    assert.deepEqual(queue.next()?.items, ['a:1', 'a:2'], 'released ahead of the waiting ones, in order');
  });

  it('hands held items back on shutdown with the waiting ones, and forgets their subjects', () => {
    const queue = filled(10, 4, ['a:1']);
    const first = queue.next()!;
    const held = queue.hold([{ item: 'a:1', key: 'a' }]);
    queue.done(first);
    queue.push('b:1', 'b');
    assert.deepEqual(queue.takeAll(), ['a:1', 'b:1']);
    queue.release(held);
    assert.equal(queue.size, 0, 'a hold already handed back releases nothing');
    queue.push('a:2', 'a');
    assert.deepEqual(queue.next()?.items, ['a:2']);
  });
});

describe('TransactionSlots', () => {
  it('runs at most `size` pieces of work at once and every piece in the end', async () => {
    const slots = new TransactionSlots(2);
    let running = 0;
    let most = 0;
    const results = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        slots.run(async () => {
          running += 1;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 5));
          running -= 1;
          return i;
        }),
      ),
    );
    assert.deepEqual(results, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(most, 2);
  });

  it('frees the slot of work that failed', async () => {
    const slots = new TransactionSlots(1);
    await assert.rejects(slots.run(() => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await slots.run(() => Promise.resolve('next')), 'next');
  });

  it('refuses a size that is not a positive integer, naming the option', () => {
    assert.throws(() => new TransactionSlots(0), /maxConcurrentBatches/);
  });
});
