import { randomBytes } from 'node:crypto';
import { Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import type { AuthBucket, PublishedServiceKey } from './auth-bucket.js';
import type { Role } from './roles.js';
import { SERVICE_ROLES, serviceSubject, type ServiceRoles } from './service-roles.js';
import { generateSigningKey, signToken, type SigningKey } from './tokens.js';

export interface ServiceIdentityTimings {
  /** How long a published key verifies without being refreshed. */
  keyLifetimeMs: number;
  /** How often a replica moves its key's expiry forward. */
  keyRefreshMs: number;
  /** How soon a failed publication is tried again. */
  keyRetryMs: number;
  /** How long a minted token is valid. */
  tokenLifetimeMs: number;
  /** A cached token is minted again when less than this is left of it. */
  tokenRenewBeforeMs: number;
}

export const DEFAULT_SERVICE_IDENTITY_TIMINGS: ServiceIdentityTimings = {
  keyLifetimeMs: 60 * 60_000,
  keyRefreshMs: 20 * 60_000,
  keyRetryMs: 30_000,
  tokenLifetimeMs: 10 * 60_000,
  tokenRenewBeforeMs: 5 * 60_000,
};

/** The token asked for cannot be had: the service has no identity, or its key is not published. */
export class ServiceIdentityError extends Error {
  override readonly name = 'ServiceIdentityError';
}

export interface ServiceIdentityOptions extends Partial<ServiceIdentityTimings> {
  /** Defaults to SERVICE_ROLES; tests name their own. */
  roles?: ServiceRoles;
  now?: () => number;
}

/**
 * A service's own identity towards other services' HTTP APIs. Each replica generates an Ed25519
 * key when it starts (never stored), publishes the public half in the authentication bucket under
 * `service-keys.<service>.<replica>` with an expiry it keeps moving forward, withdraws it when it
 * stops, and signs short-lived tokens for `service:<service>` with the role SERVICE_ROLES gives
 * it. Other services accept such a token only for that subject and at most that role.
 */
export class ServiceIdentity implements BeforeApplicationShutdown {
  private readonly logger = new Logger('ServiceIdentity');
  /** The token's subject, `service:<service>`. */
  readonly subject: string;
  /** The role its tokens carry; undefined for a service without identity. */
  readonly role: Role | undefined;
  /** This replica's name in the bucket, new at every start. */
  readonly replica = randomBytes(8).toString('hex');
  private readonly timings: ServiceIdentityTimings;
  private readonly now: () => number;
  private keyExpiresAt = 0;
  private lastFailure: string | undefined;
  private cached: { token: string; expiresAt: number } | undefined;
  private minting: Promise<{ token: string; expiresAt: number }> | undefined;
  private publishing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    private readonly bucket: AuthBucket,
    readonly service: string,
    private readonly key: SigningKey | undefined,
    options: ServiceIdentityOptions,
  ) {
    this.subject = serviceSubject(service);
    const roles: ServiceRoles = options.roles ?? SERVICE_ROLES;
    this.role = roles[service];
    this.timings = { ...DEFAULT_SERVICE_IDENTITY_TIMINGS, ...definedOnly(options) };
    this.now = options.now ?? Date.now;
  }

  /**
   * The identity of a service replica: for a service with a role, its key is published before
   * this resolves (a failure is logged and tried again; tokens are refused until it succeeds), and
   * keys its crashed replicas left behind are tidied away.
   */
  static async start(bucket: AuthBucket, service: string, options: ServiceIdentityOptions = {}): Promise<ServiceIdentity> {
    const roles: ServiceRoles = options.roles ?? SERVICE_ROLES;
    const hasRole = roles[service] !== undefined;
    const identity = new ServiceIdentity(bucket, service, hasRole ? await generateSigningKey() : undefined, options);
    if (identity.key) {
      await identity.tidy();
      await identity.refresh();
    }
    return identity;
  }

  /** Whether this service signs tokens as itself at all (it is listed in SERVICE_ROLES). */
  get available(): boolean {
    return this.key !== undefined;
  }

  /** A bearer token for `service:<service>`, valid for at least a few minutes; cached. */
  async token(): Promise<string> {
    if (!this.key || !this.role) {
      throw new ServiceIdentityError(`${this.service} has no service identity: only the services listed in SERVICE_ROLES (@flotilla/auth) sign tokens as themselves`);
    }
    if (this.stopped) throw new ServiceIdentityError(`the service identity of ${this.service} was withdrawn: the service is stopping`);
    const now = this.now();
    if (this.cached && this.cached.expiresAt - now > this.timings.tokenRenewBeforeMs) return this.cached.token;
    this.minting ??= this.mint(this.key, this.role).finally(() => (this.minting = undefined));
    this.cached = await this.minting;
    return this.cached.token;
  }

  /** Withdraws this replica's key: the tokens it signed stop verifying everywhere. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.cached = undefined;
    if (!this.key) return;
    await this.publishing?.catch(() => undefined);
    try {
      await this.bucket.withdrawServiceKey(this.service, this.replica);
    } catch (error) {
      // Left behind, it expires on its own and the next replica to start tidies it away.
      this.logger.warn({ msg: 'service key could not be withdrawn', service: this.service, replica: this.replica, err: error });
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  private async mint(key: SigningKey, role: Role): Promise<{ token: string; expiresAt: number }> {
    const now = this.now();
    // Never past the key's own expiry; nor a token too short to be of use.
    const expiresAt = Math.min(now + this.timings.tokenLifetimeMs, this.keyExpiresAt);
    if (expiresAt - now < Math.min(60_000, this.timings.tokenLifetimeMs)) {
      throw new ServiceIdentityError(`the service key of ${this.service} is not published${this.lastFailure ? `: ${this.lastFailure}` : ''}`);
    }
    // Whole seconds, as the token carries them.
    const { token } = await signToken(key, { subject: this.subject, role, issuedAt: new Date(now), expiresAt: new Date(expiresAt) });
    return { token, expiresAt: Math.floor(expiresAt / 1000) * 1000 };
  }

  /** Publishes the key with an expiry one lifetime away, then plans the next refresh. */
  private async refresh(): Promise<void> {
    const key = this.key!;
    const expiresAt = this.now() + this.timings.keyLifetimeMs;
    const published: PublishedServiceKey = { ...(key.publicJwk as PublishedServiceKey), expiresAt: new Date(expiresAt).toISOString() };
    this.publishing = this.bucket.publishServiceKey(this.service, this.replica, published);
    let next = this.timings.keyRefreshMs;
    try {
      await this.publishing;
      this.keyExpiresAt = expiresAt;
      this.lastFailure = undefined;
    } catch (error) {
      this.lastFailure = (error as Error).message;
      next = Math.min(this.timings.keyRetryMs, this.timings.keyRefreshMs);
      this.logger.error({ msg: 'service key could not be published; trying again', service: this.service, replica: this.replica, retryInMs: next, err: error });
    } finally {
      this.publishing = undefined;
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh(), next);
    this.timer.unref();
  }

  /** Withdraws the keys of this service that have expired: replicas that stopped without doing so. */
  private async tidy(): Promise<void> {
    try {
      for (const { replica, key } of await this.bucket.serviceKeys(this.service)) {
        const expiresAt = Date.parse(key.expiresAt);
        if (!(expiresAt > this.now())) await this.bucket.withdrawServiceKey(this.service, replica);
      }
    } catch (error) {
      this.logger.warn({ msg: 'expired service keys could not be tidied', service: this.service, err: error });
    }
  }
}

function definedOnly(options: Partial<ServiceIdentityTimings>): Partial<ServiceIdentityTimings> {
  const timings: Partial<ServiceIdentityTimings> = {};
  for (const name of Object.keys(DEFAULT_SERVICE_IDENTITY_TIMINGS) as (keyof ServiceIdentityTimings)[]) {
    if (options[name] !== undefined) timings[name] = options[name];
  }
  return timings;
}
