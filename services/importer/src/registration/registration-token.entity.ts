import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One registration; the token itself is never stored, only its SHA-256. */
@Entity({ name: 'registration_tokens' })
export class RegistrationTokenEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text', { name: 'cluster_id' })
  clusterId!: string;

  @Column('text', { name: 'cluster_name' })
  clusterName!: string;

  @Column('text', { name: 'tunnel_url' })
  tunnelUrl!: string;

  @Column('text', { name: 'token_hash', unique: true })
  tokenHash!: string;

  @Column('jsonb')
  labels!: Record<string, string>;

  @Column('timestamptz', { name: 'created_at' })
  createdAt!: Date;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;

  @Column('timestamptz', { name: 'revoked_at', nullable: true })
  revokedAt!: Date | null;

  @Column('timestamptz', { name: 'used_at', nullable: true })
  usedAt!: Date | null;

  @Column('text', { name: 'agent_id', nullable: true })
  agentId!: string | null;

  @Column('text', { name: 'certificate_serial', nullable: true })
  certificateSerial!: string | null;

  @Column('timestamptz', { name: 'certificate_expires_at', nullable: true })
  certificateExpiresAt!: Date | null;
}
