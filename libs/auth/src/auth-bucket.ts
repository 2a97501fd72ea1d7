import { AUTH_BUCKET_KEYS, authBucketName, serviceKeyName, type BusNaming } from '@flotilla/contracts';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import { bucketPlacement, explainLayoutRefusal, type BusConnection, type StreamLayout } from '@flotilla/messaging';
import { Logger } from '@nestjs/common';
import type { JWK } from 'jose';

/** A public key as published: a JWK, and until when tokens it signed may still be presented. */
export type PublishedKey = JWK & { kid: string; retiresAt?: string };

export interface Jwks {
  keys: PublishedKey[];
}

/**
 * A service replica's public key as published under `service-keys.<service>.<replica>`: a JWK,
 * and until when it may verify anything (the replica moves this forward while it runs).
 */
export type PublishedServiceKey = JWK & { kid: string; expiresAt: string };

/** What a watcher learns, in the order the bucket stored it. */
export type AuthChange =
  | { kind: 'jwks'; jwks: Jwks }
  | { kind: 'revoked'; tokenId: string; expiresAt: number }
  | { kind: 'unrevoked'; tokenId: string }
  /** `service` comes from the entry's key, which only that service may write (NATS permissions). */
  | { kind: 'service-key'; service: string; replica: string; key: PublishedServiceKey }
  | { kind: 'service-key-withdrawn'; service: string; replica: string };

const MAX_CAS_ATTEMPTS = 20;
/** JetStream's "wrong last sequence": someone else wrote the key first. */
const WRONG_LAST_SEQUENCE = 10071;
const REWATCH_DELAY_MS = 1_000;
/**
 * How long `watch` waits for the bucket's current entries before it goes on with what it has (and
 * keeps watching): a start is never held for good by a signal that does not come.
 */
export const INITIAL_ENTRIES_WAIT_MS = 15_000;

function isRevisionConflict(error: unknown): boolean {
  const apiError = (error as { api_error?: { err_code?: number } } | null)?.api_error;
  return apiError?.err_code === WRONG_LAST_SEQUENCE || /wrong last sequence|key exists/i.test((error as Error | null)?.message ?? '');
}

/**
 * The authentication key-value bucket (`<prefix>_auth`): the issuer's public keys under `jwks`,
 * revoked token ids under `revoked.<jti>`, and each service replica's own public key under
 * `service-keys.<service>.<replica>`. Every service watches it, so no service reads the issuer's
 * database and a revocation reaches every replica as soon as NATS delivers it.
 */
export class AuthBucket {
  private readonly logger = new Logger('AuthBucket');

  private constructor(private readonly kv: KV) {}

  /** `layout`: the bucket's replicas and placement when this call creates it (BUS_REPLICAS, BUS_PLACEMENT_*). */
  static async open(nc: BusConnection['nc'], naming: BusNaming, layout: StreamLayout = { replicas: 1 }): Promise<AuthBucket> {
    const name = authBucketName(naming);
    // `create` opens the bucket when it exists: every service may be first to start.
    const kv = await new Kvm(nc).create(name, { history: 1, replicas: layout.replicas, ...bucketPlacement(layout) }).catch((error: unknown) => {
      throw explainLayoutRefusal(error, `key-value bucket ${name}`, layout);
    });
    return new AuthBucket(kv);
  }

  async jwks(): Promise<{ jwks: Jwks; revision: number }> {
    const entry = await this.kv.get(AUTH_BUCKET_KEYS.jwks);
    if (!entry || entry.operation !== 'PUT') return { jwks: { keys: [] }, revision: 0 };
    return { jwks: entry.json<Jwks>(), revision: entry.revision };
  }

