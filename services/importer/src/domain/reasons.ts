import type { Reason } from '@flotilla/contracts';

/**
 * Why the importer refuses an import or reports a check failure. Policy refusals keep the
 * version policy's own codes (`onboard-out-of-range`, `version-invalid`...); these are the rest.
 */
export const IMPORT_REASON_CODES = [
  // the request itself
  'api-server-required',
  'credential-not-found',
  'credential-expired',
  'credential-kind-mismatch',
  'credential-unbound',
  'credential-server-mismatch',
  'credential-ca-mismatch',
  // the connectivity check (what a ClusterProbe may answer)
  'probe-unavailable',
  'probe-timeout',
  'probe-failed',
  'api-server-unreachable',
  'tls-verification-failed',
  'unauthorized',
  'forbidden',
  'not-kubernetes',
  'api-server-error',
  'cloud-location-required',
  'cloud-access-failed',
  // clusters registered through the tunnel
  'tunnel-not-registered',
  'tunnel-request-invalid',
  'tunnel-down',
  'tunnel-unavailable',
] as const;
export type ImportReasonCode = (typeof IMPORT_REASON_CODES)[number];

/** Warnings attached to an accepted import. */
export const IMPORT_WARNING_CODES = ['credential-expires', 'api-server-not-ready'] as const;
export type ImportWarningCode = (typeof IMPORT_WARNING_CODES)[number];

/** A short title per code: the `message` of a reason adds the specifics. */
export function describeImportReason(code: ImportReasonCode): string {
  switch (code) {
    case 'api-server-required':
      return 'An API server address is required';
    case 'credential-not-found':
      return 'No credential with that reference is stored';
    case 'credential-expired':
      return 'The credential has expired';
    case 'credential-kind-mismatch':
      return 'The credential cannot be used for this provider';
    case 'credential-unbound':
      return 'The credential is bound to no API server';
    case 'credential-server-mismatch':
      return 'The credential is bound to another API server';
    case 'credential-ca-mismatch':
      return 'The credential is bound to another CA';
    case 'probe-unavailable':
      return 'Connectivity checks are not available';
    case 'probe-timeout':
      return 'The connectivity check took too long';
    case 'probe-failed':
      return 'The connectivity check failed unexpectedly';
    case 'api-server-unreachable':
      return 'The API server did not answer';
    case 'tls-verification-failed':
      return "The API server's certificate could not be verified";
    case 'unauthorized':
      return 'The API server refused the credential';
    case 'forbidden':
      return 'The credential lacks cluster-admin rights';
    case 'not-kubernetes':
      return 'The address does not serve a Kubernetes API';
    case 'api-server-error':
      return 'The API server answered with an error';
    case 'cloud-location-required':
      return 'The cloud location of the cluster is required';
    case 'cloud-access-failed':
      return 'The cloud provider did not give access to the cluster';
    case 'tunnel-not-registered':
      return 'The cluster has no redeemed tunnel registration';
    case 'tunnel-request-invalid':
      return 'The request does not fit a cluster reached through its tunnel';
    case 'tunnel-down':
      return "The cluster's tunnel is down";
    case 'tunnel-unavailable':
      return 'The tunnel broker cannot be used';
  }
}

export function importReason(code: ImportReasonCode, detail: string, field?: string): Reason {
  return { code, message: `${describeImportReason(code)}: ${detail}`, ...(field === undefined ? {} : { field }) };
}
