import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import { Secret, SecretStore } from '@flotilla/secrets';
import { CredentialEntity } from '../entities/credential.entity.js';
import { bindingOf, type CredentialBinding } from './binding.js';
import type { CredentialDescription, CredentialMaterial, CredentialStore, StoredCredential } from './credential-store.js';
import type { CredentialPayload, PreparedCredential } from './registration.js';

/** The reference of a credential's secret in the `secrets` table. */
export const secretRefOf = (ref: string) => `credential/${ref}`;

/**
 * Credentials in the importer's `credentials` table, each with its secret sealed by the
 * `SecretStore` (envelope encryption, keys from SECRETS_KEYS). Both rows are written and removed
 * in one transaction.
 */
@Injectable()
export class SecretCredentialStore implements CredentialStore {
  constructor(
    @Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork,
    @Inject(SecretStore) private readonly secrets: SecretStore,
  ) {}

  private get credentials() {
    return this.unitOfWork.manager.getRepository(CredentialEntity);
  }

  async find(ref: string): Promise<StoredCredential | undefined> {
    const entity = await this.credentials.findOneBy({ ref });
    return entity ? { ref: entity.ref, kind: entity.kind, expiresAt: entity.expiresAt?.toISOString() ?? null, binding: entity.metadata.binding ?? null } : undefined;
  }

  async describe(ref: string): Promise<CredentialDescription | undefined> {
    const entity = await this.credentials.findOneBy({ ref });
    return entity ? describe(entity) : undefined;
  }

  async list(): Promise<CredentialDescription[]> {
    return (await this.credentials.find({ order: { ref: 'ASC' } })).map(describe);
  }

  /** Stores a new credential; false when the ref is taken (nothing is changed then). */
  async register(credential: PreparedCredential): Promise<boolean> {
    return this.unitOfWork.run(async () => {
      const inserted: unknown[] = await this.unitOfWork.manager.query(
        `INSERT INTO credentials (ref, kind, source, metadata, expires_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ref) DO NOTHING RETURNING ref`,
        [credential.ref, credential.kind, credential.source, JSON.stringify(credential.metadata), credential.expiresAt],
      );
      if (inserted.length === 0) return false;
      await this.secrets.put(secretRefOf(credential.ref), credential.kind, credential.secret);
      return true;
    });
  }

  async delete(ref: string): Promise<boolean> {
    return this.unitOfWork.run(async () => {
      const result = await this.credentials.delete({ ref });
      await this.secrets.delete(secretRefOf(ref));
      return (result.affected ?? 0) > 0;
    });
  }

  async open(ref: string): Promise<CredentialMaterial | undefined> {
    const secret = await this.secrets.reveal(secretRefOf(ref));
    if (!secret) return undefined;
    const payload = JSON.parse(secret.revealString()) as CredentialPayload;
    switch (payload.kind) {
      case 'bearer-token':
        return { kind: 'bearer-token', token: new Secret(payload.token), caCertificatePem: payload.caCertificatePem, binding: sealedBinding(payload) };
      case 'client-certificate':
        return { kind: 'client-certificate', certificatePem: payload.certificatePem, privateKey: new Secret(payload.privateKeyPem), caCertificatePem: payload.caCertificatePem, binding: sealedBinding(payload) };
      case 'cloud-account':
        return { kind: 'cloud-account', provider: payload.provider, account: new Secret(JSON.stringify(payload.account)) };
    }
  }
}

/** The cloud accounts among the credentials, for the cloud code's account listing (`CLOUD_ACCOUNT_SECRETS`). */
export class CloudAccountSecretsFromCredentials {
  constructor(private readonly credentials: CredentialStore) {}

  async reveal(ref: string): Promise<Secret | undefined> {
    const material = await this.credentials.open(ref);
    return material?.kind === 'cloud-account' ? material.account : undefined;
  }
}

/** The binding sealed with the secret (the server and the CA it is opened with); none in documents sealed before bindings. */
function sealedBinding(payload: { server?: string; caCertificatePem: string | null }): CredentialBinding | null {
  return payload.server === undefined ? null : (bindingOf(payload.server, payload.caCertificatePem) ?? null);
}

function describe(entity: CredentialEntity): CredentialDescription {
  const { binding, ...metadata } = entity.metadata;
  return {
    ref: entity.ref,
    kind: entity.kind,
    source: entity.source,
    expiresAt: entity.expiresAt?.toISOString() ?? null,
    binding: binding ?? null,
    metadata,
    createdAt: entity.createdAt.toISOString(),
  };
}