  /**
   * Changes the published key set with a compare-and-set, so issuers (or test issuers) adding
   * keys at the same time never drop each other's.
   */
  async updateJwks(change: (current: Jwks) => Jwks): Promise<Jwks> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const { jwks, revision } = await this.jwks();
      const next = change(jwks);
      if (revision !== 0 && JSON.stringify(next) === JSON.stringify(jwks)) return jwks; // nothing to write: no watcher is woken
      try {
        if (revision === 0) await this.kv.create(AUTH_BUCKET_KEYS.jwks, JSON.stringify(next));
        else await this.kv.update(AUTH_BUCKET_KEYS.jwks, JSON.stringify(next), revision);
        return next;
      } catch (error) {
        // Someone else wrote first: read again. Anything else (no permission, no server) is real.
        if (!isRevisionConflict(error)) throw error;
      }
    }
    throw new Error(`could not update ${AUTH_BUCKET_KEYS.jwks} in the authentication bucket: too many concurrent writers`);
  }

  async revoke(tokenId: string, expiresAt: Date): Promise<void> {
    await this.kv.put(`${AUTH_BUCKET_KEYS.revokedPrefix}${tokenId}`, JSON.stringify({ expiresAt: expiresAt.toISOString() }));
  }

  /** Forgets a revocation once its token has expired anyway. */
  async forgetRevocation(tokenId: string): Promise<void> {
    await this.kv.purge(`${AUTH_BUCKET_KEYS.revokedPrefix}${tokenId}`);
  }

  /** Revoked token ids with their expiry, for pruning. */
  async revocations(): Promise<{ tokenId: string; expiresAt: number }[]> {
    const found: { tokenId: string; expiresAt: number }[] = [];
    for await (const key of await this.kv.keys(`${AUTH_BUCKET_KEYS.revokedPrefix}>`)) {
      const entry = await this.kv.get(key);
      if (entry?.operation === 'PUT') found.push({ tokenId: key.slice(AUTH_BUCKET_KEYS.revokedPrefix.length), expiresAt: Date.parse(entry.json<{ expiresAt: string }>().expiresAt) });
    }
    return found;
  }

  /** Publishes (or moves forward the expiry of) one replica's public key. */
  async publishServiceKey(service: string, replica: string, key: PublishedServiceKey): Promise<void> {
    await this.kv.put(serviceKeyName(service, replica), JSON.stringify(key));
  }

  /** Withdraws one replica's public key: tokens it signed stop verifying. */
  async withdrawServiceKey(service: string, replica: string): Promise<void> {
    await this.kv.purge(serviceKeyName(service, replica));
  }

  /** The keys a service's replicas have published, expired ones included (for tidying). */
  async serviceKeys(service: string): Promise<{ replica: string; key: PublishedServiceKey }[]> {
    const prefix = serviceKeyName(service, '');
    const found: { replica: string; key: PublishedServiceKey }[] = [];
    for await (const name of await this.kv.keys(`${prefix}>`)) {
      const entry = await this.kv.get(name);
      if (entry?.operation === 'PUT') found.push({ replica: name.slice(prefix.length), key: entry.json<PublishedServiceKey>() });
    }
    return found;
  }

  /**
   * Calls `onChange` for every current entry, then for every change. Resolves once the current
   * entries have been delivered (at most INITIAL_ENTRIES_WAIT_MS).
   */
  async watch(onChange: (change: AuthChange) => void): Promise<{ stop(): void }> {
    let initialised!: () => void;
    const ready = new Promise<void>((resolve) => (initialised = resolve));
    let stopped = false;
    let lastRevision = 0;
    let watcher = await this.kv.watch({ key: '>' });
    // An empty bucket sends nothing to say so; counted once the watch is open, since entries can
    // also go between a count and the watch (a revocation forgotten).
    if ((await this.kv.status()).values === 0) initialised();
    const follow = async (): Promise<void> => {
      // A watch can end under us (the client gives up re-creating its consumer after a long
      // outage); it is opened again where it stopped, for as long as the service runs.
      while (!stopped) {
        try {
          for await (const entry of watcher) {
            lastRevision = entry.revision;
            try {
              const change = toChange(entry);
              if (change) onChange(change);
            } catch (error) {
              this.logger.error({ msg: 'unreadable entry in the authentication bucket: ignored', key: entry.key, revision: entry.revision, err: error });
            }
            // The last of the entries there when the watch began, or nothing pending after this one.
            if (entry.isUpdate || entry.delta === 0) initialised();
          }
        } catch (error) {
          this.logger.warn({ msg: 'authentication bucket watch failed', err: error });
        }
        if (stopped) return;
        this.logger.warn({ msg: 'authentication bucket watch ended; watching again', resumeFromRevision: lastRevision + 1 });
        await new Promise((resolve) => setTimeout(resolve, REWATCH_DELAY_MS));
        try {
          watcher = await this.kv.watch({ key: '>', ...(lastRevision > 0 ? { resumeFromRevision: lastRevision + 1 } : {}) });
        } catch (error) {
          this.logger.warn({ msg: 'authentication bucket watch could not be opened again', err: error });
        }
      }
    };
    void follow();
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([ready.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), INITIAL_ENTRIES_WAIT_MS)))]);
    clearTimeout(timer);
    if (!waited) this.logger.warn({ msg: 'the authentication bucket did not say its current entries were all delivered; going on with those received, and watching', waitedMs: INITIAL_ENTRIES_WAIT_MS });
    return {
      stop: () => {
        stopped = true;
        watcher.stop();
      },
    };
  }
}

function toChange(entry: KvWatchEntry): AuthChange | undefined {
  if (entry.key === AUTH_BUCKET_KEYS.jwks) return entry.operation === 'PUT' ? { kind: 'jwks', jwks: entry.json<Jwks>() } : { kind: 'jwks', jwks: { keys: [] } };
  if (entry.key.startsWith(AUTH_BUCKET_KEYS.serviceKeysPrefix)) {
    const [service, ...rest] = entry.key.slice(AUTH_BUCKET_KEYS.serviceKeysPrefix.length).split('.');
    const replica = rest.join('.');
    if (!service || !replica) return undefined;
    if (entry.operation !== 'PUT') return { kind: 'service-key-withdrawn', service, replica };
    return { kind: 'service-key', service, replica, key: entry.json<PublishedServiceKey>() };
  }
  if (!entry.key.startsWith(AUTH_BUCKET_KEYS.revokedPrefix)) return undefined;
  const tokenId = entry.key.slice(AUTH_BUCKET_KEYS.revokedPrefix.length);
  if (entry.operation !== 'PUT') return { kind: 'unrevoked', tokenId };
  return { kind: 'revoked', tokenId, expiresAt: Date.parse(entry.json<{ expiresAt: string }>().expiresAt) };
}
