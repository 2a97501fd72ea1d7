import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainMs, cloudBound, criticalPath, rateLimitedMs, requestsPerCluster, type CloudWork } from './critical-path.js';

const eks = (clusters: number, perSecond: number, burst: number): CloudWork => ({
  provider: 'eks',
  clusters,
  nodeGroups: 2,
  durations: { createCluster: 5_000, createNodegroup: 3_000 },
  rateLimit: { kind: 'token-bucket', perSecond, burst },
});
const aks = (clusters: number): CloudWork => ({
  provider: 'aks',
  clusters,
  nodeGroups: 2,
  durations: { clusterCreate: 4_000, poolCreate: 2_500 },
  rateLimit: { kind: 'token-bucket', perSecond: 100, burst: 100 },
});
const gke = (clusters: number, requests: number, windowMs: number): CloudWork => ({
  provider: 'gke',
  clusters,
  nodeGroups: 2,
  durations: { createCluster: 4_000, deleteNodePool: 1_000, createNodePool: 1_500 },
  rateLimit: { kind: 'window', requests, windowMs },
});

describe('critical path of the cloud-provisioning benchmark', () => {
  it('chains: EKS and AKS node groups side by side after the control plane, GKE one operation at a time', () => {
    assert.equal(chainMs(eks(1, 10, 10)), 8_000);
    assert.equal(chainMs(aks(1)), 6_500);
    assert.equal(chainMs(gke(1, 10, 1_000)), 4_000 + 1_000 + 2 * 1_500);
  });

  it('counts the requests one cluster needs at the least', () => {
    assert.deepEqual([requestsPerCluster(eks(1, 1, 1)), requestsPerCluster(aks(1)), requestsPerCluster(gke(1, 1, 1))], [6, 7, 8]);
  });

  it('a token bucket lets the burst through at once, then r per second; a window n per w', () => {
    assert.equal(rateLimitedMs(50, { kind: 'token-bucket', perSecond: 10, burst: 50 }), 0);
    assert.equal(rateLimitedMs(150, { kind: 'token-bucket', perSecond: 10, burst: 50 }), 10_000);
    assert.equal(rateLimitedMs(100, { kind: 'window', requests: 100, windowMs: 1_000 }), 0);
    assert.equal(rateLimitedMs(101, { kind: 'window', requests: 100, windowMs: 1_000 }), 1_000);
    assert.equal(rateLimitedMs(800, { kind: 'window', requests: 100, windowMs: 1_000 }), 7_000);
  });

  it('a cloud is bound by its chain or by its rate limit, whichever is longer', () => {
    // 100 clusters x 6 requests = 600; (600 - 100) / 100 per s = 5 s < the 8 s chain.
    assert.deepEqual(cloudBound(eks(100, 100, 100)), { provider: 'eks', chainS: 8, minRequests: 600, rateS: 5, boundS: 8 });
    // (600 - 100) / 25 per s = 20 s > the chain.
    assert.equal(cloudBound(eks(100, 25, 100)).boundS, 20);
  });

  it('the whole run takes as long as its slowest cloud', () => {
    const result = criticalPath([eks(100, 100, 100), aks(100), gke(100, 50, 1_000)]);
    // GKE: 800 requests, 50 per second window -> (16 - 1) s = 15 s, beyond its 8 s chain.
    assert.equal(result.seconds, 15);
    assert.deepEqual(
      result.clouds.map((cloud) => [cloud.provider, cloud.boundS]),
      [
        ['eks', 8],
        ['aks', 6.5],
        ['gke', 15],
      ],
    );
    assert.equal(criticalPath([]).seconds, 0);
  });

  it('refuses a count that is not a whole number and a limit that allows nothing', () => {
    assert.throws(() => cloudBound({ ...eks(1, 1, 1), nodeGroups: 1.5 }), /eks\.nodeGroups must be a whole number/);
    assert.throws(() => cloudBound(eks(1, 0, 1)), /eks\.rateLimit must allow some requests/);
  });
});
