import { request } from 'node:https';
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload } from 'jose';
import type { GroupGrant } from '../config.js';
import type { Principal } from '../principal.js';
import { ROLES } from '../roles.js';
import { AuthenticationError, AuthorizationError, describeJoseError } from './errors.js';

export interface OidcOptions {
  issuer: string;
  audience: string;
  groupsClaim: string;
  grants: GroupGrant[];
  /** PEM CAs to trust besides the system's. */
  ca?: string;
  clockToleranceS: number;
  timeoutMs?: number;
  /** The least time between two JWKS fetches, however many unknown key ids arrive (default 30 s). */
  refetchCooldownMs?: number;
}

type FetchLike = (url: string, options: { headers: Headers | Record<string, string>; signal?: AbortSignal }) => Promise<Response>;

/** A GET over node:https, so a private issuer's CA can be trusted for this client alone. */
function fetchTrusting(ca: string | undefined, timeoutMs: number): FetchLike {
  return (url, options) =>
    new Promise<Response>((resolve, reject) => {
      const headers = options.headers instanceof Headers ? Object.fromEntries(options.headers.entries()) : options.headers;
      const req = request(url, { method: 'GET', headers, ...(ca ? { ca } : {}), timeout: timeoutMs, ...(options.signal ? { signal: options.signal } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: res.headers as Record<string, string> })));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
}

/**
 * Tokens of an external OpenID Connect issuer: its discovery document names the JWKS, which
 * jose caches and fetches again when a token names a key id it has not seen (key rotation).
 * Groups from `groupsClaim` map to a role and, optionally, a label scope.
 */
export class OidcVerifier {
  private keys?: Promise<ReturnType<typeof createRemoteJWKSet>>;
  /** After a failed discovery, callers are refused at once until then (no outbound call per request). */
  private retryDiscoveryAt = 0;
  private readonly fetch: FetchLike;

  constructor(private readonly options: OidcOptions) {
    this.fetch = fetchTrusting(options.ca, options.timeoutMs ?? 5_000);
  }

  get issuer(): string {
    return this.options.issuer;
  }

  async verify(token: string): Promise<Principal & { expiresAt: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.jwks(), {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
        clockTolerance: this.options.clockToleranceS,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (error) {
      throw new AuthenticationError(describeJoseError(error));
    }
    const grant = widestGrant(this.options.grants, groupsOf(payload[this.options.groupsClaim]));
    if (!grant) throw new AuthorizationError(`none of the caller's groups (claim "${this.options.groupsClaim}") is mapped to a role`);
    return {
      subject: payload.sub!,
      role: grant.role,
      issuer: this.options.issuer,
      ...(grant.labels ? { scope: { labels: grant.labels } } : {}),
      expiresAt: payload.exp! * 1000,
    };
  }

  /** One discovery at a time; a failure is remembered for the cooldown. */
  private jwks(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (this.keys) return this.keys;
    if (Date.now() < this.retryDiscoveryAt) return Promise.reject(new AuthenticationError('the OIDC issuer could not be reached recently; try again shortly'));
    const discovering = this.discover();
    this.keys = discovering;
    discovering.catch(() => {
      this.keys = undefined;
      this.retryDiscoveryAt = Date.now() + (this.options.refetchCooldownMs ?? 30_000);
    });
    return discovering;
  }

  private async discover(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    const base = this.options.issuer.replace(/\/$/, '');
    let discovery: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await this.fetch(`${base}/.well-known/openid-configuration`, { headers: { accept: 'application/json' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      discovery = (await response.json()) as typeof discovery;
    } catch (error) {
      throw new AuthenticationError(`the OIDC issuer's discovery document could not be read: ${(error as Error).message}`);
    }
    if (discovery.issuer !== this.options.issuer) throw new AuthenticationError(`the OIDC discovery document names issuer ${JSON.stringify(discovery.issuer)}, not ${this.options.issuer}`);
    if (typeof discovery.jwks_uri !== 'string' || !discovery.jwks_uri.startsWith('https://')) throw new AuthenticationError('the OIDC discovery document has no https jwks_uri');
    return createRemoteJWKSet(new URL(discovery.jwks_uri), { [customFetch]: this.fetch, cooldownDuration: this.options.refetchCooldownMs ?? 30_000, cacheMaxAge: 10 * 60_000 });
  }
}

function groupsOf(claim: unknown): string[] {
  if (typeof claim === 'string') return [claim];
  return Array.isArray(claim) ? claim.filter((group): group is string => typeof group === 'string') : [];
}

/** The highest role any group grants; unscoped if any group grants that role without a scope. */
export function widestGrant(grants: GroupGrant[], groups: string[]): GroupGrant | undefined {
  const matching = grants.filter((grant) => groups.includes(grant.group));
  const best = Math.max(-1, ...matching.map((grant) => ROLES.indexOf(grant.role)));
  const top = matching.filter((grant) => ROLES.indexOf(grant.role) === best);
  return top.find((grant) => !grant.labels) ?? top[0];
}
