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
  /** Labels the cluster gets (sent to the tunnel broker, and carried into its import). */
  labels: Record<string, string>;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  /** When the tunnel broker accepted the token (from its TunnelRegistrationRedeemed). */
  usedAt: string | null;
  /** The agent that presented the token, and the certificate the broker gave it. */
  agentId: string | null;
  certificateSerial: string | null;
  certificateExpiresAt: string | null;
}

export const REGISTRATION_STATUSES = ['pending', 'used', 'expired', 'revoked'] as const;
export type RegistrationStatus = (typeof REGISTRATION_STATUSES)[number];

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

export function issueRegistration(
  input: { id: string; clusterId: string; clusterName: string; tunnelUrl: string; tokenHash: string; ttlHours: number; labels?: Record<string, string> | undefined },
  now: Date,
): Registration {
  return {
    id: input.id,
    clusterId: input.clusterId,
    clusterName: input.clusterName,
    tunnelUrl: input.tunnelUrl,
    tokenHash: input.tokenHash,
    labels: input.labels ?? {},
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + input.ttlHours * 3_600_000).toISOString(),
    revokedAt: null,
    usedAt: null,
    agentId: null,
    certificateSerial: null,
    certificateExpiresAt: null,
  };
}

/**
 * Used and revoked are final; otherwise a registration is pending until it expires. Revoked wins
 * over used: a token the broker accepted before it learnt of the revocation is withdrawn again.
 */
export function statusOf(registration: Registration, now: Date): RegistrationStatus {
  if (registration.revokedAt !== null) return 'revoked';
  if (registration.usedAt !== null) return 'used';
  if (now.getTime() >= Date.parse(registration.expiresAt)) return 'expired';
  return 'pending';
}

/** What the tunnel broker reports when an agent presented the token (TunnelRegistrationRedeemed). */
export interface Redemption {
  agentId: string;
  certificateSerial: string;
  certificateExpiresAt: string;
  /** When the broker accepted the token (the event's time). */
  at: string;
}

export type RedeemedDecision =
  /** No registration has that id: nothing to record (the event is refused). */
  | { kind: 'unknown' }
  /** Already recorded (a redelivery, or a second report): nothing changes. */
  | { kind: 'unchanged'; registration: Registration }
  /** Recorded as used: the cluster is imported through its tunnel. */
  | { kind: 'import'; registration: Registration }
  /**
   * Revoked before the broker learnt of it, which accepted the token meanwhile: recorded, and the
   * cluster is removed again so the broker revokes the certificate it gave the agent.
   */
  | { kind: 'withdraw'; registration: Registration };

/**
 * The tunnel broker redeemed a token: it is the one that checks tokens, so its word is a fact
 * (an expiry it judged at that moment stands). Only the revocation made here may still undo it.
 */
export function decideRedeemed(registration: Registration | undefined, redemption: Redemption): RedeemedDecision {
  if (!registration) return { kind: 'unknown' };
  if (registration.usedAt !== null) return { kind: 'unchanged', registration };
  const used: Registration = {
    ...registration,
    usedAt: redemption.at,
    agentId: redemption.agentId,
    certificateSerial: redemption.certificateSerial,
    certificateExpiresAt: redemption.certificateExpiresAt,
  };
  return registration.revokedAt === null ? { kind: 'import', registration: used } : { kind: 'withdraw', registration: used };
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
