import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'cluster_tunnels' })
export class ClusterTunnelEntity {
  @PrimaryColumn('text', { name: 'cluster_id' })
  clusterId!: string;

  @Column('text')
  state!: 'connected' | 'disconnected';

  @Column('text', { name: 'agent_id' })
  agentId!: string;

  @Column('text', { name: 'agent_version', nullable: true })
  agentVersion!: string | null;

  @Column('text', { nullable: true })
  reason!: string | null;

  @Column('timestamptz')
  since!: Date;
}
