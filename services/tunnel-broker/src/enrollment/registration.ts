/**
 * A registration as the broker knows it: the importer issued it and sent only the token's hash.
 * The agent that presents the token first gets its cluster's certificate; nobody else ever does.
 */
export interface Registration {
  registrationId: string;
  clusterId: string;
  clusterName: string;
  tokenHash: string;
  labels: Record<string, string>;
  expiresAt: string;
  revokedAt: string | null;
  redeemedAt: string | null;
}

/** Why a token was not accepted: the same codes the importer uses for its registrations. */
export const ENROLLMENT_REFUSALS = ['token-unknown', 'token-expired', 'token-revoked', 'token-used'] as const;
export type EnrollmentRefusal = (typeof ENROLLMENT_REFUSALS)[number];

export function describeRefusal(reason: EnrollmentRefusal): string {
  switch (reason) {
    case 'token-unknown':
      return 'no registration has this token';
    case 'token-expired':
      return 'the registration token has expired: issue a new registration';
    case 'token-revoked':
      return 'the registration token was revoked';
    case 'token-used':
      return 'the registration token was already used: a token registers one agent once';
  }
}

export type EnrollmentDecision = { ok: true } | { ok: false; reason: EnrollmentRefusal };

/** Whether a registration read under its row lock may be redeemed now. */
export function decideEnrollment(registration: Registration | undefined, now: Date): EnrollmentDecision {
  if (!registration) return { ok: false, reason: 'token-unknown' };
  if (registration.redeemedAt) return { ok: false, reason: 'token-used' };
  if (registration.revokedAt) return { ok: false, reason: 'token-revoked' };
  if (Date.parse(registration.expiresAt) <= now.getTime()) return { ok: false, reason: 'token-expired' };
  return { ok: true };
}

/** Tokens of the importer's shape: `flotilla_reg_` and 43 base64url characters. Junk needs no database. */
export function looksLikeToken(token: string): boolean {
  return /^flotilla_reg_[A-Za-z0-9_-]{43}$/.test(token);
}

/**
 * When a certificate should be renewed: once two thirds of its life have passed, so an agent that
 * is offline for a while still comes back with a valid one.
 */
export function renewalDue(notBefore: Date, notAfter: Date, now: Date): boolean {
  const life = notAfter.getTime() - notBefore.getTime();
  return now.getTime() >= notBefore.getTime() + (life * 2) / 3;
}
