import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eksCaCertificatePem, eksCluster, eksErrorCode, stsEndpointFor } from './eks-mapping.js';

const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('EKS mapping', () => {
  it('turns DescribeCluster and DescribeNodegroup answers into ours', () => {
    const cluster = eksCluster(
      { name: 'prod', version: '1.31', status: 'ACTIVE', endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com', certificateAuthority: { data: Buffer.from(pem).toString('base64') } },
      'eu-west-1',
      [
        { nodegroupName: 'system', version: '1.31', scalingConfig: { minSize: 1, maxSize: 5, desiredSize: 3 }, instanceTypes: ['m6i.large', 'm5.large'] },
        { nodegroupName: 'templated', version: '1.30', scalingConfig: { desiredSize: 0 } },
      ],
    );
    assert.deepEqual(cluster, {
      provider: 'eks',
      name: 'prod',
      location: 'eu-west-1',
      version: '1.31',
      status: 'ACTIVE',
      endpoint: 'https://ABC.gr7.eu-west-1.eks.amazonaws.com',
      nodeGroups: [
        { name: 'system', nodeCount: 3, instanceType: 'm6i.large', version: '1.31' },
        { name: 'templated', nodeCount: 0, instanceType: null, version: '1.30' },
      ],
    });
    assert.equal(eksCaCertificatePem({ certificateAuthority: { data: Buffer.from(pem).toString('base64') } }), pem);
    assert.throws(() => eksCaCertificatePem({ name: 'new', status: 'CREATING' }), /no certificate authority yet \(status CREATING\)/);
    assert.equal(eksCluster({ name: 'new', status: 'CREATING' }, 'eu-west-1', []).endpoint, null);
  });

  it('reads SDK failures: exception name with a status, or a network code', () => {
    assert.equal(eksErrorCode({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } }), 'cloud-cluster-not-found');
    assert.equal(eksErrorCode({ name: 'UnrecognizedClientException', $metadata: { httpStatusCode: 403 } }), 'cloud-auth-failed');
    assert.equal(eksErrorCode({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }), 'cloud-access-denied');
    assert.equal(eksErrorCode({ name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } }), 'cloud-throttled');
    assert.equal(eksErrorCode({ name: 'Error', code: 'ECONNREFUSED', $metadata: {} }), 'cloud-unreachable');
    assert.equal(eksErrorCode({ name: 'TimeoutError' }), 'cloud-unreachable');
    assert.equal(eksErrorCode('boom'), 'cloud-failed');
  });

  it('presigns for the regional STS endpoint, .com.cn in China, or the configured one', () => {
    assert.equal(stsEndpointFor('eu-west-1', undefined), 'https://sts.eu-west-1.amazonaws.com');
    assert.equal(stsEndpointFor('cn-north-1', undefined), 'https://sts.cn-north-1.amazonaws.com.cn');
    assert.equal(stsEndpointFor('us-gov-west-1', 'https://sts.{region}.amazonaws.com'), 'https://sts.us-gov-west-1.amazonaws.com');
  });
});
