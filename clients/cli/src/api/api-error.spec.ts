import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiErrorMessage } from './api-error.js';

describe('apiErrorMessage', () => {
  it('lists every field problem of a validation answer', () => {
    const body = { statusCode: 400, message: ['controlPlane.count: must be 1, 3 or 5', 'name: required'], errors: [{ field: 'controlPlane.count', message: 'must be 1, 3 or 5' }, { field: 'name', message: 'required' }] };
    assert.equal(apiErrorMessage(JSON.stringify(body)), 'invalid request:\n  controlPlane.count: must be 1, 3 or 5\n  name: required');
  });

  it('one message with its code; a field already named is not repeated', () => {
    assert.equal(apiErrorMessage(JSON.stringify({ statusCode: 409, code: 'cluster-exists', message: 'cluster "a" exists: pick another id' })), 'cluster "a" exists: pick another id [cluster-exists]');
    assert.equal(apiErrorMessage(JSON.stringify({ code: 'x', message: 'toRelease: same', errors: [{ field: 'toRelease', message: 'toRelease: same' }] })), 'toRelease: same [x]');
  });

  it('plain text is kept when short; nothing usable is undefined', () => {
    assert.equal(apiErrorMessage('Bad Gateway'), 'Bad Gateway');
    assert.equal(apiErrorMessage('{}'), undefined);
    assert.equal(apiErrorMessage(''), undefined);
  });
});
