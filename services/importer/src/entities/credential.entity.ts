import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { CredentialKind } from '../credentials/credential-store.js';

/**
 * A credential the importer holds. Only what can be known without opening it: the encrypted
 * secret gets its columns with credential registration, which is also the only writer.
 */
@Entity({ name: 'credentials' })
export class CredentialEntity {
  @PrimaryColumn('text')
  ref!: string;

  @Column('text')
  kind!: CredentialKind;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  expiresAt!: Date | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;
}
