import { createHash, randomBytes } from 'node:crypto';

/**
 * A one-time registration of a cluster the global side cannot reach: its agent presents the token
 * once, to open its first tunnel. Only the token's SHA-256 is ever stored.
 */
export interface Registration {
  id: string;
  clusterId: string;
  clusterName: string;
  tunnelUrl: string;
  /** SHA-256 of the token, hex. */
  tokenHash: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  usedAt: string | null;
}

export const REGISTRATION_STATUSES = ['pending', 'used', 'expired', 'revoked'] as const;
export type RegistrationStatus = (typeof REGISTRATION_STATUSES)[number];

/** Why a token was not accepted. */
export const REDEEM_FAILURES = ['token-unknown', 'token-expired', 'token-revoked', 'token-used'] as const;
export type RedeemFailure = (typeof REDEEM_FAILURES)[number];

export function describeRedeemFailure(reason: RedeemFailure): string {
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

/** Tokens carry a prefix so secret scanners and people recognise them; 256 random bits follow. */
export const TOKEN_PREFIX = 'flotilla_reg_';
const TOKEN_PATTERN = /^flotilla_reg_[A-Za-z0-9_-]{43}$/;

export function generateToken(): { token: string; tokenHash: string } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, tokenHash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether a string has the shape of a token at all (saves a database round trip for junk). */
export function looksLikeToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

export function issueRegistration(input: { id: string; clusterId: string; clusterName: string; tunnelUrl: string; tokenHash: string; ttlHours: number }, now: Date): Registration {
  return {
    id: input.id,
    clusterId: input.clusterId,
    clusterName: input.clusterName,
    tunnelUrl: input.tunnelUrl,
    tokenHash: input.tokenHash,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + input.ttlHours * 3_600_000).toISOString(),
    revokedAt: null,
    usedAt: null,
  };
}

/** Used and revoked are final; otherwise a registration is pending until it expires. */
export function statusOf(registration: Registration, now: Date): RegistrationStatus {
  if (registration.usedAt !== null) return 'used';
  if (registration.revokedAt !== null) return 'revoked';
  if (now.getTime() >= Date.parse(registration.expiresAt)) return 'expired';
  return 'pending';
}

export type RedeemDecision = { ok: true; registration: Registration } | { ok: false; reason: RedeemFailure };

/** Redeeming a pending registration marks it used; anything else says why not. */
export function decideRedeem(registration: Registration | undefined, now: Date): RedeemDecision {
  if (!registration) return { ok: false, reason: 'token-unknown' };
  const status = statusOf(registration, now);
  switch (status) {
    case 'pending':
      return { ok: true, registration: { ...registration, usedAt: now.toISOString() } };
    case 'used':
      return { ok: false, reason: 'token-used' };
    case 'revoked':
      return { ok: false, reason: 'token-revoked' };
    case 'expired':
      return { ok: false, reason: 'token-expired' };
  }
}

export type RevokeDecision = { ok: true; registration: Registration; changed: boolean } | { ok: false; reason: 'token-used' };

/**
 * Revoking stops a token from ever being redeemed. Revoking twice, or revoking an expired token,
 * is harmless; a used token registered its agent already, so revoking it is refused (remove the
 * cluster instead).
 */
export function decideRevoke(registration: Registration, now: Date): RevokeDecision {
  const status = statusOf(registration, now);
  switch (status) {
    case 'pending':
    case 'expired':
      return { ok: true, registration: { ...registration, revokedAt: now.toISOString() }, changed: true };
    case 'revoked':
      return { ok: true, registration, changed: false };
    case 'used':
      return { ok: false, reason: 'token-used' };
  }
}
