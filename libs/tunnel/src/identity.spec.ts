import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reconnectDelay } from './backoff.js';
import { forwardableHeaders } from './headers.js';
import { clusterIdOf, clusterUri } from './identity.js';

describe('agent identity', () => {
  it('takes the cluster from exactly one cluster URI', () => {
    assert.equal(clusterIdOf({ subjectaltname: `DNS:agent.example, URI:${clusterUri('prod-1')}` }), 'prod-1');
    assert.equal(clusterIdOf({ subjectaltname: `URI:${clusterUri('a')}, URI:${clusterUri('b')}` }), undefined, 'two clusters');
    assert.equal(clusterIdOf({ subjectaltname: 'DNS:prod-1' }), undefined, 'no cluster URI');
    assert.equal(clusterIdOf({ subjectaltname: `URI:${clusterUri('Prod_1')}` }), undefined, 'not a cluster id');
    assert.equal(clusterIdOf(undefined), undefined);
  });
});

describe('reconnect backoff', () => {
  it('grows to its cap with full jitter', () => {
    const policy = { initialMs: 100, maxMs: 5_000 };
    assert.deepEqual([0, 1, 2, 3, 10].map((attempt) => reconnectDelay(attempt, policy, () => 0.999_999)), [99, 199, 399, 799, 4999]);
    assert.equal(reconnectDelay(4, policy, () => 0), 0);
  });
});

describe('forwarded headers', () => {
  it('drops hop-by-hop headers, those the connection header lists, and what the caller may not pass on', () => {
    const headers = forwardableHeaders(
      { connection: 'keep-alive, x-secret', 'keep-alive': '5', 'x-secret': 's', host: 'broker', 'impersonate-user': 'root', accept: 'application/json', ':path': '/x' },
      (name) => name.startsWith('impersonate-'),
    );
    assert.deepEqual(headers, { accept: 'application/json' });
  });
});
