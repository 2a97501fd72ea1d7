import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gkeCaCertificatePem, gkeCluster, gkeErrorCode } from './gke-mapping.js';

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
});
