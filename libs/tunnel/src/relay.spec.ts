import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { PassThrough, Readable, Writable } from 'node:stream';
import { relay, StalledReaderError } from './relay.js';

const chunks = (count: number, size: number) => Array.from({ length: count }, (_, i) => Buffer.alloc(size, i % 256));

describe('relay', () => {
  it('carries every chunk in order, counts them, and ends the writer', async () => {
    const sent = chunks(40, 16 * 1024);
    const received: Buffer[] = [];
    const to = new Writable({
      write(chunk: Buffer, _encoding, done) {
        received.push(chunk);
        done();
      },
      writev(batch, done) {
        for (const { chunk } of batch) received.push(chunk as Buffer);
        done();
      },
    });
    let counted = 0;
    relay(Readable.from(sent), to, { onChunk: (chunk) => (counted += chunk.length) });
    await once(to, 'finish');
    assert.deepEqual(Buffer.concat(received), Buffer.concat(sent));
    assert.equal(counted, 40 * 16 * 1024);
  });

  it('stops reading once its budget waits in a writer that drains nothing, and goes on as it drains', async () => {
    const from = new PassThrough();
    const held: (() => void)[] = [];
    let written = 0;
    const to = new Writable({
      highWaterMark: 16 * 1024,
      // Nothing completes until the test lets it.
      write(chunk: Buffer, _encoding, done) {
        written += chunk.length;
        held.push(done);
      },
      writev(batch, done) {
        for (const { chunk } of batch) written += (chunk as Buffer).length;
        held.push(done);
      },
    });
    relay(from, to, { budget: 64 * 1024 });
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    for (const chunk of chunks(10, 16 * 1024)) from.write(chunk);
    from.end();
    await turn();
    await turn();
    assert.ok(from.isPaused(), 'the reader is paused');
    assert.ok(to.writableLength >= 64 * 1024, `the writer holds the budget (${to.writableLength})`);
    assert.ok(to.writableLength < 10 * 16 * 1024, 'and no more than that');
    for (let turns = 0; !to.writableFinished && turns < 100; turns++) {
      held.splice(0).forEach((done) => done());
      await turn();
    }
    assert.equal(written, 10 * 16 * 1024, 'everything went through once the writer drained');
    assert.ok(to.writableFinished);
  });

  it('stops reading when the writer closes', async () => {
    const from = new PassThrough();
    const to = new PassThrough();
    relay(from, to);
    to.destroy();
    await once(to, 'close');
    from.write(Buffer.from('after'));
    assert.ok(from.isPaused());
    assert.equal(from.listenerCount('data'), 0);
  });

  it('cuts a writer that drains nothing for stalledAfterMs, and never one that drains, however slowly', async () => {
    const held: (() => void)[] = [];
    const stuck = (): Writable =>
      new Writable({
        highWaterMark: 16 * 1024,
        write(_chunk: Buffer, _encoding, done) {
          held.push(done);
        },
      });
    const turn = () => new Promise((resolve) => setImmediate(resolve));

    const stalledFrom = new PassThrough();
    const stalled = stuck();
    relay(stalledFrom, stalled, { budget: 32 * 1024, stalledAfterMs: 50 });
    for (const chunk of chunks(4, 16 * 1024)) stalledFrom.write(chunk);
    const [error] = (await once(stalled, 'error')) as [Error];
    assert.ok(error instanceof StalledReaderError, `cut as stalled: ${error.message}`);
    assert.ok(stalled.destroyed);
    held.length = 0;

    // Drains one write every 20 ms: its budget takes longer than the 200 ms allowed to drain, but
    // bytes leave all along.
    const slowFrom = new PassThrough();
    const slow = stuck();
    let cut: Error | undefined;
    slow.on('error', (failure: Error) => (cut = failure));
    relay(slowFrom, slow, { budget: 256 * 1024, stalledAfterMs: 200 });
    for (const chunk of chunks(40, 16 * 1024)) slowFrom.write(chunk);
    slowFrom.end();
    const started = Date.now();
    while (!slow.writableFinished && !slow.destroyed) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      held.shift()?.();
      await turn();
    }
    assert.equal(cut, undefined, 'a writer that keeps draining is not cut');
    assert.ok(slow.writableFinished, 'and gets everything');
    assert.ok(Date.now() - started > 400, 'over more than twice the time allowed for one wait');
  });
});
