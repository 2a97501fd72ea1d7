import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloudError } from '../errors.js';
import { gkeCaCertificatePem, gkeCluster, gkeError, gkeErrorCode, gkeRetryAfterMs, isGkeConflict } from './gke-mapping.js';

describe('GKE mapping', () => {
  it('turns a cluster into ours: nodes per zone × zones, endpoint as https', () => {
    const cluster = gkeCluster({
      name: 'web',
      location: 'europe-west1',
      currentMasterVersion: '1.30.5-gke.1014001',
      status: 'RUNNING',
      endpoint: '34.76.1.2',
      masterAuth: { clusterCaCertificate: Buffer.from('-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n').toString('base64') },
      nodePools: [
        { name: 'default-pool', initialNodeCount: 1, locations: ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'], config: { machineType: 'e2-standard-4' }, version: '1.30.5-gke.1014001' },
        { name: 'zonal', initialNodeCount: 2, locations: [], config: { machineType: '' }, version: '' },
      ],
    });
    assert.deepEqual(cluster, {
      provider: 'gke',
      name: 'web',
      location: 'europe-west1',
      version: '1.30.5-gke.1014001',
      status: 'RUNNING',
      endpoint: 'https://34.76.1.2',
      nodeGroups: [
        { name: 'default-pool', nodeCount: 3, instanceType: 'e2-standard-4', version: '1.30.5-gke.1014001' },
        { name: 'zonal', nodeCount: 2, instanceType: null, version: null },
      ],
    });
    // Numeric enums (what the REST transport asks for) read as their names; empty strings as absent.
    assert.equal(gkeCluster({ name: 'x', status: 1, endpoint: '' }).status, 'PROVISIONING');
    assert.equal(gkeCluster({ name: 'x', endpoint: '' }).endpoint, null);
    assert.throws(() => gkeCaCertificatePem({ name: 'x', masterAuth: { clusterCaCertificate: '' } }), /no cluster CA certificate/);
  });

  it('reads gax status codes, token endpoint refusals and network errors', () => {
    assert.equal(gkeErrorCode({ code: 5 }), 'cloud-cluster-not-found');
    assert.equal(gkeErrorCode({ code: 7 }), 'cloud-access-denied');
    assert.equal(gkeErrorCode({ code: 16 }), 'cloud-auth-failed');
    assert.equal(gkeErrorCode({ code: 8 }), 'cloud-throttled');
    assert.equal(gkeErrorCode({ code: 14 }), 'cloud-unreachable');
    assert.equal(gkeErrorCode({ response: { status: 400, data: { error: 'invalid_grant' } } }), 'cloud-auth-failed');
    assert.equal(gkeErrorCode({ code: 'ECONNREFUSED' }), 'cloud-unreachable');
    assert.equal(gkeErrorCode({ cause: { code: 'ENOTFOUND' } }), 'cloud-unreachable');
  });

  it('reads the API error body the REST transport carries: quota, version, name taken, conflicts', () => {
    const http = (status: number, word: string, message: string, headers?: Record<string, string>) => ({
      code: status,
      status,
      message: JSON.stringify({ error: { code: status, message, status: word } }),
      response: { status, headers: new Headers(headers) },
    });
    assert.equal(gkeErrorCode(http(403, 'PERMISSION_DENIED', 'Insufficient regional quota to satisfy request: resource "CPUS": request requires \'48.0\'')), 'cloud-quota-exceeded');
    assert.equal(gkeErrorCode(http(403, 'PERMISSION_DENIED', 'Required "container.clusters.create" permission(s)')), 'cloud-access-denied');
    assert.equal(gkeErrorCode(http(400, 'INVALID_ARGUMENT', 'Master version "1.27" is unsupported.')), 'cloud-version-not-offered');
    assert.equal(gkeErrorCode(http(400, 'INVALID_ARGUMENT', 'Master cannot be upgraded from "1.30.9" to "1.32": upgrades go one minor version at a time.')), 'cloud-version-not-offered');
    assert.equal(gkeErrorCode(http(400, 'INVALID_ARGUMENT', 'Node version "1.32" must not be newer than master version "1.31.5".')), 'cloud-version-not-offered');
    const invalid = gkeError(http(400, 'INVALID_ARGUMENT', 'Invalid node pool name "General".'), 'creating node pool x');
    assert.equal(invalid.code, 'cloud-request-invalid');
    assert.match(invalid.message, /INVALID_ARGUMENT: Invalid node pool name "General"/);
    assert.equal(gkeErrorCode(http(409, 'ALREADY_EXISTS', 'Already exists: projects/p/locations/l/clusters/c.')), 'cloud-name-taken');
    assert.equal(gkeErrorCode(http(404, 'NOT_FOUND', 'Not found: projects/p/locations/l/clusters/c.')), 'cloud-cluster-not-found');
    // A rate limit is throttling, not a quota to raise.
    assert.equal(gkeErrorCode(http(429, 'RESOURCE_EXHAUSTED', "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per user'")), 'cloud-throttled');
    const busy = gkeError(http(400, 'FAILED_PRECONDITION', 'Cluster is running incompatible operation operation-1-ab.'), 'creating node pool x');
    assert.equal(busy.code, 'cloud-failed');
    assert.match(busy.message, /GKE creating node pool x: FAILED_PRECONDITION: Cluster is running incompatible operation/);
    assert.ok(isGkeConflict(busy));
    assert.ok(!isGkeConflict(new CloudError('cloud-failed', 'GKE x: INVALID_ARGUMENT: bad label')));
  });

  it('reads how long to wait from RetryInfo, else from Retry-After (seconds or a date)', () => {
    const throttled = (headers: Record<string, string>, details: unknown[] = []) => ({
      code: 429,
      message: JSON.stringify({ error: { code: 429, message: 'Quota exceeded', status: 'RESOURCE_EXHAUSTED', details } }),
      response: { status: 429, headers: new Headers(headers) },
    });
    assert.equal(gkeRetryAfterMs(throttled({ 'retry-after': '3' })), 3000);
    assert.equal(gkeRetryAfterMs(throttled({ 'retry-after': new Date(10_000).toUTCString() }), 4_000), 6000);
    assert.equal(gkeRetryAfterMs(throttled({}, [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '0.350s' }])), 350);
    assert.equal(gkeRetryAfterMs(throttled({})), undefined);
    // Both: Google's own detail, to the millisecond, not the header's whole second.
    assert.equal(gkeRetryAfterMs(throttled({ 'retry-after': '1' }, [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '0.040s' }])), 40);
    assert.equal(gkeError(throttled({ 'retry-after': '2' }), 'server config').retryAfterMs, 2000);
    // A GoogleError (gRPC-shaped) with its RetryInfo decoded.
    assert.equal(gkeRetryAfterMs({ code: 8, message: 'Quota exceeded', details: [{ retryDelay: { seconds: 1, nanos: 500_000_000 } }] }), 1500);
  });
});
