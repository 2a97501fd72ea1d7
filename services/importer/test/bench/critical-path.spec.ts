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
  durations: { clusterCreate: 4_000 },
  rateLimit: { kind: 'token-bucket', perSecond: 100, burst: 100 },
});
const gke = (clusters: number, requests: number, windowMs: number): CloudWork => ({
  provider: 'gke',
  clusters,
  nodeGroups: 2,
  durations: { createCluster: 4_000 },
  rateLimit: { kind: 'window', requests, windowMs },
});

describe('critical path of the cloud-provisioning benchmark', () => {
  it('chains: EKS node groups side by side after the control plane, AKS and GKE node groups with it', () => {
    assert.equal(chainMs(eks(1, 10, 10)), 8_000);
    assert.equal(chainMs({ ...eks(1, 10, 10), nodeGroups: 0 }), 5_000);
    assert.equal(chainMs(aks(1)), 4_000);
    assert.equal(chainMs(gke(1, 10, 1_000)), 4_000);
  });

  it('counts the requests one cluster needs at the least: EKS reads each resource, AKS and GKE read shared lists', () => {
    assert.deepEqual([requestsPerCluster(eks(1, 1, 1)), requestsPerCluster(aks(1)), requestsPerCluster(gke(1, 1, 1))], [6, 1, 1]);
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
    assert.deepEqual(phasesOf(eks(100, 100, 100)), [
      { afterMs: 0, requests: 1, thenMs: 8_000 },
      { afterMs: 5_000, requests: 3, thenMs: 3_000 },
    ]);
    assert.deepEqual(cloudBound(eks(100, 100, 100)), { provider: 'eks', chainS: 8, minRequests: 600, rateS: 5, phaseS: 10, boundS: 10 });
    // Without node groups there is no phase after the control plane.
    assert.deepEqual(phasesOf({ ...eks(100, 100, 100), nodeGroups: 0 }), [{ afterMs: 0, requests: 1, thenMs: 5_000 }]);
  });

  it('the last create goes out when the limit lets it, then takes its chain', () => {
    // AKS: 100 cluster PUTs at once (the bucket's burst), each with its pools: the chain's 4 s; 300
    // wait 2 s for the last PUT: 6 s.
    assert.deepEqual(cloudBound(aks(100)), { provider: 'aks', chainS: 4, minRequests: 100, rateS: 0, phaseS: 4, boundS: 4 });
    assert.equal(cloudBound(aks(300)).phaseS, 6);
    // GKE, a window of 100 a second: 100 creates in the first window, 4 s; at 50 a second the
    // last goes out at 1 s: 5 s.
    assert.equal(cloudBound(gke(100, 100, 1_000)).boundS, 4);
    assert.deepEqual(cloudBound(gke(100, 50, 1_000)), { provider: 'gke', chainS: 4, minRequests: 100, rateS: 1, phaseS: 5, boundS: 5 });
  });

  it('the whole run takes as long as its slowest cloud', () => {
    const result = criticalPath([eks(100, 100, 100), aks(100), gke(1_000, 50, 1_000)]);
    assert.equal(result.seconds, 23);
    assert.deepEqual(
      result.clouds.map((cloud) => [cloud.provider, cloud.boundS]),
      [
        ['eks', 10],
        ['aks', 4],
        ['gke', 23],
      ],
    );
    assert.equal(criticalPath([]).seconds, 0);
  });

  it('refuses a count that is not a whole number and a limit that allows nothing', () => {
    assert.throws(() => cloudBound({ ...eks(1, 1, 1), nodeGroups: 1.5 }), /eks\.nodeGroups must be a whole number/);
    assert.throws(() => cloudBound(eks(1, 0, 1)), /eks\.rateLimit must allow some requests/);
  });
});
