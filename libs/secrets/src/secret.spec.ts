import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect, format } from 'node:util';
import { Secret } from './secret.js';

describe('Secret', () => {
  const value = 'hunter2-very-secret';

  it('is redacted however it is turned into text', () => {
    const secret = new Secret(value);
    const shown = [
      String(secret),
      // Exactly the careless uses the class guards against.
      // eslint-disable-next-line @typescript-eslint/restrict-template-expressions
      `${secret}`,
      // eslint-disable-next-line @typescript-eslint/restrict-plus-operands
      'token: ' + secret,
      JSON.stringify(secret),
      JSON.stringify({ token: secret }),
      inspect(secret),
      inspect({ deep: { token: secret } }, { depth: 10, showHidden: true }),
      format('%s %o %O %j', secret, secret, secret, secret),
    ];
    for (const text of shown) {
      assert.ok(text.includes('[redacted]'), text);
      assert.ok(!text.includes(value), text);
    }
    assert.equal(JSON.stringify({ token: secret }), '{"token":"[redacted]"}');
  });

  it('gives the value only when asked', () => {
    const secret = new Secret(Buffer.from(value));
    assert.equal(secret.revealString(), value);
    assert.deepEqual(secret.reveal(), Buffer.from(value));
    assert.equal(secret.length, value.length);
  });

  it('hands out copies, so wiping one does not change the secret', () => {
    const input = Buffer.from(value);
    const secret = new Secret(input);
    input.fill(0);
    secret.reveal().fill(0);
    assert.equal(secret.revealString(), value);
  });

  it('compares in constant time', () => {
    const secret = new Secret(value);
    assert.ok(secret.equals(value));
    assert.ok(secret.equals(new Secret(value)));
    assert.ok(!secret.equals(`${value}x`));
    assert.ok(!secret.equals('hunter3-very-secret'));
  });
});
