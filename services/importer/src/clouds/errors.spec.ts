import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLOUD_ERROR_CODES, CloudError, cloudErrorCodeFor, cloudFailureCode, describeCloudError, isTransientCloudError } from './errors.js';

describe('cloud error reasons', () => {
  it('reads the provider code first, then the HTTP status, then the network error', () => {
    const cases: [Parameters<typeof cloudErrorCodeFor>[0], string][] = [
      [{ status: 404, code: 'ResourceNotFoundException' }, 'cloud-cluster-not-found'],
      [{ status: 404, code: 'ResourceNotFound' }, 'cloud-cluster-not-found'],
      [{ code: 'NOT_FOUND' }, 'cloud-cluster-not-found'],
      [{ status: 403, code: 'UnrecognizedClientException' }, 'cloud-auth-failed'],
      [{ status: 403, code: 'InvalidSignatureException' }, 'cloud-auth-failed'],
      [{ status: 401, code: 'InvalidAuthenticationTokenAudience' }, 'cloud-auth-failed'],
      [{ status: 400, code: 'invalid_grant' }, 'cloud-auth-failed'],
      [{ code: 'UNAUTHENTICATED' }, 'cloud-auth-failed'],
      [{ status: 403, code: 'AccessDeniedException' }, 'cloud-access-denied'],
      [{ status: 403, code: 'AuthorizationFailed' }, 'cloud-access-denied'],
      [{ code: 'PERMISSION_DENIED' }, 'cloud-access-denied'],
      [{ status: 429, code: 'ThrottlingException' }, 'cloud-throttled'],
      [{ code: 'RESOURCE_EXHAUSTED' }, 'cloud-throttled'],
      [{ status: 400, code: 'InvalidParameterException' }, 'cloud-request-invalid'],
      [{ status: 400, code: 'InvalidParameter' }, 'cloud-request-invalid'],
      [{ status: 400, code: 'BadRequest' }, 'cloud-request-invalid'],
      [{ code: 'INVALID_ARGUMENT' }, 'cloud-request-invalid'],
      [{ status: 400, code: 'InvalidRequestException' }, 'cloud-failed'],
      [{ code: 'FAILED_PRECONDITION' }, 'cloud-failed'],
      [{ networkCode: 'ECONNREFUSED' }, 'cloud-unreachable'],
      [{ networkCode: 'ENOTFOUND' }, 'cloud-unreachable'],
      [{ code: 'UNAVAILABLE' }, 'cloud-unreachable'],
      [{ status: 401 }, 'cloud-auth-failed'],
      [{ status: 403 }, 'cloud-access-denied'],
      [{ status: 404 }, 'cloud-cluster-not-found'],
      [{ status: 429 }, 'cloud-throttled'],
      [{ status: 503 }, 'cloud-unreachable'],
      [{ status: 500 }, 'cloud-failed'],
      [{}, 'cloud-failed'],
    ];
    for (const [facts, expected] of cases) assert.equal(cloudErrorCodeFor(facts), expected, JSON.stringify(facts));
  });

  it("types a failure reported half-way through an operation from the cloud's reason and message", () => {
    const cases: [string | undefined, string, string][] = [
      ['InsufficientFreeAddresses', 'The subnets do not have enough free IP addresses', 'cloud-quota-exceeded'],
      ['AsgInstanceLaunchFailures', 'Could not launch On-Demand Instances. VcpuLimitExceeded', 'cloud-quota-exceeded'],
      ['QuotaExceeded', 'exceeding approved Cores quota', 'cloud-quota-exceeded'],
      ['RESOURCE_EXHAUSTED', 'Insufficient regional quota to satisfy request', 'cloud-quota-exceeded'],
      ['RESOURCE_EXHAUSTED', 'Not enough resources are available to fulfill the request', 'cloud-failed'],
      ['Ec2SubnetNotFound', 'The subnet ID subnet-0a does not exist', 'cloud-request-invalid'],
      ['INVALID_ARGUMENT', 'no secondary ranges left', 'cloud-request-invalid'],
      ['AgentPoolK8sVersionNotSupported', 'Version 1.28 is not supported', 'cloud-version-not-offered'],
      ['AccessDenied', 'not authorized to perform ec2:RunInstances', 'cloud-access-denied'],
      ['VMExtensionProvisioningError', 'Enable failed: exit status 50', 'cloud-failed'],
      [undefined, '', 'cloud-failed'],
    ];
    for (const [reason, message, expected] of cases) assert.equal(cloudFailureCode(reason, message), expected, `${reason ?? '-'}: ${message}`);
  });

  it('has a title for every code and says which are worth retrying', () => {
    for (const code of CLOUD_ERROR_CODES) assert.ok(describeCloudError(code).length > 10, code);
    assert.deepEqual(CLOUD_ERROR_CODES.filter(isTransientCloudError), ['cloud-throttled', 'cloud-unreachable', 'cloud-failed']);
  });

  it('puts the title before the detail and keeps the field', () => {
    const error = new CloudError('cloud-location-invalid', 'region is required for eks', 'region');
    assert.equal(error.message, 'The cloud location is incomplete: region is required for eks');
    assert.equal(error.field, 'region');
  });
});
