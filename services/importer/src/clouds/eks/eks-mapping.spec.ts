import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eksCaCertificatePem, eksCluster, eksError, eksErrorCode, eksRetryAfterMs, retryAfterMs, stsEndpointFor } from './eks-mapping.js';

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

  it('reads the lifecycle refusals: quota, a version EKS will not have, a name in use', () => {
    assert.equal(eksErrorCode({ name: 'ResourceLimitExceededException', message: 'Cluster limit exceeded for account', $metadata: { httpStatusCode: 400 } }), 'cloud-quota-exceeded');
    assert.equal(eksErrorCode({ name: 'InvalidParameterException', message: 'unsupported Kubernetes version 1.27', $metadata: { httpStatusCode: 400 } }), 'cloud-version-not-offered');
    assert.equal(
      eksErrorCode({ name: 'InvalidParameterException', message: 'Unsupported Kubernetes minor version update from 1.29 to 1.31', $metadata: { httpStatusCode: 400 } }),
      'cloud-version-not-offered',
    );
    assert.equal(
      eksErrorCode({ name: 'InvalidParameterException', message: 'Requested Nodegroup version 1.32 is newer than the cluster version 1.31', $metadata: { httpStatusCode: 400 } }),
      'cloud-version-not-offered',
    );
    // Any other bad parameter is a request EKS will never take (permanent); a bare error of that name is no service answer.
    assert.equal(eksErrorCode({ name: 'InvalidParameterException', message: 'Subnets specified must be in at least two different AZs', $metadata: { httpStatusCode: 400 } }), 'cloud-request-invalid');
    assert.equal(eksErrorCode({ name: 'InvalidParameterException', message: 'Subnets specified must be in at least two different AZs' }), 'cloud-failed');
    // A refusal for the resource's state is worth trying again.
    assert.equal(eksErrorCode({ name: 'InvalidRequestException', message: 'Nodegroup is not ACTIVE', $metadata: { httpStatusCode: 400 } }), 'cloud-failed');
    assert.equal(eksErrorCode({ name: 'ResourceLimitExceededException', message: 'x' }), 'cloud-failed');
    assert.equal(eksErrorCode({ name: 'ResourceInUseException', $metadata: { httpStatusCode: 409 } }), 'cloud-failed');
  });

  it('reads Retry-After: seconds, fractions, an HTTP date, nothing usable', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs('3', now), 3000);
    assert.equal(retryAfterMs(' 0.25 ', now), 250);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
    assert.equal(retryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
    assert.equal(eksRetryAfterMs(Object.defineProperty({ name: 'ThrottlingException' }, '$response', { value: { headers: { 'Retry-After': '2' } } }), now), 2000);
    assert.equal(eksRetryAfterMs({ name: 'ThrottlingException' }, now), undefined);
  });

  it('makes a CloudError quoting the service message, with the wait of a throttled call', () => {
    const throttled = Object.defineProperty({ name: 'ThrottlingException', message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }, '$response', {
      value: { headers: { 'retry-after': '1' } },
    });
    const error = eksError(throttled, 'DescribeCluster "a" in eu-west-1');
    assert.equal(error.code, 'cloud-throttled');
    assert.equal(error.retryAfterMs, 1000);
    assert.match(error.message, /EKS DescribeCluster "a" in eu-west-1: ThrottlingException \(Rate exceeded\)/);
    const quota = eksError({ name: 'ResourceLimitExceededException', message: 'Cluster limit exceeded for account', $metadata: { httpStatusCode: 400 } }, 'CreateCluster "a"');
    assert.equal(quota.code, 'cloud-quota-exceeded');
    assert.equal(quota.retryAfterMs, undefined);
    // A network failure's message is Node's, not the service's: not quoted.
    assert.doesNotMatch(eksError({ name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' }, 'ListClusters').message, /127\.0\.0\.1/);
  });

  it('presigns for the regional STS endpoint, .com.cn in China, or the configured one', () => {
    assert.equal(stsEndpointFor('eu-west-1', undefined), 'https://sts.eu-west-1.amazonaws.com');
    assert.equal(stsEndpointFor('cn-north-1', undefined), 'https://sts.cn-north-1.amazonaws.com.cn');
    assert.equal(stsEndpointFor('us-gov-west-1', 'https://sts.{region}.amazonaws.com'), 'https://sts.us-gov-west-1.amazonaws.com');
  });
});
