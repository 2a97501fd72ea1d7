import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeError, isPermanent, PermanentError } from './errors.js';

describe('isPermanent', () => {
  it('recognises a PermanentError', () => {
    const error = new PermanentError('this cluster can never be provisioned');
    assert.equal(isPermanent(error), true);
    assert.equal(error.name, 'PermanentError');
    assert.equal(error.code, 'handler-rejected');
    assert.ok(error instanceof Error);
  });

  it('recognises a subclass', () => {
    class UnknownCluster extends PermanentError {}
    assert.equal(isPermanent(new UnknownCluster('no such cluster')), true);
  });

  it('recognises one by name, as thrown by another copy of this library', () => {
    const foreign = new Error('from a duplicated node_modules copy');
    foreign.name = 'PermanentError';
    assert.equal(isPermanent(foreign), true);
  });

  it('treats every other error as transient', () => {
    assert.equal(isPermanent(new Error('connection reset')), false);
    assert.equal(isPermanent(new TypeError('undefined is not a function')), false);
  });

  it('treats thrown non-errors as transient, even when shaped like one', () => {
    assert.equal(isPermanent({ name: 'PermanentError', message: 'plain object' }), false);
    assert.equal(isPermanent('PermanentError'), false);
    assert.equal(isPermanent(undefined), false);
    assert.equal(isPermanent(null), false);
  });
});

describe('describeError', () => {
  it('uses the message, or the name when there is none', () => {
    assert.equal(describeError(new Error('boom')), 'boom');
    assert.equal(describeError(new PermanentError('')), 'PermanentError');
  });

  it('describes thrown strings and values', () => {
    assert.equal(describeError('plain'), 'plain');
    assert.equal(describeError({ code: 7 }), '{"code":7}');
  });
});
