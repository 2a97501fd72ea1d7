import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AuthBucket, generateSigningKey, signToken, type PublishedKey, type Role, type SigningKey } from '@flotilla/auth';
import { UnitOfWork } from '@flotilla/messaging';
import { SecretStore } from '@flotilla/secrets';
import { PeriodicTask } from '@flotilla/service-kit';
import type { JWK } from 'jose';
import { MAX_TOKEN_LIFETIME_MS, type TokenDescription } from './token-requests.js';

const KEY_SECRET_KIND = 'token-signing-key';
/** How often revocations of expired tokens are forgotten and retired keys withdrawn. */
const TIDY_INTERVAL_MS = 3_600_000;
const keyRef = (kid: string) => `${KEY_SECRET_KIND}/${kid}`;
/** Beyond any clock tolerance a service may be configured with. */
const MAX_CLOCK_SKEW_MS = 300_000;
const KEY_LOCK = 'flotilla-token-signing-key';

interface TokenRow {
  id: string;
  subject: string;
  role: Role;
  scope: { labels: Record<string, string> } | null;
  description: string | null;
  key_id: string;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_by: string | null;
}

interface KeyRow {
  kid: string;
  public_jwk: JWK;
  created_at: Date;
  retired_at: Date | null;
  withdrawn_at: Date | null;
}

export interface SigningKeyDescription {
  kid: string;
  createdAt: string;
  retiredAt: string | null;
  withdrawnAt: string | null;
}

function describeKey(row: KeyRow): SigningKeyDescription {
  return { kid: row.kid, createdAt: row.created_at.toISOString(), retiredAt: row.retired_at?.toISOString() ?? null, withdrawnAt: row.withdrawn_at?.toISOString() ?? null };
}

export interface IssueRequest {
  subject: string;
  role: Role;
  scope?: { labels: Record<string, string> } | undefined;
  lifetimeMs: number;
  description?: string | undefined;
}

/**
 * Flotilla's token issuer. Its Ed25519 signing key is sealed in the inventory's secrets; the
 * public keys go to the authentication bucket, where every service reads them. Tokens are
 * recorded here without the token itself, and revoked by an entry in the bucket, so a revoked
 * token stops working on every service as soon as the entry arrives. Rotating the key keeps the
 * old public key published until the last token it signed has expired.
 */
