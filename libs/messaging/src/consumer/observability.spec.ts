import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discardHeadroom } from './observability.js';

/** A stream of messages `first`..`last` taking `bytes` of a `limit`, and a consumer acknowledged up to `ackFloor` with `pending` left. */
const headroom = (limit: number, bytes: number, first: number, last: number, ackFloor: number, pending = 1) =>
  discardHeadroom(
    { num_pending: pending, num_ack_pending: 0, ack_floor: { stream_seq: ackFloor, consumer_seq: 0, last_active: 0 } },
    { config: { max_bytes: limit } as never, state: { bytes, first_seq: first, last_seq: last } as never },
  );

describe("a consumer's headroom before the stream's byte limit discards what it has not acknowledged", () => {
  it('is whole with no byte limit or nothing unacknowledged', () => {
    assert.equal(headroom(-1, 1_000, 1, 100, 0), 1);
    assert.equal(headroom(1_000, 1_000, 1, 100, 100, 0), 1);
  });

  it('is the free bytes while the consumer still holds the oldest message', () => {
    assert.equal(headroom(1_000, 500, 1, 100, 0), 0.5);
    assert.equal(headroom(1_000, 1_000, 1, 100, 0), 0, 'full: the next message stored drops one it has not handled');
  });

  it('adds what the consumer has acknowledged, which is discarded first', () => {
    assert.equal(headroom(1_000, 1_000, 1, 100, 50), 0.5);
    assert.equal(headroom(1_000, 800, 101, 200, 150), 0.6);
    // An ack floor behind the stream's first message: some of what it had not handled is gone already.
    assert.equal(headroom(1_000, 1_000, 101, 200, 20), 0);
  });
});
