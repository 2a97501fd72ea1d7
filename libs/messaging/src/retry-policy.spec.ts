import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideOnFailure, nakDelayMs, type RetryPolicy } from './retry-policy.js';

const policy: RetryPolicy = { baseDelayMs: 500, maxDelayMs: 60_000 };

describe('nakDelayMs', () => {
  it('starts at the base delay after the first delivery and doubles with each one', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((delivery) => nakDelayMs(delivery, policy)),
      [500, 1_000, 2_000, 4_000, 8_000],
    );
  });

  it('never goes beyond the cap', () => {
    assert.equal(nakDelayMs(7, policy), 32_000);
    assert.equal(nakDelayMs(8, policy), 60_000);
    assert.equal(nakDelayMs(9, policy), 60_000);
    assert.equal(nakDelayMs(1_000, policy), 60_000, 'a huge count neither overflows nor exceeds the cap');
    assert.equal(nakDelayMs(Number.MAX_SAFE_INTEGER, policy), 60_000);
  });

  it('is non-decreasing in the delivery count', () => {
    let previous = 0;
    for (let delivery = 1; delivery <= 64; delivery++) {
      const delay = nakDelayMs(delivery, policy);
      assert.ok(delay >= previous, `delivery ${delivery}: ${delay} < ${previous}`);
      assert.ok(Number.isFinite(delay));
      previous = delay;
    }
  });

  it('treats a count below 1 as the first delivery', () => {
    assert.equal(nakDelayMs(0, policy), 500);
    assert.equal(nakDelayMs(-3, policy), 500);
  });

  it('applies the cap even to the first delivery when the base is above it', () => {
    assert.equal(nakDelayMs(1, { baseDelayMs: 5_000, maxDelayMs: 1_000 }), 1_000);
  });
});

describe('decideOnFailure', () => {
  const decide = (permanent: boolean, deliveryCount: number, maxDeliver = 3) => decideOnFailure({ permanent, deliveryCount, maxDeliver, policy });

  it('dead-letters a permanent failure at once as handler-rejected', () => {
    assert.deepEqual(decide(true, 1), { action: 'dead-letter', code: 'handler-rejected' });
  });

  it('keeps the handler-rejected reason for a permanent failure on the last delivery too', () => {
    assert.deepEqual(decide(true, 3), { action: 'dead-letter', code: 'handler-rejected' });
  });

  it('dead-letters a transient failure on the last delivery as max-deliveries-exceeded', () => {
    assert.deepEqual(decide(false, 3), { action: 'dead-letter', code: 'max-deliveries-exceeded' });
  });

  it('also gives up past the last delivery (a consumer whose max_deliver was raised later)', () => {
    assert.deepEqual(decide(false, 4), { action: 'dead-letter', code: 'max-deliveries-exceeded' });
  });

  it('retries a transient failure before the last delivery, with the backoff for that delivery', () => {
    assert.deepEqual(decide(false, 1), { action: 'retry', delayMs: 500 });
    assert.deepEqual(decide(false, 2), { action: 'retry', delayMs: 1_000 });
    assert.deepEqual(decide(false, 7, 8), { action: 'retry', delayMs: nakDelayMs(7, policy) });
  });

  it('with maxDeliver 1 never retries', () => {
    assert.deepEqual(decide(false, 1, 1), { action: 'dead-letter', code: 'max-deliveries-exceeded' });
  });
});
