import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { EndReason, SessionState } from '../domain/tunnel-session.js';

@Entity({ name: 'tunnel_sessions' })
export class TunnelSessionEntity {
  @PrimaryColumn('uuid')
  id!: string;

  @Column('text', { name: 'cluster_id' })
  clusterId!: string;

  @Column('text', { name: 'agent_id' })
  agentId!: string;

  @Column('text', { name: 'agent_version' })
  agentVersion!: string;

  @Column('text', { name: 'remote_address', nullable: true })
  remoteAddress!: string | null;

  @Column('text', { name: 'replica_id', nullable: true })
  replicaId!: string | null;

  @Column('text')
  state!: SessionState;

  @Column('timestamptz', { name: 'opened_at' })
  openedAt!: Date;

  @Column('timestamptz', { name: 'last_heartbeat_at' })
  lastHeartbeatAt!: Date;

  @Column('timestamptz', { name: 'expires_at' })
  expiresAt!: Date;

  @Column('timestamptz', { name: 'ended_at', nullable: true })
  endedAt!: Date | null;

  @Column('text', { name: 'end_reason', nullable: true })
  endReason!: EndReason | null;
}
