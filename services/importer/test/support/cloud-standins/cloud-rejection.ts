import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { CloudError } from '../../../src/clouds/errors.js';

/** The CloudError a call to a cloud fails with; fails the test if it succeeds or throws anything else. */
export async function cloudRejection(promise: Promise<unknown>): Promise<CloudError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CloudError, `expected a CloudError, got ${inspect(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}
