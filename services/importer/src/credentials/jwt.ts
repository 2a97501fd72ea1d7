/**
 * The expiry (`exp`) of a JSON Web Token, read without verifying it: only the API server can
 * verify its own tokens; this only tells when management will stop working. Undefined for a
 * token that is not a JWT or carries no expiry (legacy service-account tokens, static tokens).
 */
export function jwtExpiry(token: string): Date | undefined {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null) return undefined;
  const exp = (payload as { exp?: unknown }).exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp) || exp <= 0) return undefined;
  const expiry = new Date(exp * 1000);
  return Number.isNaN(expiry.getTime()) ? undefined : expiry;
}
