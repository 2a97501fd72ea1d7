import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterDetail } from '../../test/clusters.js';
import type { ApiClient, ApiRequest, ApiResponse } from '../api/http.js';
import type { ClusterDetail } from '../api/types.js';
import { CliError, ExitCode } from '../errors.js';
import { untilRunning } from './goals.js';
import { parseTimeout, shouldWait, waitFor } from './wait.js';

/** An API that answers GET /api/v1/clusters/{id} with each of `states` in turn (the last one from then on). */
function apiShowing(states: (ClusterDetail | undefined)[]): ApiClient {
  let index = 0;
  return {
    send: async (_request: ApiRequest): Promise<ApiResponse> => {
      const cluster = states[Math.min(index++, states.length - 1)];
      return cluster ? { status: 200, contentType: 'application/json', text: JSON.stringify(cluster) } : { status: 404, contentType: 'application/json', text: '{}' };
    },
  } as unknown as ApiClient;
}

describe('waitFor', () => {
  it('resolves with the message once the goal is reached', async () => {
    const message = await waitFor(apiShowing([undefined, clusterDetail({ status: 'Provisioning' }), clusterDetail()]), 'prod-1', untilRunning('prod-1'), 10_000);
    assert.equal(message, 'cluster prod-1 is Running (v1.34.1, 2 nodes)');
  });

  it('a failure ends it with exit code 1, the deadline with 3 and how to follow it', async () => {
    await assert.rejects(waitFor(apiShowing([clusterDetail({ status: 'Failed', reasons: [{ code: 'quota', message: 'no machines' }] })]), 'prod-1', untilRunning('prod-1'), 10_000), (error: unknown) => error instanceof CliError && error.exitCode === ExitCode.Failed && /Failed: no machines \[quota\]/.test(error.message));
    await assert.rejects(waitFor(apiShowing([clusterDetail({ status: 'Provisioning' })]), 'prod-1', untilRunning('prod-1'), 1), (error: unknown) => error instanceof CliError && error.exitCode === ExitCode.TimedOut && /timed out after 1ms waiting for cluster prod-1 Running \(now: Provisioning.*flotilla describe cluster prod-1/.test(error.message));
  });
});

describe('wait options', () => {
  it('--timeout takes ms, s, m, h; anything else is a usage error', () => {
    assert.deepEqual(['1500', '90s', '15m', '1h'].map(parseTimeout), [1500, 90_000, 900_000, 3_600_000]);
    assert.throws(() => parseTimeout('soon'), (error: unknown) => error instanceof CliError && error.exitCode === ExitCode.Usage);
    assert.throws(() => parseTimeout('0s'), /more than 0/);
  });

  it('waits by default on a terminal only; a flag decides otherwise', () => {
    assert.equal(shouldWait(undefined, { isTTY: true }), true);
    assert.equal(shouldWait(undefined, {}), false);
    assert.equal(shouldWait(false, { isTTY: true }), false);
    assert.equal(shouldWait(true, {}), true);
  });
});
