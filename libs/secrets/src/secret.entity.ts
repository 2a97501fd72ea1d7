import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One secret at rest (see envelope.ts): only ciphertext, a wrapped data key and what describes it. */
@Entity({ name: 'secrets' })
export class SecretEntity {
  @PrimaryColumn('text')
  ref!: string;

  @Column('text')
  kind!: string;

  @Column('smallint')
  version!: number;

  @Column('text', { name: 'kek_id' })
  kekId!: string;

  @Column('bytea', { name: 'wrapped_key' })
  wrappedKey!: Buffer;

  @Column('bytea', { name: 'wrap_iv' })
  wrapIv!: Buffer;

  @Column('bytea', { name: 'wrap_tag' })
  wrapTag!: Buffer;

  @Column('bytea')
  iv!: Buffer;

  @Column('bytea')
  ciphertext!: Buffer;

  @Column('bytea')
  tag!: Buffer;

  /** Plain text, searchable: never put anything secret here. */
  @Column('jsonb', { default: () => `'{}'::jsonb` })
  metadata!: Record<string, string>;

  @Column('timestamptz', { name: 'created_at', default: () => 'now()' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'updated_at', default: () => 'now()' })
  updatedAt!: Date;
}
