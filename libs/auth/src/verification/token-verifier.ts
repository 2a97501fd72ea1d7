import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import type { AuthChange, Jwks, PublishedServiceKey } from '../auth-bucket.js';
import type { LabelScope, Principal } from '../principal.js';
import { isRole, roleAllows } from '../roles.js';
import { SERVICE_ROLES, serviceOfSubject, serviceSubject, type ServiceRoles } from '../service-roles.js';
import { FLOTILLA_AUDIENCE, FLOTILLA_ISSUER, TOKEN_ALGORITHM } from '../tokens.js';
import { AuthenticationError, describeJoseError } from './errors.js';
import type { OidcVerifier } from './oidc-verifier.js';

/** Verified tokens kept at most; a full cache is emptied (tokens are re-verified, not trusted). */
const CACHE_LIMIT = 10_000;

/** `serviceKey` names the service key (`<service>.<replica>`) that signed it, checked on every request. */
type Verified = Principal & { expiresAt: number; keyId?: string; serviceKey?: string };

/** A service replica's published key, as the verifier holds it. */
interface ServiceKey {
  service: string;
  kid: string;
  key: KeyObject;
  expiresAt: number;
}

/**
 * Establishes who a bearer token belongs to. Flotilla tokens are checked against the public keys
 * the issuer published in the authentication bucket and against its revocations; tokens of the
 * configured OIDC issuer go to `OidcVerifier`. A verified token is remembered until it expires,
 * so the signature is checked once per token, while revocation is checked on every request.
 *
 * A token signed by a service replica's key (`service-keys.<service>.<replica>`) is accepted only
 * for the subject `service:<service>`, only with at most the role SERVICE_ROLES gives that service,
 * and only while the key is published and unexpired: a service can sign as itself, as nobody else.
 */
export class TokenVerifier {
  private keys: ReturnType<typeof createLocalJWKSet> = createLocalJWKSet({ keys: [] });
  /** The key ids of the issuer's keys: a token naming one is the issuer's, never a service's. */
  private issuerKeyIds = new Set<string>();
  /** When each retired key stops verifying: checked on every request, cached tokens included. */
  private readonly retirements = new Map<string, number>();
  private readonly revoked = new Map<string, number>();
  private readonly verified = new Map<string, Verified>();
  /** By `<service>.<replica>`. */
  private readonly serviceKeys = new Map<string, ServiceKey>();
  private readonly serviceRoles: ServiceRoles;

  constructor(
    private readonly options: {
      clockToleranceS: number;
      oidc?: OidcVerifier;
      now?: () => number;
      /** Defaults to SERVICE_ROLES; tests name their own. */
      serviceRoles?: ServiceRoles;
    },
  ) {
    this.serviceRoles = options.serviceRoles ?? SERVICE_ROLES;
  }

