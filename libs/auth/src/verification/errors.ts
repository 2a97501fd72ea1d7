import { errors } from 'jose';

/** The caller is not authenticated: answered 401 with a `WWW-Authenticate` challenge. */
export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
}

/** The caller is known but may not do this: answered 403 naming what was missing. */
export class AuthorizationError extends Error {
  override readonly name = 'AuthorizationError';
}

/** A reason a person can act on, from whatever jose threw. Never includes the token. */
export function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `token claim "${error.claim}" is invalid: ${error.reason}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token signing algorithm not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return 'token signed by an unknown key';
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'token key id is ambiguous';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) return 'malformed token';
  if (error instanceof errors.JWKSTimeout) return 'the token issuer did not answer in time';
  if (error instanceof AuthenticationError || error instanceof AuthorizationError) return error.message;
  return 'token could not be verified';
}
