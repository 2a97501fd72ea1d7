import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManagedCluster } from '@azure/arm-containerservice';
import { decodeAksOperation, encodeAksOperation, statusFromListing, type AksOperationRef } from './aks-watch.js';

const cluster = (state: string, pools: Record<string, string> = {}): ManagedCluster => ({
  location: 'westeurope',
  name: 'fl-alpha',
  provisioningState: state,
  agentPoolProfiles: Object.entries(pools).map(([name, provisioningState]) => ({ name, provisioningState, mode: 'User' as const })),
});

describe('AKS operations read from the resource group list', () => {
  it('a handle says what it changes and keeps the poller; a handle of before is the poller alone', () => {
    const ref: AksOperationRef = { resource: 'pool', pool: 'workers', action: 'put', poller: '{"state":{}}' };
    assert.deepEqual(decodeAksOperation(encodeAksOperation(ref)), ref);
    assert.deepEqual(decodeAksOperation('{"state":{"status":"running"}}'), { poller: '{"state":{"status":"running"}}' });
  });

  it('a put is done when its resource is Succeeded and under way while it is Creating or Updating', () => {
    const put: AksOperationRef = { resource: 'cluster', action: 'put', poller: 'p' };
    assert.deepEqual(statusFromListing(put, cluster('Creating')), { done: false });
    assert.deepEqual(statusFromListing(put, cluster('Upgrading')), { done: false });
    assert.deepEqual(statusFromListing(put, cluster('Succeeded')), { done: true, failure: null });
    const pool: AksOperationRef = { resource: 'pool', pool: 'workers', action: 'put', poller: 'p' };
    assert.deepEqual(statusFromListing(pool, cluster('Succeeded', { Workers: 'Creating' })), { done: false });
    assert.deepEqual(statusFromListing(pool, cluster('Succeeded', { workers: 'Succeeded' })), { done: true, failure: null });
  });

  it('a failure, or a resource the put does not explain, is left to the poller, which holds the message', () => {
    const put: AksOperationRef = { resource: 'pool', pool: 'workers', action: 'put', poller: 'p' };
    assert.equal(statusFromListing(put, cluster('Succeeded', { workers: 'Failed' })), undefined);
    assert.equal(statusFromListing(put, cluster('Succeeded')), undefined);
    assert.equal(statusFromListing({ resource: 'cluster', action: 'put', poller: 'p' }, null), undefined);
  });

  it('a delete is done once its resource is gone, under way while Deleting', () => {
    const gone: AksOperationRef = { resource: 'pool', pool: 'workers', action: 'delete', poller: 'p' };
    assert.deepEqual(statusFromListing(gone, cluster('Succeeded', { workers: 'Deleting' })), { done: false });
    assert.deepEqual(statusFromListing(gone, cluster('Succeeded')), { done: true, failure: null });
    assert.deepEqual(statusFromListing({ resource: 'cluster', action: 'delete', poller: 'p' }, null), { done: true, failure: null });
    assert.equal(statusFromListing({ resource: 'cluster', action: 'delete', poller: 'p' }, cluster('Failed')), undefined);
  });
});