  /** Applies what the authentication bucket says (keys published, tokens revoked). */
  apply(change: AuthChange): void {
    switch (change.kind) {
      case 'jwks':
        this.keys = createLocalJWKSet(usableKeys(change.jwks, this.now()));
        this.issuerKeyIds = new Set(change.jwks.keys.map((key) => key.kid));
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
      case 'service-key': {
        const name = `${change.service}.${change.replica}`;
        // Whatever this replica published before stops verifying, even if the new entry is unusable.
        this.serviceKeys.delete(name);
        this.serviceKeys.set(name, { service: change.service, ...serviceKey(change.key) });
        return;
      }
      case 'service-key-withdrawn':
        this.serviceKeys.delete(`${change.service}.${change.replica}`);
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
    if (principal.serviceKey !== undefined) {
      const key = this.serviceKeys.get(principal.serviceKey);
      if (!key || key.kid !== principal.keyId) throw new AuthenticationError('token signed by a withdrawn service key');
      if (!this.usable(key)) throw new AuthenticationError('token signed by an expired service key');
    }
    const { expiresAt: _expiresAt, keyId: _keyId, serviceKey: _serviceKey, ...rest } = principal;
    return rest;
  }

  private verifyOptions(): JWTVerifyOptions {
    return {
      issuer: FLOTILLA_ISSUER,
      audience: FLOTILLA_AUDIENCE,
      algorithms: [TOKEN_ALGORITHM],
      clockTolerance: this.options.clockToleranceS,
      requiredClaims: ['sub', 'jti', 'exp'],
      currentDate: new Date(this.now()),
    };
  }

  private async verifyFlotilla(token: string): Promise<Verified> {
    let headerKeyId: unknown;
    try {
      headerKeyId = decodeProtectedHeader(token).kid;
    } catch (error) {
      throw new AuthenticationError(describeJoseError(error));
    }
    // The issuer's keys come first: a service publishing a copy of one takes nothing from it.
    if (typeof headerKeyId === 'string' && !this.issuerKeyIds.has(headerKeyId)) {
      const candidates = [...this.serviceKeys].filter(([, key]) => key.kid === headerKeyId);
      if (candidates.length > 0) return this.verifyService(token, headerKeyId, candidates);
    }
    const { payload, keyId } = await this.signedClaims(token, this.keys);
    return { ...this.principalOf(payload), expiresAt: payload.exp! * 1000, ...(keyId ? { keyId } : {}) };
  }

  /**
   * A token signed by a service key. Entries with the same key id hold the same public key (the
   * id is its thumbprint), so one signature check covers them all; the subject then has to be a
   * service that published it.
   */
  private async verifyService(token: string, keyId: string, candidates: [string, ServiceKey][]): Promise<Verified> {
    const usable = candidates.filter(([, key]) => this.usable(key));
    if (usable.length === 0) throw new AuthenticationError('token signed by an expired service key');
    const { payload } = await this.signedClaims(token, usable[0]![1].key);
    const service = serviceOfSubject(payload.sub!);
    const owned = usable.find(([, key]) => key.service === service);
    if (!owned) {
      const owners = [...new Set(usable.map(([, key]) => serviceSubject(key.service)))].join(', ');
      throw new AuthenticationError(`a service key signs only for its own service: this one for ${owners}`);
    }
    const [name, key] = owned;
    const principal = this.principalOf(payload);
    const allowed = this.serviceRoles[key.service];
    if (!allowed) throw new AuthenticationError(`${serviceSubject(key.service)} has no service identity`);
    if (!roleAllows(allowed, principal.role)) throw new AuthenticationError(`${serviceSubject(key.service)} may act at most as ${allowed}, not ${principal.role}`);
    return { ...principal, expiresAt: payload.exp! * 1000, keyId, serviceKey: name };
  }

  private async signedClaims(token: string, key: KeyObject | JWTVerifyGetKey): Promise<{ payload: JWTPayload; keyId?: string }> {
    try {
      const { payload, protectedHeader } = typeof key === 'function' ? await jwtVerify(token, key, this.verifyOptions()) : await jwtVerify(token, key, this.verifyOptions());
      return { payload, ...(protectedHeader.kid ? { keyId: protectedHeader.kid } : {}) };
    } catch (error) {
      throw new AuthenticationError(describeJoseError(error));
    }
  }

  private principalOf(payload: JWTPayload): Principal {
    if (!isRole(payload['role'])) throw new AuthenticationError('token claim "role" must be viewer, operator or admin');
    const scope = scopeOf(payload['scope']);
    return { subject: payload.sub!, role: payload['role'], issuer: FLOTILLA_ISSUER, tokenId: payload.jti!, ...(scope ? { scope } : {}) };
  }

  /** A service key verifies until its expiry, give or take the clock skew tolerated on tokens. */
  private usable(key: ServiceKey): boolean {
    return key.expiresAt + this.options.clockToleranceS * 1000 > this.now();
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}

/**
 * A published service key, checked: an Ed25519 public key, its id computed here (RFC 7638
 * thumbprint) whatever the entry claims, and a valid expiry. Throws for anything else.
 */
function serviceKey(published: PublishedServiceKey): Omit<ServiceKey, 'service'> {
  const { kty, crv, x } = published;
  if (kty !== 'OKP' || crv !== 'Ed25519' || typeof x !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(x)) throw new Error('a service key must be an Ed25519 public JWK');
  const expiresAt = Date.parse(published.expiresAt);
  if (Number.isNaN(expiresAt)) throw new Error('a service key must carry expiresAt');
  const kid = createHash('sha256').update(JSON.stringify({ crv, kty, x })).digest('base64url');
  return { kid, key: createPublicKey({ key: { kty, crv, x }, format: 'jwk' }), expiresAt };
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
