import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainMs, cloudBound, criticalPath, phasesOf, rateLimitedMs, requestsPerCluster, type CloudWork } from './critical-path.js';

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

  it('counts the requests one cluster needs at the least: EKS reads each resource, AKS and GKE read shared lists', () => {
    assert.deepEqual([requestsPerCluster(eks(1, 1, 1)), requestsPerCluster(aks(1)), requestsPerCluster(gke(1, 1, 1))], [6, 3, 4]);
  });

  it('a token bucket lets the burst through at once, then r per second; a window n per w', () => {
    assert.equal(rateLimitedMs(50, { kind: 'token-bucket', perSecond: 10, burst: 50 }), 0);
    assert.equal(rateLimitedMs(150, { kind: 'token-bucket', perSecond: 10, burst: 50 }), 10_000);
    assert.equal(rateLimitedMs(100, { kind: 'window', requests: 100, windowMs: 1_000 }), 0);
    assert.equal(rateLimitedMs(101, { kind: 'window', requests: 100, windowMs: 1_000 }), 1_000);
    assert.equal(rateLimitedMs(800, { kind: 'window', requests: 100, windowMs: 1_000 }), 7_000);
  });

  it('a cloud is bound by its chain or by its rate limit, whichever is longer', () => {
    // One cluster: nothing waits for the limit, the chain is the bound.
    assert.deepEqual(cloudBound(eks(1, 100, 100)), { provider: 'eks', chainS: 8, minRequests: 6, rateS: 0, phaseS: 8, boundS: 8 });
    // (600 - 100) / 25 per s = 20 s > the chain and the phase (5 + (300 - 100) / 25 + 3 = 16 s).
    assert.deepEqual(cloudBound(eks(100, 25, 100)), { provider: 'eks', chainS: 8, minRequests: 600, rateS: 20, phaseS: 16, boundS: 20 });
  });

  it('node groups start only once their control planes are seen done: the requests after that wait for the limit', () => {
    // EKS, 100 clusters: 300 requests after 5 s (a DescribeCluster and two CreateNodegroup each),
    // 100 at once and 200 over 2 s: the last node group starts at 7 s, done at 10 s; the whole
    // run's 600 requests would fit in 5 s, the chain in 8.
    assert.deepEqual(phasesOf(eks(100, 100, 100)), [{ afterMs: 5_000, requests: 3, thenMs: 3_000 }]);
    assert.deepEqual(cloudBound(eks(100, 100, 100)), { provider: 'eks', chainS: 8, minRequests: 600, rateS: 5, phaseS: 10, boundS: 10 });
    // AKS reads its clusters in shared lists, and the first pool comes with the cluster: one pool
    // PUT each after 4 s, 100 at once, then 2.5 s: the chain's 6.5 s. With three pools, 200 PUTs
    // after 4 s take 1 s more through the bucket: 7.5 s.
    assert.deepEqual(cloudBound(aks(100)), { provider: 'aks', chainS: 6.5, minRequests: 300, rateS: 2, phaseS: 6.5, boundS: 6.5 });
    assert.equal(cloudBound({ ...aks(100), nodeGroups: 3 }).phaseS, 7.5);
    assert.deepEqual(phasesOf({ ...aks(100), nodeGroups: 1 }), []);
    assert.equal(chainMs({ ...aks(1), nodeGroups: 1 }), 4_000);
    // GKE, a window of 100 a second: after the control planes (4 s), 300 requests (the bootstrap
    // pool's delete and two pool creates each) take three windows: 4 + 2 + 1.5 = 7.5 s, within the
    // 8 s chain; with 50 a second, six windows: 4 + 5 + 1.5 = 10.5 s.
    assert.equal(cloudBound(gke(100, 100, 1_000)).boundS, 8);
    assert.deepEqual(cloudBound(gke(100, 50, 1_000)), { provider: 'gke', chainS: 8, minRequests: 400, rateS: 7, phaseS: 10.5, boundS: 10.5 });
    // Without node groups there is no phase after the control plane.
    assert.deepEqual(phasesOf({ ...eks(100, 100, 100), nodeGroups: 0 }), []);
  });

  it('the whole run takes as long as its slowest cloud', () => {
    const result = criticalPath([eks(100, 100, 100), aks(100), gke(100, 50, 1_000)]);
    assert.equal(result.seconds, 10.5);
    assert.deepEqual(
      result.clouds.map((cloud) => [cloud.provider, cloud.boundS]),
      [
        ['eks', 10],
        ['aks', 6.5],
        ['gke', 10.5],
      ],
    );
    assert.equal(criticalPath([]).seconds, 0);
  });

  it('refuses a count that is not a whole number and a limit that allows nothing', () => {
    assert.throws(() => cloudBound({ ...eks(1, 1, 1), nodeGroups: 1.5 }), /eks\.nodeGroups must be a whole number/);
    assert.throws(() => cloudBound(eks(1, 0, 1)), /eks\.rateLimit must allow some requests/);
  });
});
