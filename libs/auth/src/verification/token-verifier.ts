import { createLocalJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import type { AuthChange, Jwks } from '../auth-bucket.js';
import type { LabelScope, Principal } from '../principal.js';
import { isRole } from '../roles.js';
import { FLOTILLA_AUDIENCE, FLOTILLA_ISSUER, TOKEN_ALGORITHM } from '../tokens.js';
import { AuthenticationError, describeJoseError } from './errors.js';
import type { OidcVerifier } from './oidc-verifier.js';

/** Verified tokens kept at most; a full cache is emptied (tokens are re-verified, not trusted). */
const CACHE_LIMIT = 10_000;

type Verified = Principal & { expiresAt: number; keyId?: string };

/**
 * Establishes who a bearer token belongs to. Flotilla tokens are checked against the public keys
 * the issuer published in the authentication bucket and against its revocations; tokens of the
 * configured OIDC issuer go to `OidcVerifier`. A verified token is remembered until it expires,
 * so the signature is checked once per token, while revocation is checked on every request.
 */
export class TokenVerifier {
  private keys: ReturnType<typeof createLocalJWKSet> = createLocalJWKSet({ keys: [] });
  /** When each retired key stops verifying: checked on every request, cached tokens included. */
  private readonly retirements = new Map<string, number>();
  private readonly revoked = new Map<string, number>();
  private readonly verified = new Map<string, Verified>();

  constructor(
    private readonly options: { clockToleranceS: number; oidc?: OidcVerifier; now?: () => number },
  ) {}

  /** Applies what the authentication bucket says (keys published, tokens revoked). */
  apply(change: AuthChange): void {
    switch (change.kind) {
      case 'jwks':
        this.keys = createLocalJWKSet(usableKeys(change.jwks, this.now()));
        this.retirements.clear();
        for (const key of change.jwks.keys) if (key.retiresAt) this.retirements.set(key.kid, Date.parse(key.retiresAt));
        // A key taken away must take its tokens with it.
        this.verified.clear();
        return;
      case 'revoked':
        this.revoked.set(change.tokenId, change.expiresAt);
        return;
      case 'unrevoked':
        this.revoked.delete(change.tokenId);
        return;
    }
  }

  isRevoked(tokenId: string): boolean {
    return this.revoked.has(tokenId);
  }

  /** The principal of an `Authorization` header's value; throws AuthenticationError otherwise. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new AuthenticationError('no bearer token');
    const match = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(authorization);
    if (!match) throw new AuthenticationError('the Authorization header must be "Bearer <token>"');
    return this.verify(match[1]!);
  }

  async verify(token: string): Promise<Principal> {
    const now = this.now();
    const known = this.verified.get(token);
    if (known && known.expiresAt + this.options.clockToleranceS * 1000 > now) return this.unlessRevoked(known);
    if (known) this.verified.delete(token);

    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch (error) {
      throw new AuthenticationError(describeJoseError(error));
    }
    let principal: Verified;
    if (issuer === FLOTILLA_ISSUER) principal = await this.verifyFlotilla(token);
    else if (this.options.oidc && issuer === this.options.oidc.issuer) principal = await this.options.oidc.verify(token);
    // The unverified issuer is not repeated: it is the caller's text.
    else throw new AuthenticationError('tokens of this issuer are not accepted');

    if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
    this.verified.set(token, principal);
    return this.unlessRevoked(principal);
  }

  private unlessRevoked(principal: Verified): Principal {
    if (principal.tokenId !== undefined && this.revoked.has(principal.tokenId)) throw new AuthenticationError('token revoked');
    const retiresAt = principal.keyId === undefined ? undefined : this.retirements.get(principal.keyId);
    if (retiresAt !== undefined && retiresAt <= this.now()) throw new AuthenticationError('token signed by a retired key');
    const { expiresAt: _expiresAt, keyId: _keyId, ...rest } = principal;
    return rest;
  }

  private async verifyFlotilla(token: string): Promise<Verified> {
    let payload: JWTPayload;
    let keyId: string | undefined;
    try {
      ({ payload, protectedHeader: { kid: keyId } } = await jwtVerify(token, this.keys, {
        issuer: FLOTILLA_ISSUER,
        audience: FLOTILLA_AUDIENCE,
        algorithms: [TOKEN_ALGORITHM],
        clockTolerance: this.options.clockToleranceS,
        requiredClaims: ['sub', 'jti', 'exp'],
        currentDate: new Date(this.now()),
      }));
    } catch (error) {
      throw new AuthenticationError(describeJoseError(error));
    }
    if (!isRole(payload['role'])) throw new AuthenticationError('token claim "role" must be viewer, operator or admin');
    const scope = scopeOf(payload['scope']);
    return { subject: payload.sub!, role: payload['role'], issuer: FLOTILLA_ISSUER, tokenId: payload.jti!, ...(scope ? { scope } : {}), expiresAt: payload.exp! * 1000, ...(keyId ? { keyId } : {}) };
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}

/** Keys whose retirement date has passed no longer verify anything. */
function usableKeys(jwks: Jwks, now: number): Jwks {
  return { keys: jwks.keys.filter((key) => !key.retiresAt || Date.parse(key.retiresAt) > now).map(({ retiresAt: _retiresAt, ...key }) => ({ ...key })) };
}

function scopeOf(claim: unknown): LabelScope | undefined {
  if (claim === undefined) return undefined;
  const labels: unknown = claim !== null && typeof claim === 'object' ? (claim as Record<string, unknown>)['labels'] : undefined;
  const valid = labels !== null && typeof labels === 'object' && Object.values(labels).every((value) => typeof value === 'string') && Object.keys(labels).length > 0;
  if (!valid) throw new AuthenticationError('token claim "scope" must be { labels: { key: value, ... } }');
  return { labels: labels as Record<string, string> };
}
