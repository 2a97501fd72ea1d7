import { Inject, Injectable } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/messaging';
import { CredentialEntity } from '../entities/credential.entity.js';
import type { CredentialStore, StoredCredential } from './credential-store.js';

/**
 * Credentials in the importer's own `credentials` table. Nothing writes it yet (registering
 * credentials is a later feature), so today every reference is unknown.
 */
@Injectable()
export class TableCredentialStore implements CredentialStore {
  constructor(@Inject(UnitOfWork) private readonly unitOfWork: UnitOfWork) {}

  async find(ref: string): Promise<StoredCredential | undefined> {
    const entity = await this.unitOfWork.manager.getRepository(CredentialEntity).findOneBy({ ref });
    return entity ? { ref: entity.ref, kind: entity.kind, expiresAt: entity.expiresAt?.toISOString() ?? null } : undefined;
  }
}
