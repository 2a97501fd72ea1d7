import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import type { LabelScope } from './principal.js';
import type { Role } from './roles.js';

/** The `iss` of tokens this installation issues, and the `aud` they are for. */
export const FLOTILLA_ISSUER = 'flotilla';
export const FLOTILLA_AUDIENCE = 'flotilla-api';
/** Ed25519 signatures: small keys, fast verification, no parameter choices to get wrong. */
export const TOKEN_ALGORITHM = 'EdDSA';

/** The claims of a Flotilla token beyond the registered ones. */
export interface FlotillaClaims {
  role: Role;
  scope?: LabelScope;
}

export interface TokenRequest {
  subject: string;
  role: Role;
  scope?: LabelScope;
  expiresAt: Date;
  /** Defaults to a random UUID. */
  tokenId?: string;
  issuedAt?: Date;
}

/** An Ed25519 key pair as JWKs; the private one is kept sealed by the issuer. */
export interface SigningKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateJwk: { ...(await exportJWK(privateKey)), kid, alg: TOKEN_ALGORITHM }, publicJwk: { ...publicJwk, kid, alg: TOKEN_ALGORITHM, use: 'sig' } };
}

/** Signs a Flotilla token. */
export async function signToken(key: SigningKey, request: TokenRequest): Promise<{ token: string; tokenId: string }> {
  const tokenId = request.tokenId ?? randomUUID();
  const claims: FlotillaClaims = { role: request.role, ...(request.scope ? { scope: request.scope } : {}) };
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setIssuer(FLOTILLA_ISSUER)
    .setAudience(FLOTILLA_AUDIENCE)
    .setSubject(request.subject)
    .setJti(tokenId)
    .setIssuedAt(Math.floor((request.issuedAt ?? new Date()).getTime() / 1000))
    .setExpirationTime(Math.floor(request.expiresAt.getTime() / 1000))
    .sign(await importJWK(key.privateJwk, TOKEN_ALGORITHM));
  return { token, tokenId };
}
