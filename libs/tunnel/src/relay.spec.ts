import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { PassThrough, Readable, Writable } from 'node:stream';
import { relay } from './relay.js';

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
    relay(Readable.from(sent), to, (chunk) => (counted += chunk.length));
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
    relay(from, to, undefined, 64 * 1024);
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
});
