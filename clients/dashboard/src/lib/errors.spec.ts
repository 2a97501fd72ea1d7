import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorFromAnswer } from './errors.js';

describe("the API's error answers as messages", () => {
  it('joins the field problems of a validation answer', () => {
    const body = JSON.stringify({ statusCode: 400, error: 'Bad Request', message: ['name: Too small', 'controlPlane.count: must be 1, 3 or 5'], errors: [] });
    const error = errorFromAnswer(400, 'Bad Request', body);
    assert.equal(error.status, 400);
    assert.equal(error.message, 'name: Too small; controlPlane.count: must be 1, 3 or 5');
  });

  it('keeps the code and message of a conflict', () => {
    const error = errorFromAnswer(409, 'Conflict', JSON.stringify({ statusCode: 409, code: 'cluster-exists', message: 'cluster "a" exists' }));
    assert.equal(error.code, 'cluster-exists');
    assert.equal(error.message, 'cluster "a" exists');
  });

  it("says the entry point's message when a service is not answering", () => {
    const body = JSON.stringify({ statusCode: 502, error: 'Bad Gateway', service: 'provisioner', message: 'provisioner is not answering' });
    assert.equal(errorFromAnswer(502, 'Bad Gateway', body).message, 'provisioner is not answering');
  });

  it('uses a short plain-text body, and the status for HTML or nothing', () => {
    assert.equal(errorFromAnswer(500, 'Internal Server Error', 'database down').message, 'database down');
    assert.equal(errorFromAnswer(502, 'Bad Gateway', '<html>nginx</html>').message, '502 Bad Gateway');
    assert.equal(errorFromAnswer(404, 'Not Found', '').message, '404 Not Found');
  });
});
