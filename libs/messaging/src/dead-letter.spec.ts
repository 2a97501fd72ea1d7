import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deterministicUuid } from './dead-letter.js';

// RFC 9562 layout: version 5 (name-based, SHA) and the 10xx variant.
const UUID_V5 = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('deterministicUuid', () => {
  it('is the same every time for the same input', () => {
    const input = 'rejected:ledger__cluster_requested_v1:T1_EVENTS:42';
    assert.equal(deterministicUuid(input), deterministicUuid(input));
    assert.equal(deterministicUuid(''), deterministicUuid(''));
  });

  it('is UUID-shaped, with a valid version and variant', () => {
    for (const input of ['', 'a', 'rejected:c:S:1', 'é ✓ 😀', 'x'.repeat(10_000)]) {
      const id = deterministicUuid(input);
      assert.match(id, UUID_V5, `${JSON.stringify(input.slice(0, 20))} -> ${id}`);
      assert.equal(id.length, 36);
    }
  });

  it('differs for different inputs, including neighbouring stream positions', () => {
    const ids = new Set(Array.from({ length: 1_000 }, (_, seq) => deterministicUuid(`rejected:c:STREAM:${seq}`)));
    assert.equal(ids.size, 1_000);
    assert.notEqual(deterministicUuid('rejected:a:S:1'), deterministicUuid('rejected:b:S:1'));
  });

  it('does not depend on anything but the input (a known value)', () => {
    // sha256("") = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
    assert.equal(deterministicUuid(''), 'e3b0c442-98fc-5c14-aafb-f4c8996fb924');
  });
});
