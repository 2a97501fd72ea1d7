import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConnectedCluster } from './connected-cluster.js';
import { backoffMs, decideSync, type SyncOutcome, type SyncPolicy } from './cluster-sync.js';

const now = new Date(Date.UTC(2026, 10, 23, 12, 0, 0));
const policy: SyncPolicy = { intervalMs: 60_000, maxBackoffMs: 600_000, unreachableAfterFailures: 2 };
const cluster = (state: ConnectedCluster['state'], kubernetesVersion = 'v1.31.5'): ConnectedCluster => ({
  id: 'edge-1',
  name: 'edge',
  provider: 'cncf',
  apiServer: 'https://edge.example:6443',
  cloud: null,
  credentialRef: 'edge-admin',
  state,
  attempt: 1,
  requestEventId: 'r-1',
  kubernetesVersion,
  distribution: 'vanilla',
  nodeCount: 3,
  reasons: [],
  warnings: [],
  policyRevision: null,
  requestedAt: now.toISOString(),
  checkStartedAt: null,
  importedAt: now.toISOString(),
  deletedAt: null,
  lastEventTime: now.toISOString(),
});
const healthy = (version = 'v1.31.5'): SyncOutcome => ({ ok: true, report: { version, ready: true } });
const down: SyncOutcome = { ok: false, failures: [{ code: 'api-server-unreachable', message: 'cannot reach edge.example:6443: the connection was refused' }] };
const fresh = { failures: 0, unreachableSince: null };

describe('cluster sync (decideSync)', () => {
  it('given an imported cluster answering the same version: nothing to say, next check after the interval', () => {
    const decision = decideSync(cluster('Imported'), fresh, healthy(), now, policy);
    assert.deepEqual(decision.events, []);
    assert.equal(decision.nextSyncAt.getTime() - now.getTime(), 60_000);
  });

  it('given a new version: ClusterVersionChanged from the old one', () => {
    const decision = decideSync(cluster('Imported'), fresh, healthy('v1.32.1'), now, policy);
    assert.deepEqual(decision.events, [{ type: 'ClusterVersionChanged', data: { previousVersion: 'v1.31.5', kubernetesVersion: 'v1.32.1' } }]);
  });

  it('one failure is a blip; the second in a row makes it Unreachable, since the first', () => {
    const first = decideSync(cluster('Imported'), fresh, down, now, policy);
    assert.deepEqual(first.events, []);
    assert.deepEqual(first.sync, { failures: 1, unreachableSince: now.toISOString() });
    const later = new Date(now.getTime() + 60_000);
    const second = decideSync(cluster('Imported'), first.sync, down, later, policy);
    assert.equal(second.events.length, 1);
    const [event] = second.events;
    assert.equal(event?.type, 'ClusterUnreachable');
    assert.ok(event?.type === 'ClusterUnreachable');
    assert.equal(event.data.since, now.toISOString());
    assert.equal(event.data.reason.code, 'api-server-unreachable');
  });

  it('an Unreachable cluster that still fails: no second ClusterUnreachable', () => {
    const decision = decideSync(cluster('Unreachable'), { failures: 5, unreachableSince: now.toISOString() }, down, now, policy);
    assert.deepEqual(decision.events, []);
    assert.equal(decision.sync.failures, 6);
  });

  it('an Unreachable cluster that answers: ClusterReachable, and a version change seen meanwhile', () => {
    const decision = decideSync(cluster('Unreachable'), { failures: 3, unreachableSince: now.toISOString() }, healthy('v1.32.0'), now, policy);
    assert.deepEqual(decision.events.map((event) => event.type), ['ClusterReachable', 'ClusterVersionChanged']);
    assert.deepEqual(decision.sync, { failures: 0, unreachableSince: null });
  });

  it('backs off exponentially while failing, capped', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 20].map((failures) => backoffMs(failures, policy)), [60_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000]);
    const decision = decideSync(cluster('Unreachable'), { failures: 3, unreachableSince: now.toISOString() }, down, now, policy);
    assert.equal(decision.nextSyncAt.getTime() - now.getTime(), 480_000);
  });
});