@Injectable()
export class TokenIssuer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('TokenIssuer');
  private readonly tidying = new PeriodicTask('token tidying', TIDY_INTERVAL_MS, () => this.tidy(), this.logger);

  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(SecretStore) private readonly secrets: SecretStore,
    @Inject(AuthBucket) private readonly bucket: AuthBucket,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.unitOfWork.run(async () => {
      await this.lock();
      if ((await this.activeKey()) === undefined) await this.createKey();
    });
    await this.publishKeys();
    this.tidying.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.tidying.stop();
  }

  /**
   * Forgets revocations of tokens that have expired anyway (they would otherwise pile up in
   * every service's memory), and withdraws retired keys whose last token has expired.
   */
  async tidy(now = Date.now()): Promise<number> {
    let forgotten = 0;
    for (const { tokenId, expiresAt } of await this.bucket.revocations()) {
      if (expiresAt + MAX_CLOCK_SKEW_MS < now) {
        await this.bucket.forgetRevocation(tokenId);
        forgotten++;
      }
    }
    await this.publishKeys();
    return forgotten;
  }

  async issue(request: IssueRequest, createdBy: string): Promise<{ token: string; description: TokenDescription }> {
    return this.unitOfWork.run(async () => {
      // Shared with other issuers, exclusive against a rotation: a token is never signed by a key
      // being retired while its expiry is not yet counted.
      await this.unitOfWork.manager.query(`SELECT pg_advisory_xact_lock_shared(hashtext('${KEY_LOCK}'))`);
      const key = await this.signingKey();
      const id = randomUUID();
      const expiresAt = new Date(Date.now() + request.lifetimeMs);
      const { token } = await signToken(key, { subject: request.subject, role: request.role, expiresAt, tokenId: id, ...(request.scope ? { scope: request.scope } : {}) });
      const [row] = await this.unitOfWork.manager.query<TokenRow[]>(
        `INSERT INTO api_tokens (id, subject, role, scope, description, key_id, created_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [id, request.subject, request.role, request.scope ? JSON.stringify(request.scope) : null, request.description ?? null, key.kid, createdBy, expiresAt],
      );
      return { token, description: describe(row!) };
    });
  }

  async list(includeExpired: boolean): Promise<TokenDescription[]> {
    const rows = await this.unitOfWork.manager.query<TokenRow[]>(`SELECT * FROM api_tokens ${includeExpired ? '' : 'WHERE expires_at > now()'} ORDER BY created_at DESC`);
    return rows.map(describe);
  }

  async find(id: string): Promise<TokenDescription | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const [row] = await this.unitOfWork.manager.query<TokenRow[]>(`SELECT * FROM api_tokens WHERE id = $1`, [id]);
    return row ? describe(row) : undefined;
  }

  /** Revokes a token everywhere; revoking twice changes nothing. Undefined if there is no such token. */
  async revoke(id: string, by: string): Promise<TokenDescription | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return undefined;
    // An UPDATE answers [rows, affected count].
    const [[row]] = await this.unitOfWork.manager.query<[TokenRow[], number]>(
      `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, $2) WHERE id = $1 RETURNING *`,
      [id, by],
    );
    if (!row) return undefined;
    // After the commit: a failure here leaves the row revoked, and revoking again publishes it.
    await this.bucket.revoke(id, row.expires_at);
    return describe(row);
  }

  /** A new signing key signs from now on; the old one stays published until its tokens expire. */
  async rotate(): Promise<{ kid: string }> {
    const kid = await this.unitOfWork.run(async () => {
      await this.lock();
      await this.unitOfWork.manager.query(`UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL`);
      return (await this.createKey()).kid;
    });
    await this.publishKeys();
    this.logger.log({ msg: 'token signing key rotated', kid });
    return { kid };
  }

  async keys(): Promise<SigningKeyDescription[]> {
    const rows = await this.unitOfWork.manager.query<KeyRow[]>(`SELECT * FROM signing_keys ORDER BY created_at DESC`);
    return rows.map(describeKey);
  }

  /**
   * Withdraws a retired key at once: every token it signed stops working on every service. The
   * answer to a key that may have leaked (rotate first, so that new tokens have a key).
   */
  async withdraw(kid: string): Promise<SigningKeyDescription | 'active' | undefined> {
    const outcome = await this.unitOfWork.run(async () => {
      await this.lock();
      const [row] = await this.unitOfWork.manager.query<KeyRow[]>(`SELECT * FROM signing_keys WHERE kid = $1 FOR UPDATE`, [kid]);
      if (!row) return undefined;
      if (!row.retired_at) return 'active' as const;
      const [[withdrawn]] = await this.unitOfWork.manager.query<[KeyRow[], number]>(`UPDATE signing_keys SET withdrawn_at = coalesce(withdrawn_at, now()) WHERE kid = $1 RETURNING *`, [kid]);
      await this.secrets.delete(keyRef(kid));
      return describeKey(withdrawn!);
    });
    if (outcome !== undefined && outcome !== 'active') await this.publishKeys();
    return outcome;
  }

  /**
   * Publishes this issuer's public keys: the active one, and retired ones until the last token
   * they signed expires. Keys of other issuers sharing the bucket are left as they are.
   */
  async publishKeys(): Promise<void> {
    const rows = await this.unitOfWork.manager.query<(KeyRow & { last_expiry: Date | null })[]>(
      `SELECT k.*, (SELECT max(expires_at) FROM api_tokens t WHERE t.key_id = k.kid) AS last_expiry FROM signing_keys k WHERE k.withdrawn_at IS NULL`,
    );
    // Withdrawn keys are ours too: they must leave the published set.
    const withdrawn = await this.unitOfWork.manager.query<{ kid: string }[]>(`SELECT kid FROM signing_keys WHERE withdrawn_at IS NOT NULL`);
    const ours = new Set([...rows, ...withdrawn].map((row) => row.kid));
    const published: PublishedKey[] = rows
      .filter((row) => !row.retired_at || (row.last_expiry !== null && row.last_expiry > new Date()))
      .map((row) => ({ ...row.public_jwk, kid: row.kid, ...(row.retired_at ? { retiresAt: new Date(Math.min(row.last_expiry!.getTime(), row.retired_at.getTime() + MAX_TOKEN_LIFETIME_MS)).toISOString() } : {}) }));
    await this.bucket.updateJwks((jwks) => ({ keys: [...jwks.keys.filter((key) => !ours.has(key.kid)), ...published] }));
  }

  private async signingKey(): Promise<SigningKey> {
    const active = await this.activeKey();
    if (!active) throw new Error('no active token signing key');
    const secret = await this.secrets.reveal(keyRef(active.kid));
    if (!secret) throw new Error(`token signing key ${active.kid} is missing from the secrets`);
    return { kid: active.kid, privateJwk: JSON.parse(secret.revealString()) as JWK, publicJwk: active.public_jwk };
  }

  private async activeKey(): Promise<KeyRow | undefined> {
    const [row] = await this.unitOfWork.manager.query<KeyRow[]>(`SELECT * FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC LIMIT 1`);
    return row;
  }

  private async createKey(): Promise<SigningKey> {
    const key = await generateSigningKey();
    await this.secrets.put(keyRef(key.kid), KEY_SECRET_KIND, JSON.stringify(key.privateJwk));
    await this.unitOfWork.manager.query(`INSERT INTO signing_keys (kid, public_jwk) VALUES ($1, $2)`, [key.kid, JSON.stringify(key.publicJwk)]);
    return key;
  }

  /** Replicas starting together make one key, not one each. */
  private async lock(): Promise<void> {
    await this.unitOfWork.manager.query(`SELECT pg_advisory_xact_lock(hashtext('${KEY_LOCK}'))`);
  }
}

function describe(row: TokenRow): TokenDescription {
  return {
    id: row.id,
    subject: row.subject,
    role: row.role,
    scope: row.scope,
    description: row.description,
    keyId: row.key_id,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
    revokedBy: row.revoked_by ?? null,
  };
}
