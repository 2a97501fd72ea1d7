/**
 * Why a call to a cloud provider failed. Messages name the provider, the call and the resource,
 * never a credential.
 */
export const CLOUD_ERROR_CODES = [
  'cloud-account-invalid',
  'cloud-location-invalid',
  'cloud-auth-failed',
  'cloud-access-denied',
  'cloud-cluster-not-found',
  'cloud-throttled',
  'cloud-unreachable',
  'cloud-response-invalid',
  'cloud-quota-exceeded',
  'cloud-version-not-offered',
  'cloud-name-taken',
  'cloud-request-invalid',
  'cloud-failed',
] as const;
export type CloudErrorCode = (typeof CLOUD_ERROR_CODES)[number];

/** A short title per code; the error's message adds the specifics. */
export function describeCloudError(code: CloudErrorCode): string {
  switch (code) {
    case 'cloud-account-invalid':
      return 'The stored cloud account is not a valid credential for this provider';
    case 'cloud-location-invalid':
      return 'The cloud location is incomplete';
    case 'cloud-auth-failed':
      return 'The cloud provider refused the account credentials';
    case 'cloud-access-denied':
      return 'The cloud account is not allowed to do this';
    case 'cloud-cluster-not-found':
      return 'The cloud provider has no such cluster';
    case 'cloud-throttled':
      return 'The cloud provider is throttling requests';
    case 'cloud-unreachable':
      return 'The cloud provider API did not answer';
    case 'cloud-response-invalid':
      return 'The cloud provider answered something unusable';
    case 'cloud-quota-exceeded':
      return 'The cloud account has reached a quota or limit';
    case 'cloud-version-not-offered':
      return 'The cloud does not offer this Kubernetes version there';
    case 'cloud-name-taken':
      return 'A cloud resource of that name exists and is not Flotilla\'s';
    case 'cloud-request-invalid':
      return 'The cloud refused the request as invalid (a parameter it does not accept)';
    case 'cloud-failed':
      return 'The cloud provider call failed';
  }
}

/** Answers worth trying again later, as opposed to a wrong account, location or name. */
export function isTransientCloudError(code: CloudErrorCode): boolean {
  switch (code) {
    case 'cloud-throttled':
    case 'cloud-unreachable':
    case 'cloud-failed':
      return true;
    case 'cloud-account-invalid':
    case 'cloud-location-invalid':
    case 'cloud-auth-failed':
    case 'cloud-access-denied':
    case 'cloud-cluster-not-found':
    case 'cloud-response-invalid':
    case 'cloud-quota-exceeded':
    case 'cloud-version-not-offered':
    case 'cloud-name-taken':
    case 'cloud-request-invalid':
      return false;
  }
}

export class CloudError extends Error {
  override readonly name = 'CloudError';

  constructor(
    readonly code: CloudErrorCode,
    detail: string,
    /** The field of the account or location at fault, when one is. */
    readonly field?: string,
    /** Throttled: how long the cloud asked to wait (its Retry-After), when it said. */
    readonly retryAfterMs?: number,
  ) {
    super(`${describeCloudError(code)}: ${detail}`);
  }
}

/** What the SDK errors of the three providers have in common, read defensively. */
export interface SdkErrorFacts {
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /** The provider's error code or exception name (`ResourceNotFoundException`, `AuthorizationFailed`, `NOT_FOUND`...). */
  code?: string;
  /** Node's network error code (`ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT`...). */
  networkCode?: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
  'REQUEST_SEND_ERROR',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The reason for an SDK failure: the provider's own code first (it is the most precise), then the
 * HTTP status, then the network error. `notFound` says what was looked up, for the message.
 */
export function cloudErrorCodeFor(facts: SdkErrorFacts): CloudErrorCode {
  const code = facts.code ?? '';
  if (/^(ResourceNotFound(Exception)?|NotFound(Exception)?|NOT_FOUND|ResourceGroupNotFound)$/.test(code)) return 'cloud-cluster-not-found';
  if (/^(UnrecognizedClientException|InvalidSignatureException|InvalidClientTokenId|ExpiredToken(Exception)?|IncompleteSignature|InvalidAuthenticationToken\w*|ExpiredAuthenticationToken|AuthenticationFailed|invalid_client|invalid_grant|unauthorized_client|UNAUTHENTICATED)$/.test(code)) {
    return 'cloud-auth-failed';
  }
  if (/^(AccessDenied(Exception)?|AuthorizationFailed|Forbidden|LinkedAuthorizationFailed|PERMISSION_DENIED|InvalidSubscriptionId|SubscriptionNotFound)$/.test(code)) return 'cloud-access-denied';
  if (/^(Throttling(Exception)?|TooManyRequests(Exception)?|RequestLimitExceeded|TooManyRequestsReceived|RESOURCE_EXHAUSTED)$/.test(code)) return 'cloud-throttled';
  // The cloud's validation of the request (HTTP 400): sending it again changes nothing.
  if (/^(InvalidParameter(Exception|Value|Combination)?|BadRequest|INVALID_ARGUMENT)$/.test(code)) return 'cloud-request-invalid';
  if (facts.networkCode !== undefined && NETWORK_CODES.has(facts.networkCode)) return 'cloud-unreachable';
  if (/^(UNAVAILABLE|DEADLINE_EXCEEDED)$/.test(code)) return 'cloud-unreachable';
  switch (facts.status) {
    case 400:
      return 'cloud-failed';
    case 401:
      return 'cloud-auth-failed';
    case 403:
      return 'cloud-access-denied';
    case 404:
      return 'cloud-cluster-not-found';
    case 429:
      return 'cloud-throttled';
    case 502:
    case 503:
    case 504:
      return 'cloud-unreachable';
    default:
      return 'cloud-failed';
  }
}

/**
 * The typed reason of a failure a cloud reports half-way through an operation, from its own reason
 * (EKS update error and health issue codes, ARM provisioning error codes, GKE operation status
 * words) and message: a quota, a version, a request the cloud cannot carry out as given, access;
 * anything else (a capacity stockout, an internal error) `cloud-failed`.
 */
export function cloudFailureCode(reason: string | undefined, message = ''): CloudErrorCode {
  const code = reason ?? '';
  if (/Quota|LimitExceeded|LimitReached|InsufficientFreeAddresses/i.test(code) || /\bquota\b|LimitExceeded/i.test(message)) return 'cloud-quota-exceeded';
  if (/VersionNotSupported|VersionIncompatible|UpgradeNotAllowed/.test(code)) return 'cloud-version-not-offered';
  if (/^(InvalidParameter\w*|InvalidRequest|BadRequest|INVALID_ARGUMENT|Ec2\w*NotFound|IamRoleNotFound|\w*InvalidConfiguration|Ec2InstanceTypeDoesNotExist|PropertyChangeNotAllowed)$/.test(code)) return 'cloud-request-invalid';
  if (/^(AccessDenied\w*|AuthorizationFailed|LinkedAuthorizationFailed|PERMISSION_DENIED|IamInstanceProfileNotFound)$/.test(code)) return 'cloud-access-denied';
  return 'cloud-failed';
}
