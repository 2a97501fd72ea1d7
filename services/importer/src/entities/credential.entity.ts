import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { CredentialKind, CredentialMetadata, CredentialSource } from '../credentials/credential-store.js';

/**
 * A credential the importer holds: only what can be known without opening it. The secret itself
 * is sealed in the `secrets` table (`@flotilla/secrets`) under `credential/<ref>`.
 */
@Entity({ name: 'credentials' })
export class CredentialEntity {
  @PrimaryColumn('text')
  ref!: string;

  @Column('text')
  kind!: CredentialKind;

  @Column('text')
  source!: CredentialSource;

  @Column('jsonb')
  metadata!: CredentialMetadata;

  @Column('timestamptz', { name: 'expires_at', nullable: true })
  expiresAt!: Date | null;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;
}
