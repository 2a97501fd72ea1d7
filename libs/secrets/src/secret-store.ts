import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import { open, rewrap, seal, type SealedSecret } from './envelope.js';
import { SecretsError } from './errors.js';
import { KeyRing } from './keyring.js';
import { Secret } from './secret.js';
import { SecretEntity } from './secret.entity.js';

/** Injection token of the service's KeyRing. */
export const SECRETS_KEYRING = Symbol('SecretsKeyRing');

/** What can be known of a stored secret without opening it. */
export interface SecretDescription {
  ref: string;
  kind: string;
  /** The key-encryption key its data key is wrapped by today. */
  kekId: string;
  metadata: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

const MAX_REF_LENGTH = 512;
const MAX_KIND_LENGTH = 64;

/**
 * Secrets in the service's own `secrets` table, sealed with envelope encryption. Every call joins
 * the caller's transaction (UnitOfWork), so a secret is stored together with the state that
 * refers to it, or not at all.
 */
@Injectable()
export class SecretStore {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(SECRETS_KEYRING) private readonly keys: KeyRing,
  ) {}

  private get secrets() {
    return this.unitOfWork.manager.getRepository(SecretEntity);
  }

  /** Stores (or replaces) the secret `ref`, sealed under the primary key. Metadata is stored in plain text. */
  async put(ref: string, kind: string, value: Secret | Buffer | string, metadata: Record<string, string> = {}): Promise<void> {
    checkRef(ref);
    if (kind === '' || kind.length > MAX_KIND_LENGTH) throw new SecretsError('invalid-input', `secret kind must be 1-${MAX_KIND_LENGTH} characters`);
    for (const [key, entry] of Object.entries(metadata)) {
      if (typeof entry !== 'string') throw new SecretsError('invalid-input', `secret metadata "${key}" must be a string`);
    }
    const plaintext = value instanceof Secret ? value.reveal() : Buffer.from(value);
    try {
      const sealed = seal(this.keys, plaintext, ref);
      await this.unitOfWork.manager.query(
        `INSERT INTO secrets (ref, kind, version, kek_id, wrapped_key, wrap_iv, wrap_tag, iv, ciphertext, tag, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (ref) DO UPDATE SET
           kind = excluded.kind, version = excluded.version, kek_id = excluded.kek_id,
           wrapped_key = excluded.wrapped_key, wrap_iv = excluded.wrap_iv, wrap_tag = excluded.wrap_tag,
           iv = excluded.iv, ciphertext = excluded.ciphertext, tag = excluded.tag,
           metadata = excluded.metadata, updated_at = now()`,
        [ref, kind, sealed.version, sealed.kekId, sealed.wrappedKey, sealed.wrapIv, sealed.wrapTag, sealed.iv, sealed.ciphertext, sealed.tag, JSON.stringify(metadata)],
      );
    } finally {
      plaintext.fill(0);
    }
  }

  /** Opens the secret `ref`; undefined if there is none. Throws a SecretsError if it does not authenticate. */
  async reveal(ref: string): Promise<Secret | undefined> {
    const entity = await this.secrets.findOneBy({ ref });
    if (!entity) return undefined;
    let plaintext: Buffer;
    try {
      plaintext = open(this.keys, sealedOf(entity), ref);
    } catch (error) {
      if (error instanceof SecretsError) throw new SecretsError(error.code, `secret "${ref}": ${error.message}`);
      throw error;
    }
    try {
      return new Secret(plaintext);
    } finally {
      plaintext.fill(0);
    }
  }

  async describe(ref: string): Promise<SecretDescription | undefined> {
    const entity = await this.secrets.findOneBy({ ref });
    return entity ? describe(entity) : undefined;
  }

  /** Every secret (of one kind), by reference. */
  async list(kind?: string): Promise<SecretDescription[]> {
    const entities = await this.secrets.find({ where: kind === undefined ? {} : { kind }, order: { ref: 'ASC' } });
    return entities.map(describe);
  }

  /** Removes the secret `ref`; false if there was none. */
  async delete(ref: string): Promise<boolean> {
    const result = await this.secrets.delete({ ref });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Re-wraps up to `limit` secrets whose data key is wrapped by a non-primary key of the ring,
   * under the primary; returns how many. Rows are locked with SKIP LOCKED, so replicas share the
   * work and readers are never blocked. Rows under keys missing from the ring are left alone
   * (they cannot be opened; countByKek shows them).
   */
  async rewrapBatch(limit: number): Promise<number> {
    const oldIds = this.keys.ids.filter((id) => id !== this.keys.primaryId);
    if (oldIds.length === 0 || limit <= 0) return 0;
    return this.unitOfWork.run(async () => {
      const manager = this.unitOfWork.manager;
      const rows: RewrapRow[] = await manager.query(
        `SELECT ref, version, kek_id, wrapped_key, wrap_iv, wrap_tag, iv, ciphertext, tag
           FROM secrets WHERE kek_id = ANY($1::text[])
          ORDER BY ref LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [oldIds, limit],
      );
      for (const row of rows) {
        const current: SealedSecret = {
          version: row.version,
          kekId: row.kek_id,
          wrappedKey: row.wrapped_key,
          wrapIv: row.wrap_iv,
          wrapTag: row.wrap_tag,
          iv: row.iv,
          ciphertext: row.ciphertext,
          tag: row.tag,
        };
        let next: SealedSecret;
        try {
          next = rewrap(this.keys, current);
        } catch (error) {
          if (error instanceof SecretsError) throw new SecretsError(error.code, `secret "${row.ref}": ${error.message}`);
          throw error;
        }
        // Only the wrapped data key changes: the ciphertext stays as it is.
        await manager.query(`UPDATE secrets SET kek_id = $2, wrapped_key = $3, wrap_iv = $4, wrap_tag = $5 WHERE ref = $1`, [row.ref, next.kekId, next.wrappedKey, next.wrapIv, next.wrapTag]);
      }
      return rows.length;
    });
  }

  /** How many secrets each key id wraps: rotation is done when only the primary is left. */
  async countByKek(): Promise<Record<string, number>> {
    const rows: { kek_id: string; count: string }[] = await this.unitOfWork.manager.query(`SELECT kek_id, count(*) AS count FROM secrets GROUP BY kek_id ORDER BY kek_id`);
    return Object.fromEntries(rows.map((row) => [row.kek_id, Number(row.count)]));
  }
}

interface RewrapRow {
  ref: string;
  version: number;
  kek_id: string;
  wrapped_key: Buffer;
  wrap_iv: Buffer;
  wrap_tag: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function checkRef(ref: string): void {
  if (ref === '' || ref.length > MAX_REF_LENGTH) throw new SecretsError('invalid-input', `secret reference must be 1-${MAX_REF_LENGTH} characters`);
}

function sealedOf(entity: SecretEntity): SealedSecret {
  return {
    version: entity.version,
    kekId: entity.kekId,
    wrappedKey: entity.wrappedKey,
    wrapIv: entity.wrapIv,
    wrapTag: entity.wrapTag,
    iv: entity.iv,
    ciphertext: entity.ciphertext,
    tag: entity.tag,
  };
}

function describe(entity: SecretEntity): SecretDescription {
  return {
    ref: entity.ref,
    kind: entity.kind,
    kekId: entity.kekId,
    metadata: entity.metadata,
    createdAt: entity.createdAt.toISOString(),
    updatedAt: entity.updatedAt.toISOString(),
  };
}
